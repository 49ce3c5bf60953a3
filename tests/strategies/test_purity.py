"""strategies/ never touches a float: no `float(` call, no float literal, no float annotation."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "strategies"
MODULES = sorted(PACKAGE.rglob("*.py"))


def _floats(path: Path) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, float):
            found.append(f"line {node.lineno}: float literal {node.value!r}")
        elif isinstance(node, ast.Name) and node.id == "float":
            found.append(f"line {node.lineno}: float")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "from_float"
        ):
            found.append(f"line {node.lineno}: Decimal.from_float")
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_float_in_strategies(path: Path) -> None:
    assert _floats(path) == []


def test_the_scan_catches_a_float(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text("x = float('1')\ny = 0.5\n", encoding="utf-8")
    assert len(_floats(sample)) == 2
    assert len(MODULES) >= 10
