"""bot/risk holds only the guards' rules and their book (issue #13): what acts on the pipeline's desks
lives in bot/pipeline (guard_gate, owner_controls), and the service never imports the pipeline back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bot_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return {n for n in names if n.split(".")[0] == "bot"}


@pytest.mark.parametrize("path", sorted((ROOT / "bot" / "risk").glob("*.py")), ids=lambda p: p.name)
def test_risk_imports_only_itself(path: Path) -> None:
    assert {n for n in _bot_imports(path) if not n.startswith("bot.risk")} == set()


def test_the_owner_service_does_not_import_the_pipeline_back() -> None:
    imported = _bot_imports(ROOT / "bot" / "service" / "owner.py")
    assert not {n for n in imported if n.startswith(("bot.pipeline", "bot.risk.controls"))}
