"""The ledger's orders: the intent recorded for each decision's order before it is sent, its status as
it moves (pending → submitted → accepted / rejected / unknown / failed), and the venue's reports on
it (`VenueOrder` and its status history), one at a time or a fan-out's answers in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy import select as core_select
from sqlalchemy.engine import Connection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import Side
from bot.ledger.base import LedgerBase, _chunks, _table, _where_in
from bot.ledger.decision_store import IntentDraft
from bot.ledger.models import (
    CopyInstruction,
    IntentStatus,
    OrderIntent,
    VenueOrder,
    VenueOrderStatus,
    utcnow,
)
from bot.ledger.ownership import Fence, check_fence
from bot.ledger.values import (
    LedgerError,
    Recorded,
    choice_field,
    time_field,
)


def _intent_status_after(order_status: str) -> str:
    """The intent's status once the venue has reported on its order."""
    rejected = order_status.lower().endswith("rejected")
    return (IntentStatus.REJECTED if rejected else IntentStatus.ACCEPTED).value


@dataclass(frozen=True, slots=True)
class OrderAnswer:
    """One order's status as the venue answered it (`record_order_statuses`)."""

    cloid: str
    status: str
    oid: int | None = None
    details: Any = None


class OrderStore(LedgerBase):
    # ---- intents and venue orders ---------------------------------------------------------------

    async def record_intent(
        self,
        instruction: str,
        *,
        venue: str,
        side: Side,
        size: Decimal,
        limit_px: Decimal,
        tif: str = "Ioc",
        reduce_only: bool = False,
        fence: Fence | None = None,
    ) -> Recorded[OrderIntent]:
        """Record the order meant for an instruction (one per instruction; a repeat returns the first).
        `fence`: follower → the writer's lease epoch, checked in the same transaction (`Fenced` when
        stale; see `record_decisions`)."""
        order = IntentDraft(side, size, limit_px, tif, reduce_only).checked()
        async with self._tx() as session:
            decision = await session.get(CopyInstruction, instruction)
            if decision is None:
                raise LedgerError(f"no instruction {instruction}: record the decision before its order")
            if fence is not None:
                follower = decision.follower
                await session.run_sync(lambda s: check_fence(s.connection(), [follower], fence))
            row = OrderIntent(**order.values(decision.model_dump(), venue))
            created = await self._insert_ignore(session, row)
            stored = await self._intent(session, decision.cloid)
        if stored is None:
            raise LedgerError(f"intent for {instruction} could not be recorded")
        return Recorded(stored, created)

    async def get_intent(self, cloid: str) -> OrderIntent | None:
        async with self._tx() as session:
            return await self._intent(session, cloid.lower())

    @staticmethod
    async def _intent(session: AsyncSession, cloid: str) -> OrderIntent | None:
        return (await session.exec(select(OrderIntent).where(OrderIntent.cloid == cloid))).first()

    async def _require_intent(self, session: AsyncSession, cloid: str) -> OrderIntent:
        intent = await self._intent(session, cloid.lower())
        if intent is None:
            raise LedgerError(f"no order intent with cloid {cloid}")
        return intent

    async def mark_intents(self, cloids: Sequence[str], status: IntentStatus) -> None:
        """`mark_intent` for many intents in one transaction (a fan-out's orders, about to be sent)."""
        choice_field("status", str(status), (s.value for s in IntentStatus))
        table = _table(OrderIntent)
        query = (
            update(table)
            .where(table.c.cloid.in_(bindparam("cloids", expanding=True)))
            .values(status=IntentStatus(status).value, error=None, updated_at=bindparam("now"))
        )

        def mark(conn: Connection) -> None:
            for chunk in _chunks([c.lower() for c in cloids]):
                conn.execute(query, {"cloids": list(chunk), "now": utcnow()})

        await self._write(mark)

    async def mark_intent(self, cloid: str, status: IntentStatus, *, error: str | None = None) -> OrderIntent:
        """Move an intent along pending → submitted → accepted / rejected / unknown / failed."""
        choice_field("status", str(status), (s.value for s in IntentStatus))
        async with self._tx() as session:
            intent = await self._require_intent(session, cloid)
            intent.status = IntentStatus(status).value
            intent.error = error
            intent.updated_at = utcnow()
            session.add(intent)
        return intent

    async def record_order_status(
        self,
        cloid: str,
        *,
        status: str,
        oid: int | None = None,
        time: datetime | None = None,
        details: Any = None,
    ) -> VenueOrder:
        """Append a venue-reported status (e.g. resting/open, filled, canceled, rejected) to the order of
        the intent `cloid`, creating the VenueOrder on first report. A status equal to the last one
        (same details) is not appended again: the REST answer and the websocket often both report it."""
        if not status:
            raise LedgerError("status must not be empty")
        moment = time_field("time", time)
        async with self._tx() as session:
            intent = await self._require_intent(session, cloid)
            fresh = VenueOrder(
                intent_id=intent.id or 0,
                venue=intent.venue,
                oid=oid,
                status=status,
                created_at=moment,
                updated_at=moment,
            )
            await self._insert_ignore(session, fresh)
            query = select(VenueOrder).where(VenueOrder.intent_id == intent.id)
            order = (await session.exec(query)).first()
            if order is None:
                raise LedgerError(f"venue order id {oid} already belongs to another order than {cloid}")
            if oid is not None and order.oid is None:
                order.oid = oid
            elif oid is not None and order.oid != oid:
                raise LedgerError(f"order {cloid} already has venue id {order.oid}, not {oid}")
            last_query = (
                select(VenueOrderStatus)
                .where(VenueOrderStatus.venue_order_id == order.id)
                .order_by(col(VenueOrderStatus.id).desc())
            )
            last = (await session.exec(last_query)).first()
            if last is None or (last.status, last.details) != (status, details):
                session.add(
                    VenueOrderStatus(
                        venue_order_id=order.id or 0, status=status, time=moment, details=details
                    )
                )
                order.status = status
                order.updated_at = moment
            intent.status = _intent_status_after(status)
            intent.updated_at = moment
            session.add_all([order, intent])
        return order

    async def record_order_statuses(self, answers: Sequence[OrderAnswer]) -> None:
        """`record_order_status` for many orders in ONE transaction (a fan-out's answers), with the
        same rules: the VenueOrder is created on the first report, a status equal to the last one
        is not appended again, a venue id never changes. All or nothing: an unknown cloid or a
        conflicting venue id fails the whole batch. A cloid appears at most once."""
        for answer in answers:
            if not answer.status:
                raise LedgerError(f"status must not be empty (order {answer.cloid})")
        if len({a.cloid.lower() for a in answers}) != len(answers):
            raise LedgerError("record_order_statuses: a cloid appears twice; record them one at a time")
        if answers:
            await self._write(lambda conn: self._record_order_statuses(conn, answers, utcnow()))

    def _record_order_statuses(self, conn: Connection, answers: Sequence[OrderAnswer], now: datetime) -> None:
        cloids = [a.cloid.lower() for a in answers]
        intents = {i.cloid: i for i in _where_in(conn, OrderIntent, "cloid", cloids)}
        missing = [c for c in cloids if c not in intents]
        if missing:
            raise LedgerError(f"no order intent with cloid {missing[0]} ({len(missing)} unknown)")
        by_intent = {intents[c].id or 0: a for c, a in zip(cloids, answers, strict=True)}
        fresh = [
            {
                "intent_id": intents[c].id or 0,
                "venue": intents[c].venue,
                "oid": a.oid,
                "status": a.status,
                "created_at": now,
                "updated_at": now,
            }
            for c, a in zip(cloids, answers, strict=True)
        ]
        created = self._insert_new(conn, VenueOrder, fresh, "intent_id")
        # Orders reported before (or whose venue id another order holds) are read back and checked.
        known = [i for i in by_intent if i not in created]
        orders = {o.intent_id: o for o in _where_in(conn, VenueOrder, "intent_id", known)}
        last: dict[int, tuple[str, Any]] = {}
        order_ids = [o.id for o in orders.values() if o.id is not None]
        history = _table(VenueOrderStatus)
        for chunk in _chunks(order_ids):
            rows = conn.execute(
                core_select(history.c.venue_order_id, history.c.status, history.c.details)
                .where(history.c.venue_order_id.in_(chunk))
                .order_by(history.c.id)
            )
            last.update((row.venue_order_id, (row.status, row.details)) for row in rows)
        statuses: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        for intent_id, answer in by_intent.items():
            if intent_id in created:
                order_id = created[intent_id]
            else:
                order = orders.get(intent_id)
                if order is None or order.id is None:
                    raise LedgerError(f"venue order id {answer.oid} already belongs to another order")
                if answer.oid is not None and order.oid is not None and order.oid != answer.oid:
                    taken = f"order {answer.cloid} already has venue id {order.oid}, not {answer.oid}"
                    raise LedgerError(taken)
                order_id = order.id
                repeated = last.get(order_id) == (answer.status, answer.details)
                oid = order.oid if order.oid is not None else answer.oid
                if not repeated or oid != order.oid:
                    status = answer.status if not repeated else order.status
                    changed.append({"b_id": order_id, "b_oid": oid, "b_status": status, "b_now": now})
                if repeated:
                    continue  # the same report again (REST answer and websocket): not appended
            statuses.append(
                {"venue_order_id": order_id, "status": answer.status, "time": now, "details": answer.details}
            )
        if statuses:
            conn.execute(history.insert(), statuses)
        if changed:
            table = _table(VenueOrder)
            conn.execute(
                update(table)
                .where(table.c.id == bindparam("b_id"))
                .values(oid=bindparam("b_oid"), status=bindparam("b_status"), updated_at=bindparam("b_now")),
                changed,
            )
        intent_table = _table(OrderIntent)
        conn.execute(
            update(intent_table)
            .where(intent_table.c.id == bindparam("b_id"))
            .values(status=bindparam("b_status"), updated_at=bindparam("b_now")),
            [
                {"b_id": i, "b_status": _intent_status_after(a.status), "b_now": now}
                for i, a in by_intent.items()
            ],
        )
