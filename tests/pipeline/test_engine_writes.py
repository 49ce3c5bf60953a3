"""The engines' state is changed only through the engine's methods (issue #13): nothing in bot/ assigns
into `….engine.<state>`, deletes from it, or mutates its dicts in place."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_MUTATORS = frozenset({"pop", "popitem", "update", "clear", "setdefault", "add", "discard", "remove"})


def _engine_state(node: ast.AST) -> bool:
    """`x.engine.<attr>` or `engine.<attr>` (or a subscript of it): state held by an engine."""
    while isinstance(node, ast.Subscript):
        node = node.value
    if not isinstance(node, ast.Attribute):
        return False
    holder = node.value  # `desk.engine`, or a local `engine = desk.engine`
    return (isinstance(holder, ast.Attribute) and holder.attr == "engine") or (
        isinstance(holder, ast.Name) and holder.id == "engine"
    )


def writes(source: str) -> list[int]:
    lines: list[int] = []
    for node in ast.walk(ast.parse(source)):
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign | ast.Delete):
            targets = list(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _MUTATORS
        ):
            targets = [node.func.value]
        lines += [getattr(node, "lineno", 0) for t in targets if _engine_state(t)]
    return lines


def test_the_scan_finds_a_write_from_outside() -> None:
    assert writes("desk.engine.equity = 1\ndesk.engine.pairs['ETH'] = p\ndel d.engine.pairs[c]") == [1, 2, 3]
    read_then_set = "desk.engine.follows.pop(s)\nx = desk.engine.pairs.get(c)\ndesk.engine.set_equity(1)"
    assert writes(read_then_set) == [1]
    assert writes("engine = desk.engine\nengine.pairs[c] = p") == [2]


def test_nothing_in_bot_writes_engine_state_directly() -> None:
    found = {
        str(path.relative_to(ROOT)): hits
        for path in sorted((ROOT / "bot").rglob("*.py"))
        if (hits := writes(path.read_text(encoding="utf-8")))
    }
    assert found == {}
