"""`Ledger.record_order_statuses`, a fan-out's answers in one transaction, on SQLite and PostgreSQL: the
same rows as `record_order_status` one at a time (the one-at-a-time call finds them and appends
nothing), the same rules (a repeated status not appended, a venue id never changed), all or nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, select

from bot.ledger import IntentStatus, Ledger, LedgerError, VenueOrder, VenueOrderStatus
from bot.ledger.db import session_factory
from bot.ledger.repository import OrderAnswer
from tests.ledger.conftest import _pg_database, _sqlite_template, db_url, ledger
from tests.pipeline.test_hotpath_ledger import FOLLOWERS, VENUE, decision

__all__ = ["_pg_database", "_sqlite_template", "db_url", "ledger"]


async def intents(ledger: Ledger) -> list[str]:
    """Three followers' fresh intents (a fan-out's), marked submitted; their cloids."""
    _, recorded = await ledger.record_decisions([decision(f, "0.1") for f in FOLLOWERS], venue=VENUE)
    cloids = [r.cloid for r in recorded]
    await ledger.mark_intents(cloids, IntentStatus.SUBMITTED)
    return cloids


async def history(ledger: Ledger, cloid: str) -> tuple[VenueOrder, list[tuple[str, Any]]]:
    intent = await ledger.get_intent(cloid)
    assert intent is not None
    async with session_factory(ledger.engine)() as session:
        order = (await session.exec(select(VenueOrder).where(VenueOrder.intent_id == intent.id))).one()
        rows = await session.exec(
            select(VenueOrderStatus)
            .where(VenueOrderStatus.venue_order_id == order.id)
            .order_by(col(VenueOrderStatus.id))
        )
        return order, [(r.status, r.details) for r in rows]


async def test_one_transaction_writes_what_one_call_per_order_writes(ledger: Ledger) -> None:
    cloids = await intents(ledger)
    filled = {"filled_sz": "0.1", "avg_px": "3001"}
    answers = [
        OrderAnswer(cloids[0], "filled", 101, filled),
        OrderAnswer(cloids[1], "resting", 102, {"filled_sz": "0"}),
        OrderAnswer(cloids[2], "rejected", None, {"filled_sz": "0", "error": "Insufficient margin"}),
    ]
    await ledger.record_order_statuses(answers)

    for answer in answers:
        order, statuses = await history(ledger, answer.cloid)
        assert (order.oid, order.status) == (answer.oid, answer.status)
        assert statuses == [(answer.status, answer.details)]
        intent = await ledger.get_intent(answer.cloid)
        assert intent is not None
        expected = IntentStatus.REJECTED if answer.status == "rejected" else IntentStatus.ACCEPTED
        assert intent.status == expected.value
        # The one-at-a-time call finds the same order and, the report being the same, appends nothing.
        again = await ledger.record_order_status(
            answer.cloid, status=answer.status, oid=answer.oid, details=answer.details
        )
        assert again.id == order.id
        assert (await history(ledger, answer.cloid))[1] == statuses
    (chain,) = await ledger.lineage(cloids[0])
    assert chain.order is not None and chain.order.oid == 101


async def test_a_repeat_is_not_appended_and_a_new_status_is_with_the_venue_id_kept(ledger: Ledger) -> None:
    cloids = await intents(ledger)
    await ledger.record_order_status(cloids[0], status="resting", oid=7, details={"filled_sz": "0"})
    await ledger.record_order_status(cloids[1], status="resting", oid=None, details=None)
    await ledger.record_order_statuses(
        [
            OrderAnswer(cloids[0], "resting", 7, {"filled_sz": "0"}),  # the same report again
            OrderAnswer(cloids[1], "filled", 8, {"filled_sz": "0.1"}),  # now with its venue id
        ]
    )
    order, statuses = await history(ledger, cloids[0])
    assert (order.oid, order.status, statuses) == (7, "resting", [("resting", {"filled_sz": "0"})])
    order, statuses = await history(ledger, cloids[1])
    assert (order.oid, order.status) == (8, "filled")
    assert statuses == [("resting", None), ("filled", {"filled_sz": "0.1"})]


@pytest.mark.parametrize("bad", ["unknown cloid", "venue id changed", "empty status"])
async def test_one_bad_answer_fails_the_whole_batch_and_writes_nothing(ledger: Ledger, bad: str) -> None:
    cloids = await intents(ledger)
    await ledger.record_order_status(cloids[2], status="resting", oid=9)
    answers = [OrderAnswer(cloids[0], "filled", 1), OrderAnswer(cloids[1], "filled", 2)]
    if bad == "unknown cloid":
        answers.append(OrderAnswer("0x" + "ab" * 16, "filled", 3))
    elif bad == "venue id changed":
        answers.append(OrderAnswer(cloids[2], "filled", 10))
    else:
        answers.append(OrderAnswer(cloids[2], "", 9))
    with pytest.raises(LedgerError):
        await ledger.record_order_statuses(answers)
    for cloid in cloids[:2]:
        intent = await ledger.get_intent(cloid)
        assert intent is not None and intent.status == IntentStatus.SUBMITTED.value
        async with session_factory(ledger.engine)() as session:
            found = await session.exec(select(VenueOrder).where(VenueOrder.intent_id == intent.id))
            assert found.first() is None
    assert (await history(ledger, cloids[2]))[1] == [("resting", None)]
