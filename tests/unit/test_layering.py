"""The house boundaries: strategies/ is pure; adapters/ reach into bot/ only through bot.domain."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", _modules("strategies"), ids=lambda p: str(p.relative_to(ROOT)))
def test_strategies_import_neither_bot_nor_adapters_nor_io(path: Path) -> None:
    forbidden = (
        "bot",
        "adapters",
        "httpx",
        "aiohttp",
        "sqlmodel",
        "sqlalchemy",
        "time",
        "datetime",
        "random",
    )
    bad = {name for name in _imports(path) if name.split(".")[0] in forbidden}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", _modules("adapters"), ids=lambda p: str(p.relative_to(ROOT)))
def test_adapters_use_only_bot_domain(path: Path) -> None:
    bad = {name for name in _imports(path) if name.split(".")[0] == "bot" and name != "bot.domain"}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_layering_scan_sees_the_packages() -> None:
    # Guard against the scan silently checking nothing (e.g. after a move).
    assert (ROOT / "strategies" / "__init__.py") in _modules("strategies")
    assert (ROOT / "adapters" / "__init__.py") in _modules("adapters")
