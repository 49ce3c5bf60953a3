"""The pipeline's reads are Ledger methods (issue #13: no SQL outside bot/ledger), on SQLite and
PostgreSQL: each pair's latest decision with the source size it mirrored, open intents, filled orders
without fills, resting orders, and the owner's controls in force."""

from __future__ import annotations

from decimal import Decimal

from bot.ledger import IntentStatus, Ledger
from bot.ledger.db import session_factory
from bot.ledger.models import ControlState
from tests.ledger.chain import FOLLOWER, SOURCE, VENUE, record_chain


async def test_the_latest_decision_carries_the_source_size_it_mirrored(ledger: Ledger) -> None:
    chain = await record_chain(ledger)
    (latest,) = await ledger.latest_decisions({FOLLOWER, "0x" + "01" * 20})
    assert latest.row.id == chain.instruction.id and latest.source_size == Decimal(15)
    assert await ledger.latest_decisions(set()) == []


async def test_an_order_without_a_recorded_outcome_is_open_until_answered(ledger: Ledger) -> None:
    chain = await record_chain(ledger)
    assert await ledger.open_intents() == []  # answered: filled
    await ledger.mark_intent(chain.intent.cloid, IntentStatus.UNKNOWN)
    assert [i.cloid for i in await ledger.open_intents()] == [chain.intent.cloid]


async def test_a_filled_order_whose_fills_are_missing_is_found_by_oid(ledger: Ledger) -> None:
    chain = await record_chain(ledger)
    assert await ledger.unrecorded_fill_orders(VENUE) == []  # its fills are recorded
    assert await ledger.unrecorded_fill_orders("gmx") == []
    assert await ledger.resting_orders(FOLLOWER, "increase") == []  # filled, not resting
    assert chain.order.oid is not None


async def test_control_states_default_to_running_and_the_latest_row_wins(ledger: Ledger) -> None:
    other = "0x" + "0c" * 20
    assert await ledger.control_states([FOLLOWER, other]) == {FOLLOWER: "running", other: "running"}
    async with session_factory(ledger.engine)() as session, session.begin():
        session.add(ControlState(follower=FOLLOWER, state="paused", actor="cli:alice"))
        session.add(ControlState(follower=FOLLOWER, state="stopped", actor="cli:alice"))
    assert await ledger.control_states([FOLLOWER, other]) == {FOLLOWER: "stopped", other: "running"}
    assert set(await ledger.latest_controls()) == {FOLLOWER}
    assert SOURCE not in await ledger.control_states()


async def test_last_source_sizes_are_each_coins_latest_leader_event(ledger: Ledger) -> None:
    """Where a watcher taking a source over resumes (bot/cluster/watcher.py)."""
    from bot.domain import SourceChange

    steps = [("ETH", "0", "10", 1), ("BTC", "0", "1.5", 2), ("ETH", "10", "15", 3), ("ETH", "15", "-2.50", 4)]
    for coin, old, new, n in steps:
        change = SourceChange(
            SOURCE, coin, Decimal(old), Decimal(new), 1_700_000_000_000 + n, f"fill:{coin}:{n}"
        )
        await ledger.record_leader_event(change, venue=VENUE)
    sizes = await ledger.last_source_sizes(VENUE, SOURCE)
    assert sizes == {"ETH": Decimal("-2.50"), "BTC": Decimal("1.5")}
    assert await ledger.last_source_sizes("gmx", SOURCE) == {}
