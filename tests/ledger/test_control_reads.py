"""The control room's ledger reads added for issue #19, on SQLite and PostgreSQL: decisions found by a
prefix of their id (only the given followers', only hex), a group's pending changes."""

from __future__ import annotations

from decimal import Decimal

from bot.ledger import Ledger
from bot.ledger.repository import instruction_values

FOLLOWER, OTHER = "0x" + "a1" * 20, "0x" + "b2" * 20


async def _decide(ledger: Ledger, follower: str, event: str) -> str:
    recorded = await ledger.record_instruction(
        instruction_values(
            follower=follower,
            source="0x" + "5e" * 20,
            coin="ETH",
            source_event_id=event,
            strategy="mirror",
            target_before=Decimal(0),
            target_after=Decimal(1),
            delta=Decimal(1),
        )
    )
    return recorded.row.id


async def test_decisions_by_prefix_are_the_followers_own_and_hex_only(ledger: Ledger) -> None:
    mine = await _decide(ledger, FOLLOWER, "ev-1")
    theirs = await _decide(ledger, OTHER, "ev-1")
    assert [d.id for d in await ledger.decisions_by_prefix([FOLLOWER], mine[:8], 5)] == [mine]
    assert await ledger.decisions_by_prefix([FOLLOWER], theirs[:8], 5) == []  # another follower's
    assert [d.id for d in await ledger.decisions_by_prefix([FOLLOWER, OTHER], "", 5)] == []
    for wildcard in ("%", "_" * 8, mine[:6] + "%", mine[:6] + "__"):  # never a LIKE pattern
        assert await ledger.decisions_by_prefix([FOLLOWER], wildcard, 5) == []


async def test_pending_changes_lists_a_groups_waiting_changes_oldest_first(ledger: Ledger) -> None:
    first = await ledger.add_pending_change(-100, "control.pause", {"follower": FOLLOWER}, "pause", "t:1", 1)
    second = await ledger.add_pending_change(-100, "control.stop", {"follower": FOLLOWER}, "stop", "t:1", 1)
    await ledger.add_pending_change(-200, "control.stop", {"follower": OTHER}, "stop", "t:2", 2)
    assert await ledger.move_change(first, "pending", "rejected")
    assert [c.id for c in await ledger.pending_changes(-100)] == [second]
