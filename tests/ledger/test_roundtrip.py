"""Every entity survives a write and a read through a new connection, exactly, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.ledger import (
    Account,
    AuditLog,
    CopyInstruction,
    Fill,
    FollowPlan,
    LeaderEvent,
    OrderIntent,
    PositionSnapshot,
    VenueOrder,
    VenueOrderStatus,
    cloid_for,
    create_engine,
    instruction_id,
)
from bot.ledger.db import session_factory
from bot.ledger.models import TABLES, LedgerModel
from bot.ledger.types import decimal_text
from tests.ledger.strategies import EDGE_DECIMALS, exact_decimals
from tests.ledger.support import Portal

TOKYO = timezone(timedelta(hours=9))
WHEN = datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=TOKYO)  # stored as 14:59:58.123456 UTC
BIG = Decimal("123456789012345678.123456789")
TINY = Decimal("0.00000001")


def _entities() -> list[LedgerModel]:
    """One row of every table, every column set, with values that a lossy store would damage."""
    ident = instruction_id("0xfollower", "kPEPE", "fills:kPEPE:1:2", 3)
    return [
        Account(
            venue="hyperliquid",
            address="0x" + "aa" * 20,
            kind="vault",
            label="trésor ✓",
            agent_address="0x" + "bb" * 20,
            keystore_path="/keys/agent.json",
            keystore_json='{"version": 3, "crypto": {}}',
            created_at=WHEN,
        ),
        FollowPlan(
            follower="0xfollower",
            source="0xsource",
            version=1,
            settings={
                "scaling": {"*": 150, "ETH": 50},
                "tokens": ["ETH", "BTC"],
                "reverse": False,
                "note": None,
            },
            actor="telegram:42",
            created_at=WHEN,
        ),
        LeaderEvent(
            venue="hyperliquid",
            source="0xsource",
            coin="kPEPE",
            event_id="fills:kPEPE:1:2",
            old_size=-BIG,
            new_size=TINY,
            avg_px=Decimal("0.000012345"),
            time=WHEN,
            received_at=WHEN + timedelta(microseconds=1),
            payload=[{"px": "0.000012345", "sz": "1E+3", "tid": 2**53 + 1, "crossed": True, "hash": None}],
        ),
        CopyInstruction(
            id=ident,
            cloid=cloid_for(ident),
            follower="0xfollower",
            source="0xsource",
            coin="kPEPE",
            source_event_id="fills:kPEPE:1:2",
            revision=3,
            leader_event_id=1,
            plan_version=1,
            strategy="mirror",
            event_kind="flip",
            ratio=Decimal("0.0123456789012345678901234567890123"),
            target_before=BIG,
            target_after=-TINY,
            position=Decimal("-0.5"),
            delta=Decimal("-123456789012345678.123456799"),
            mid=Decimal("3000.5"),
            guards=["max_notional_token", "slippage_cap"],
            reason="capped",
            created_at=WHEN,
        ),
        OrderIntent(
            instruction_id=ident,
            cloid=cloid_for(ident),
            venue="hyperliquid",
            account="0xfollower",
            coin="kPEPE",
            side="sell",
            size=BIG,
            limit_px=Decimal("0.0000099"),
            tif="Ioc",
            reduce_only=True,
            status="accepted",
            error="partially filled",
            created_at=WHEN,
            updated_at=WHEN + timedelta(seconds=1),
        ),
        VenueOrder(
            intent_id=1, venue="hyperliquid", oid=2**40 + 7, status="filled", created_at=WHEN, updated_at=WHEN
        ),
        VenueOrderStatus(venue_order_id=1, status="open", time=WHEN, details={"resting": {"oid": 2**40 + 7}}),
        Fill(
            venue="hyperliquid",
            account="0xfollower",
            trade_id="1099511627783",
            coin="kPEPE",
            side="sell",
            price=Decimal("0.0000099"),
            size=BIG,
            fee=Decimal("-0.000001"),  # a maker rebate is negative
            fee_token="USDC",
            closed_pnl=Decimal("-12.3456789"),
            start_position=Decimal("0"),
            time=WHEN,
            oid=2**40 + 7,
            cloid=cloid_for(ident),
            payload={"dir": "Open Short", "startPosition": "0.0"},
        ),
        PositionSnapshot(
            venue="hyperliquid",
            account="0xfollower",
            coin="kPEPE",
            size=-BIG,
            entry_px=Decimal("0.0000099"),
            time=WHEN,
            origin="fill",
            fill_id=1,
        ),
        AuditLog(
            time=WHEN, actor="telegram:42", channel="telegram", action="follow add", details={"k": "150"}
        ),
    ]


def _columns(row: LedgerModel) -> dict[str, Any]:
    return {column.name: getattr(row, column.name) for column in row.__table__.columns}  # type: ignore[attr-defined]


async def test_every_entity_round_trips_exactly(db_url: str) -> None:
    written = _entities()
    assert {type(row) for row in written} == set(TABLES)  # a new table must join this test
    engine = create_engine(db_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            for row in written:
                session.add(row)
                await session.flush()  # in dependency order, so the foreign keys hold
        expected = [_columns(row) for row in written]
    finally:
        await engine.dispose()

    reader = create_engine(db_url)  # new connections: nothing comes from a cache
    try:
        async with session_factory(reader)() as session:
            for row, before in zip(written, expected, strict=True):
                model = type(row)
                stored = (await session.exec(select(model))).one()
                after = _columns(stored)
                assert after == before, model.__name__
                for name, value in after.items():
                    if isinstance(value, datetime):
                        assert value.tzinfo is UTC, f"{model.__name__}.{name} is not UTC"
                    if isinstance(value, Decimal):
                        assert format(value, "f") == decimal_text(before[name])  # canonical spelling
    finally:
        await reader.dispose()


async def test_sqlite_stores_decimals_as_text_and_postgres_as_numeric(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            session.add(
                PositionSnapshot(venue="v", account="a", coin="ETH", size=BIG, time=WHEN, origin="venue")
            )
        async with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                kind, raw = (
                    await connection.execute(text("SELECT typeof(size), size FROM position_snapshot"))
                ).one()
                assert (kind, raw) == ("text", "123456789012345678.123456789")
            else:
                query = text(
                    "SELECT data_type FROM information_schema.columns "
                    "WHERE table_name = 'position_snapshot' AND column_name = 'size'"
                )
                assert (await connection.execute(query)).scalar_one() == "numeric"
                total = (
                    await connection.execute(text("SELECT size * 2 FROM position_snapshot"))
                ).scalar_one()
                assert total == BIG * 2  # exact arithmetic in SQL too
    finally:
        await engine.dispose()


@pytest.fixture
def portal_engine(db_url: str, sync_portal: Portal) -> Iterator[AsyncEngine]:
    engine = create_engine(db_url)
    yield engine
    sync_portal.run(engine.dispose())


async def _round_trip(engine: AsyncEngine, values: list[Decimal]) -> list[Decimal]:
    rows = [
        PositionSnapshot(venue="v", account="a", coin="X", size=v, time=WHEN, origin="venue") for v in values
    ]
    async with session_factory(engine)() as session, session.begin():
        session.add_all(rows)
        await session.flush()
        ids = [row.id for row in rows]
    async with session_factory(engine)() as session:
        query = (
            select(PositionSnapshot)
            .where(col(PositionSnapshot.id).in_(ids))
            .order_by(col(PositionSnapshot.id))
        )
        return [row.size for row in (await session.exec(query)).all()]


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(exact_decimals() | st.sampled_from(EDGE_DECIMALS), min_size=1, max_size=12))
def test_any_decimal_round_trips_losslessly(
    portal_engine: AsyncEngine, sync_portal: Portal, values: list[Decimal]
) -> None:
    stored = sync_portal.run(_round_trip(portal_engine, values))
    assert stored == values
    assert all(type(v) is Decimal for v in stored)
    # Equal values come back in one spelling, whatever the spelling that went in.
    assert [format(v, "f") for v in stored] == [
        format(v, "f") for v in sync_portal.run(_round_trip(portal_engine, stored))
    ]


@pytest.mark.parametrize("value", EDGE_DECIMALS, ids=str)
def test_edge_decimals_round_trip(portal_engine: AsyncEngine, sync_portal: Portal, value: Decimal) -> None:
    assert sync_portal.run(_round_trip(portal_engine, [value])) == [value]
