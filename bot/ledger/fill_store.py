"""The ledger's follower fills (idempotent by venue, account and trade id) and position snapshots."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import select

from bot.domain import Side, SourceFill
from bot.ledger.base import LedgerBase
from bot.ledger.ids import normalise_account
from bot.ledger.models import Fill, PositionSnapshot, SnapshotOrigin
from bot.ledger.types import from_ms
from bot.ledger.values import (
    Recorded,
    choice_field,
    decimal_field,
    fill_trade_id,
    optional_decimal_field,
    time_field,
)


class FillStore(LedgerBase):
    # ---- fills and positions --------------------------------------------------------------------

    async def record_fill(
        self,
        *,
        venue: str,
        account: str,
        trade_id: str | int,
        coin: str,
        side: Side,
        price: Decimal,
        size: Decimal,
        fee: Decimal,
        time: datetime,
        fee_token: str | None = None,
        builder_fee: Decimal = Decimal(0),
        closed_pnl: Decimal = Decimal(0),
        start_position: Decimal | None = None,
        oid: int | None = None,
        cloid: str | None = None,
        payload: Any = None,
    ) -> Recorded[Fill]:
        """Record a fill of a follower account (idempotent by venue + account + trade id)."""
        side = Side(choice_field("side", str(side), (s.value for s in Side)))
        row = Fill(
            venue=venue,
            account=normalise_account(account),
            trade_id=str(trade_id),
            coin=coin,
            side=side.value,
            price=decimal_field("price", price),
            size=decimal_field("size", size),
            fee=decimal_field("fee", fee),
            fee_token=fee_token,
            builder_fee=decimal_field("builder_fee", builder_fee),
            closed_pnl=decimal_field("closed_pnl", closed_pnl),
            start_position=optional_decimal_field("start_position", start_position),
            time=time_field("time", time),
            oid=oid,
            cloid=cloid.lower() if cloid else None,
            payload=payload,
        )
        async with self._tx() as session:
            created = await self._insert_ignore(session, row)
            query = select(Fill).where(
                Fill.venue == venue, Fill.account == row.account, Fill.trade_id == row.trade_id
            )
            stored = (await session.exec(query)).one()
        return Recorded(stored, created)

    async def record_domain_fill(
        self, fill: SourceFill, *, venue: str, account: str, cloid: str | None = None, payload: Any = None
    ) -> Recorded[Fill]:
        """`record_fill` for a fill the venue adapter already parsed into the domain type."""
        return await self.record_fill(
            venue=venue,
            account=account,
            trade_id=fill_trade_id(fill),
            coin=fill.coin,
            side=fill.side,
            price=fill.px,
            size=fill.sz,
            fee=fill.fee,
            builder_fee=fill.builder_fee,
            time=from_ms(fill.time_ms),
            closed_pnl=fill.closed_pnl,
            start_position=fill.start_position,
            oid=fill.oid,
            cloid=cloid,
            payload=payload,
        )

    async def record_snapshot(
        self,
        *,
        venue: str,
        account: str,
        coin: str,
        size: Decimal,
        origin: SnapshotOrigin,
        entry_px: Decimal | None = None,
        time: datetime | None = None,
        fill_id: int | None = None,
    ) -> PositionSnapshot:
        choice_field("origin", str(origin), (o.value for o in SnapshotOrigin))
        row = PositionSnapshot(
            venue=venue,
            account=normalise_account(account),
            coin=coin,
            size=decimal_field("size", size),
            entry_px=optional_decimal_field("entry_px", entry_px),
            time=time_field("time", time),
            origin=SnapshotOrigin(origin).value,
            fill_id=fill_id,
        )
        async with self._tx() as session:
            session.add(row)
        return row
