"""A decision, an event, an order status or a fill recorded twice is stored once: retries and restarts
can never place the same decision twice."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.domain import Side, SourceChange
from bot.ledger import (
    CopyInstruction,
    Fill,
    LeaderEvent,
    Ledger,
    LedgerError,
    OrderIntent,
    VenueOrderStatus,
    cloid_for,
    instruction_id,
)
from bot.ledger.db import session_factory
from bot.ledger.models import LedgerModel
from bot.ledger.repository import instruction_values
from tests.ledger.chain import FOLLOWER, OID, SOURCE, VENUE, ms, record_chain


async def _count(ledger: Ledger, model: type[LedgerModel]) -> int:
    async with session_factory(ledger.engine)() as session:
        return int((await session.exec(select(func.count()).select_from(model))).one())


async def _decide(
    ledger: Ledger, *, event: str = "fills:ETH:1:2", revision: int = 0, delta: str = "0.05"
) -> str:
    recorded = await ledger.record_instruction(
        instruction_values(
            follower=FOLLOWER,
            source=SOURCE,
            coin="ETH",
            source_event_id=event,
            revision=revision,
            strategy="mirror",
            target_before=Decimal(0),
            target_after=Decimal(delta),
            delta=Decimal(delta),
        )
    )
    return recorded.row.id


async def test_same_decision_twice_is_one_row_with_one_cloid(ledger: Ledger) -> None:
    first = await ledger.record_instruction(
        instruction_values(
            follower=FOLLOWER,
            source=SOURCE,
            coin="ETH",
            source_event_id="fills:ETH:1:2",
            strategy="mirror",
            target_before=Decimal(0),
            target_after=Decimal("0.1"),
            delta=Decimal("0.1"),
            ratio=Decimal("0.01"),
        )
    )
    # A restart recomputes the decision (maybe with a later mid): same key, so the first one stands.
    again = await ledger.record_instruction(
        instruction_values(
            follower=FOLLOWER.upper().replace("0X", "0x"),
            source=SOURCE,
            coin="ETH",
            source_event_id="fills:ETH:1:2",
            strategy="mirror",
            target_before=Decimal(0),
            target_after=Decimal("0.1"),
            delta=Decimal("0.1"),
            ratio=Decimal("0.01"),
            mid=Decimal(3001),
        )
    )
    assert first.created and not again.created
    assert again.row.id == first.row.id == instruction_id(FOLLOWER, "ETH", "fills:ETH:1:2", 0)
    assert again.row.cloid == first.row.cloid == cloid_for(first.row.id)
    assert again.row.mid is None  # the stored decision, not the re-computed one
    assert await _count(ledger, CopyInstruction) == 1


async def test_a_new_revision_is_a_new_decision_with_a_new_cloid(ledger: Ledger) -> None:
    first = await _decide(ledger, revision=0)
    second = await _decide(ledger, revision=1)
    assert first != second
    assert cloid_for(first) != cloid_for(second)
    assert await _count(ledger, CopyInstruction) == 2


async def test_concurrent_writers_of_one_decision_store_it_once(ledger: Ledger) -> None:
    results = await asyncio.gather(
        *(
            ledger.record_instruction(
                instruction_values(
                    follower=FOLLOWER,
                    source=SOURCE,
                    coin="BTC",
                    source_event_id="fills:BTC:9:9",
                    strategy="mirror",
                    target_before=Decimal(0),
                    target_after=Decimal("0.2"),
                    delta=Decimal("0.2"),
                )
            )
            for _ in range(8)
        )
    )
    assert sum(r.created for r in results) == 1
    assert len({r.row.cloid for r in results}) == 1
    assert await _count(ledger, CopyInstruction) == 1


async def test_the_schema_itself_refuses_a_second_copy(ledger: Ledger) -> None:
    ident = await _decide(ledger)
    async with session_factory(ledger.engine)() as session:
        stored = await session.get(CopyInstruction, ident)
        assert stored is not None
        clone = CopyInstruction(**{**stored.model_dump(), "id": "f" * 64})  # same cloid and key
        session.add(clone)
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_intent_is_recorded_once_per_decision(ledger: Ledger) -> None:
    ident = await _decide(ledger)
    first = await ledger.record_intent(
        ident, venue=VENUE, side=Side.BUY, size=Decimal("0.05"), limit_px=Decimal(3030)
    )
    again = await ledger.record_intent(
        ident, venue=VENUE, side=Side.BUY, size=Decimal("0.05"), limit_px=Decimal(3031)
    )
    assert first.created and not again.created
    assert again.row.cloid == first.row.cloid == cloid_for(ident)
    assert again.row.limit_px == Decimal(3030)
    assert await _count(ledger, OrderIntent) == 1


async def test_intent_must_follow_its_decision(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="no instruction"):
        await ledger.record_intent("a" * 64, venue=VENUE, side=Side.BUY, size=Decimal(1), limit_px=Decimal(1))
    ident = await _decide(ledger, delta="0.05")
    with pytest.raises(LedgerError, match="contradicts"):
        await ledger.record_intent(
            ident, venue=VENUE, side=Side.SELL, size=Decimal("0.05"), limit_px=Decimal(1)
        )
    with pytest.raises(LedgerError, match="positive"):
        await ledger.record_intent(ident, venue=VENUE, side=Side.BUY, size=Decimal(0), limit_px=Decimal(1))
    with pytest.raises(LedgerError, match="tif must be one of Ioc, Gtc, Alo"):
        await ledger.record_intent(
            ident, venue=VENUE, side=Side.BUY, size=Decimal(1), limit_px=Decimal(1), tif="FOK"
        )


async def test_leader_event_and_fill_are_idempotent(ledger: Ledger) -> None:
    change = SourceChange(
        source=SOURCE, coin="ETH", old=Decimal(0), new=Decimal(2), time_ms=5, event_id="fills:ETH:3:5"
    )
    first = await ledger.record_leader_event(change, payload={"n": 1})
    again = await ledger.record_leader_event(change, payload={"n": 2})
    assert first.created and not again.created and again.row.id == first.row.id
    assert again.row.payload == {"n": 1}
    assert await _count(ledger, LeaderEvent) == 1

    async def fill(trade_id: int | str) -> bool:
        recorded = await ledger.record_fill(
            venue=VENUE,
            account=FOLLOWER,
            trade_id=trade_id,
            coin="ETH",
            side=Side.BUY,
            price=Decimal(3000),
            size=Decimal("0.1"),
            fee=Decimal("0.1"),
            time=ms(0),
        )
        return recorded.created

    assert await fill(77) is True
    assert await fill("77") is False  # the same trade, whether the id came as int or text
    assert await fill(78) is True
    assert await _count(ledger, Fill) == 2


async def test_a_repeated_order_status_is_not_appended_again(ledger: Ledger) -> None:
    chain = await record_chain(ledger)
    before = await _count(ledger, VenueOrderStatus)
    # The websocket repeats what the HTTP answer already said.
    order = await ledger.record_order_status(chain.intent.cloid, status="filled", details={"totalSz": "0.05"})
    assert order.status == "filled"
    assert await _count(ledger, VenueOrderStatus) == before
    with pytest.raises(LedgerError, match="already has venue id"):
        await ledger.record_order_status(chain.intent.cloid, status="filled", oid=OID + 1)
    with pytest.raises(LedgerError, match="no order intent with cloid"):
        await ledger.record_order_status("0x" + "0" * 32, status="open")
