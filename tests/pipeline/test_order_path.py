"""Every order the pipeline sends, cancels or looks up goes through one order manager (issue #13): no
module of bot/pipeline but oms.py asks a venue to place, cancel or look up an order, or to list open
orders (the stop-loss / take-profit triggers and the kill switch included)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ORDER_METHODS = frozenset({"place", "cancel", "order_status", "open_orders"})
OWNER = "bot/pipeline/oms.py"


def venue_order_calls(source: str) -> list[int]:
    """Lines calling `venue.<order method>(…)` or `….venue.<order method>(…)`."""
    lines: list[int] = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in ORDER_METHODS:
            continue
        holder = node.func.value
        if (isinstance(holder, ast.Name) and holder.id == "venue") or (
            isinstance(holder, ast.Attribute) and holder.attr == "venue"
        ):
            lines.append(node.lineno)
    return lines


def test_the_scan_finds_an_order_sent_past_the_order_manager() -> None:
    source = "await self.copier.venue.place(a, [r])\nawait venue.cancel(a, c, o)\ntask.cancel()\n"
    assert venue_order_calls(source) == [1, 2]
    assert venue_order_calls("await self.oms.place_trigger(a, r)\nawait self.venue.account(x)\n") == []


def test_only_the_order_manager_speaks_orders_to_a_venue() -> None:
    found = {
        str(path.relative_to(ROOT)): hits
        for path in sorted((ROOT / "bot" / "pipeline").rglob("*.py"))
        if str(path.relative_to(ROOT)) != OWNER
        and (hits := venue_order_calls(path.read_text(encoding="utf-8")))
    }
    assert found == {}
