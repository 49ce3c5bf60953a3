"""`Ledger.record_decisions` / `mark_intents`, the hot path's two transactions, on SQLite and PostgreSQL:
they store what the one-record-per-call API stores (the lineage is the same), keep its idempotency, and
are all or nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import func, select

from bot.domain import Side, SourceChange
from bot.ledger import CopyInstruction, IntentStatus, LeaderEvent, Ledger, LedgerError, OrderIntent
from bot.ledger.db import session_factory
from bot.ledger.repository import DecisionDraft, IntentDraft, instruction_values, leader_event_row
from tests.ledger.conftest import _pg_database, _sqlite_template, db_url, ledger

__all__ = ["_pg_database", "_sqlite_template", "db_url", "ledger"]

VENUE = "hyperliquid"
SOURCE = "0x" + "5a" * 20
FOLLOWERS = ["0x" + f"{n:02x}" * 20 for n in (0xF1, 0xF2, 0xF3)]
CHANGE = SourceChange(SOURCE, "ETH", Decimal(10), Decimal(15), 1_700_000_000_000, "fill:ETH:1", Decimal(3000))


def decision(follower: str, delta: str, *, order: bool = True, side: Side = Side.BUY) -> DecisionDraft:
    values = instruction_values(
        follower=follower,
        source=SOURCE,
        coin="ETH",
        source_event_id=CHANGE.event_id,
        strategy="mirror",
        target_before=Decimal("0.1"),
        target_after=Decimal("0.1") + Decimal(delta),
        delta=Decimal(delta),
        ratio=Decimal("0.01"),
        position=Decimal("0.1"),
        mid=Decimal(3000),
        event_kind="increase",
    )
    intent = IntentDraft(side, abs(Decimal(delta)), Decimal("3030.5")) if order else None
    return DecisionDraft(values, intent)


async def count(ledger: Ledger, model: type[LeaderEvent] | type[CopyInstruction] | type[OrderIntent]) -> int:
    async with session_factory(ledger.engine)() as session:
        return int((await session.exec(select(func.count()).select_from(model))).one())


async def test_one_transaction_stores_the_same_lineage_as_one_record_per_call(ledger: Ledger) -> None:
    drafts = [
        decision(FOLLOWERS[0], "0.05"),
        decision(FOLLOWERS[1], "0.1"),
        decision(FOLLOWERS[2], "0", order=False),
    ]
    event, recorded = await ledger.record_decisions(
        drafts, venue=VENUE, leader_event=leader_event_row(CHANGE, venue=VENUE, payload={"fills": [1, 2]})
    )
    assert event is not None and event.id is not None
    assert [r.intent_created for r in recorded] == [True, True, False]
    assert all(r.earlier_intent is None for r in recorded)

    # The one-record-per-call API finds every record already there, exactly as the batch wrote it.
    again = await ledger.record_leader_event(CHANGE, venue=VENUE)
    assert not again.created and again.row.id == event.id and again.row.payload == {"fills": [1, 2]}
    for draft, done in zip(drafts, recorded, strict=True):
        values = draft.instruction
        stored = await ledger.record_instruction(
            instruction_values(
                follower=values["follower"],
                source=SOURCE,
                coin="ETH",
                source_event_id=CHANGE.event_id,
                strategy="other",  # ignored: the decision is already recorded
                target_before=Decimal(0),
                target_after=Decimal(0),
                delta=Decimal(0),
            )
        )
        assert not stored.created and stored.row.id == done.instruction_id and stored.row.cloid == done.cloid
        assert stored.row.leader_event_id == event.id
        assert (stored.row.delta, stored.row.target_after, stored.row.ratio) == (
            values["delta"],
            values["target_after"],
            Decimal("0.01"),
        )
        if draft.intent is None:
            assert await ledger.get_intent(done.cloid) is None
            continue
        intent = await ledger.record_intent(
            done.instruction_id, venue=VENUE, side=Side.BUY, size=draft.intent.size, limit_px=Decimal(1)
        )
        assert not intent.created and intent.row.status == IntentStatus.PENDING.value
        assert (intent.row.size, intent.row.limit_px, intent.row.account) == (
            draft.intent.size,
            Decimal("3030.5"),
            values["follower"],
        )
        (chain,) = await ledger.lineage(f"cloid:{done.cloid}")
        assert chain.leader_event is not None and chain.leader_event.id == event.id
        assert chain.instruction is not None and chain.instruction.id == done.instruction_id
        assert chain.intent is not None and chain.intent.cloid == done.cloid


async def test_a_repeat_returns_the_earlier_intents_and_writes_nothing(ledger: Ledger) -> None:
    drafts = [decision(f, "0.05") for f in FOLLOWERS]
    _, first = await ledger.record_decisions(
        drafts, venue=VENUE, leader_event=leader_event_row(CHANGE, venue=VENUE)
    )
    await ledger.mark_intents([first[0].cloid], IntentStatus.SUBMITTED)

    event, repeat = await ledger.record_decisions(
        [decision(f, "0.05") for f in FOLLOWERS],
        venue=VENUE,
        leader_event=leader_event_row(CHANGE, venue=VENUE),
    )
    assert event is not None and [r.cloid for r in repeat] == [r.cloid for r in first]
    assert not any(r.intent_created for r in repeat)
    statuses = [r.earlier_intent.status if r.earlier_intent else None for r in repeat]
    assert statuses == ["submitted", "pending", "pending"]  # as stored: the first may have been sent
    assert (await count(ledger, LeaderEvent), await count(ledger, CopyInstruction)) == (1, 3)
    assert await count(ledger, OrderIntent) == 3


async def test_mark_intents_moves_every_named_intent(ledger: Ledger) -> None:
    _, recorded = await ledger.record_decisions([decision(f, "0.05") for f in FOLLOWERS], venue=VENUE)
    await ledger.mark_intents(
        [r.cloid.upper().replace("0X", "0x") for r in recorded[:2]], IntentStatus.SUBMITTED
    )
    statuses = [(await ledger.get_intent(r.cloid)) for r in recorded]
    assert [i.status if i else None for i in statuses] == ["submitted", "submitted", "pending"]


async def test_an_order_against_its_decision_fails_the_whole_batch(ledger: Ledger) -> None:
    drafts = [decision(FOLLOWERS[0], "0.05"), decision(FOLLOWERS[1], "0.05", side=Side.SELL)]
    with pytest.raises(LedgerError, match="contradicts instruction"):
        await ledger.record_decisions(drafts, venue=VENUE, leader_event=leader_event_row(CHANGE, venue=VENUE))
    assert (await count(ledger, LeaderEvent), await count(ledger, CopyInstruction)) == (0, 0)
    assert await count(ledger, OrderIntent) == 0
