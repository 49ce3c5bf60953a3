"""The ledger's API for the pipeline, the service layer and the CLI: `Ledger`, assembled from one part per
aggregate (accounts, plans, fills, audit: bot/ledger/*_store.py; the pipeline's reads:
pipeline_reads.py; the shared base: base.py). This module holds the hot path's writes: leader events,
decisions, intents and venue orders, in batches of one transaction.

Every method is one transaction. Recording is idempotent wherever the venue or a restart can repeat
a message: leader events (by venue+source+event id), instructions (by their deterministic id), intents
(one per instruction), venue-order statuses (a repeat of the last status is not appended again) and
fills (by venue+account+trade id). Idempotent inserts are `INSERT … ON CONFLICT DO NOTHING` followed
by a read, so two concurrent writers of the same record never collide.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, update
from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import Side, SourceChange
from bot.ledger.account_store import AccountStore
from bot.ledger.audit_store import AuditStore
from bot.ledger.fill_store import FillStore
from bot.ledger.ids import cloid_for, instruction_id, normalise_account
from bot.ledger.models import (
    CopyInstruction,
    IntentStatus,
    LeaderEvent,
    LedgerModel,
    OrderIntent,
    VenueOrder,
    VenueOrderStatus,
    utcnow,
)
from bot.ledger.pipeline_reads import PipelineReads
from bot.ledger.plan_store import PlanStore
from bot.ledger.queries_service import ServiceQueries
from bot.ledger.types import from_ms
from bot.ledger.values import (
    TIME_IN_FORCE,
    LedgerError,
    Recorded,
    check_keystore,
    choice_field,
    decimal_field,
    fill_trade_id,
    optional_decimal_field,
    time_field,
)

__all__ = [
    "TIME_IN_FORCE",
    "DecisionDraft",
    "IntentDraft",
    "Ledger",
    "LedgerError",
    "OrderAnswer",
    "Recorded",
    "RecordedDecision",
    "check_keystore",
    "fill_trade_id",
    "instruction_values",
    "leader_event_row",
]

T = TypeVar("T", bound=LedgerModel)
U = TypeVar("U")
R = TypeVar("R")


def instruction_values(
    *,
    follower: str,
    source: str,
    coin: str,
    source_event_id: str,
    strategy: str,
    target_before: Decimal,
    target_after: Decimal,
    delta: Decimal,
    revision: int = 0,
    ratio: Decimal | None = None,
    position: Decimal | None = None,
    mid: Decimal | None = None,
    event_kind: str | None = None,
    guards: Iterable[str] = (),
    reason: str | None = None,
    plan_version: int | None = None,
    leader_event_id: int | None = None,
    created_at: datetime | None = None,
) -> dict[str, Any]:
    """A decision's column values, validated, not yet stored (see `Ledger.record_instruction`). Plain
    values, not a model: building a SQLModel row costs ~100 µs, a fan-out to 1,000 followers builds 2,000."""
    try:
        ident = instruction_id(follower, coin, source_event_id, revision)
    except ValueError as exc:
        raise LedgerError(str(exc)) from None
    return dict(
        id=ident,
        cloid=cloid_for(ident),
        follower=normalise_account(follower),
        source=normalise_account(source),
        coin=coin,
        source_event_id=source_event_id,
        revision=revision,
        leader_event_id=leader_event_id,
        plan_version=plan_version,
        strategy=strategy,
        event_kind=event_kind,
        ratio=optional_decimal_field("ratio", ratio),
        target_before=decimal_field("target_before", target_before),
        target_after=decimal_field("target_after", target_after),
        position=optional_decimal_field("position", position),
        delta=decimal_field("delta", delta),
        mid=optional_decimal_field("mid", mid),
        guards=list(guards),
        reason=reason,
        created_at=time_field("created_at", created_at),
    )


def leader_event_row(
    change: SourceChange, *, venue: str, payload: Any = None, received_at: datetime | None = None
) -> LeaderEvent:
    """A source change's row, validated, not yet stored (see `Ledger.record_leader_event`)."""
    return LeaderEvent(
        venue=venue,
        source=normalise_account(change.source),
        coin=change.coin,
        event_id=change.event_id,
        old_size=decimal_field("old", change.old),
        new_size=decimal_field("new", change.new),
        avg_px=optional_decimal_field("avg_px", change.avg_px),
        time=from_ms(change.time_ms),
        received_at=time_field("received_at", received_at),
        payload=payload,
    )


@dataclass(frozen=True, slots=True)
class IntentDraft:
    """The order meant for a decision, before it is stored (see `Ledger.record_intent`)."""

    side: Side
    size: Decimal
    limit_px: Decimal
    tif: str = "Ioc"
    reduce_only: bool = False

    def checked(self) -> IntentDraft:
        side = Side(choice_field("side", str(self.side), (s.value for s in Side)))
        choice_field("tif", self.tif, TIME_IN_FORCE)
        size, limit_px = decimal_field("size", self.size), decimal_field("limit_px", self.limit_px)
        if size <= 0 or limit_px <= 0:
            raise LedgerError(f"size and limit_px must be positive, got size {size}, limit_px {limit_px}")
        return IntentDraft(side, size, limit_px, self.tif, self.reduce_only)

    def values(self, decision: Mapping[str, Any], venue: str) -> dict[str, Any]:
        """The intent's column values for the stored `decision` (its columns); the side must be its."""
        order = self.checked()
        delta = decision["delta"]
        if delta == 0 or order.side is not (Side.BUY if delta > 0 else Side.SELL):
            raise LedgerError(
                f"a {order.side.value} order contradicts instruction {decision['id']} (delta {delta})"
            )
        now = utcnow()
        return dict(
            instruction_id=decision["id"],
            cloid=decision["cloid"],
            venue=venue,
            account=decision["follower"],
            coin=decision["coin"],
            side=order.side.value,
            size=order.size,
            limit_px=order.limit_px,
            tif=order.tif,
            reduce_only=order.reduce_only,
            created_at=now,
            updated_at=now,
        )


@dataclass(frozen=True, slots=True)
class DecisionDraft:
    """A decision to record (`instruction_values`) and, when it sends an order, that order's intent."""

    instruction: dict[str, Any]
    intent: IntentDraft | None = None

    @property
    def cloid(self) -> str:
        return str(self.instruction["cloid"])


@dataclass(frozen=True, slots=True)
class RecordedDecision:
    """What `record_decisions` did with one draft. `intent_created`: its order's intent was recorded by
    this call (a fresh order, send it). `earlier_intent`: the intent recorded before for the same
    decision (a restart, a replayed change), as stored: that order may have been sent."""

    instruction_id: str
    cloid: str
    intent_created: bool = False
    earlier_intent: OrderIntent | None = None


def _table(model: type[LedgerModel]) -> Table:
    return LedgerModel.metadata.tables[str(getattr(model, "__tablename__", ""))]


def _in_transaction(engine: Engine, work: Callable[[Connection], R]) -> R:
    with engine.begin() as conn:
        return work(conn)


def _where(conn: Connection, model: type[T], clause: Any) -> list[T]:
    return [model(**row._mapping) for row in conn.execute(core_select(_table(model)).where(clause))]


def _where_in(conn: Connection, model: type[T], column: str, keys: Sequence[Any]) -> list[T]:
    found: list[T] = []
    for chunk in _chunks(keys):
        if chunk:
            found += _where(conn, model, col(getattr(model, column)).in_(chunk))
    return found


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


def _chunks(items: Sequence[U], size: int = 500) -> list[Sequence[U]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [items[:0]]


class Ledger(AccountStore, PlanStore, FillStore, AuditStore, PipelineReads, ServiceQueries):
    """The ledger over one database (SQLite or PostgreSQL), one part per aggregate (bot/ledger/*_store.py,
    the pipeline's `PipelineReads`, the service's and Telegram's `ServiceQueries`); here: leader events,
    decisions, intents and venue orders — the hot path's writes."""

    # ---- leader events --------------------------------------------------------------------------

    async def record_leader_event(
        self,
        change: SourceChange,
        *,
        venue: str = "hyperliquid",
        payload: Any = None,
        received_at: datetime | None = None,
    ) -> Recorded[LeaderEvent]:
        """Record a normalised source change and the raw venue payload it came from (idempotent)."""
        row = leader_event_row(change, venue=venue, payload=payload, received_at=received_at)
        async with self._tx() as session:
            created = await self._insert_ignore(session, row)
            stored = await self._leader_event(session, row)
        return Recorded(stored, created)

    @staticmethod
    async def _leader_event(session: AsyncSession, row: LeaderEvent) -> LeaderEvent:
        query = select(LeaderEvent).where(
            LeaderEvent.venue == row.venue,
            LeaderEvent.source == row.source,
            LeaderEvent.event_id == row.event_id,
        )
        return (await session.exec(query)).one()

    # ---- instructions ---------------------------------------------------------------------------

    async def record_instruction(
        self,
        *,
        follower: str,
        source: str,
        coin: str,
        source_event_id: str,
        strategy: str,
        target_before: Decimal,
        target_after: Decimal,
        delta: Decimal,
        revision: int = 0,
        ratio: Decimal | None = None,
        position: Decimal | None = None,
        mid: Decimal | None = None,
        event_kind: str | None = None,
        guards: Iterable[str] = (),
        reason: str | None = None,
        plan_version: int | None = None,
        leader_event_id: int | None = None,
        created_at: datetime | None = None,
    ) -> Recorded[CopyInstruction]:
        """Record a decision. The same (follower, coin, source event, revision) twice returns the first
        row unchanged (`created=False`) with the same id and cloid: a decision is placed at most once."""
        row = CopyInstruction(
            **instruction_values(
                follower=follower,
                source=source,
                coin=coin,
                source_event_id=source_event_id,
                strategy=strategy,
                target_before=target_before,
                target_after=target_after,
                delta=delta,
                revision=revision,
                ratio=ratio,
                position=position,
                mid=mid,
                event_kind=event_kind,
                guards=guards,
                reason=reason,
                plan_version=plan_version,
                leader_event_id=leader_event_id,
                created_at=created_at,
            )
        )
        ident = row.id
        async with self._tx() as session:
            created = await self._insert_ignore(session, row)
            stored = await session.get(CopyInstruction, ident)
        if stored is None:
            # Only a cloid collision with another decision could get here (2^-128): refuse loudly.
            raise LedgerError(f"instruction {ident} conflicts with an existing cloid {row.cloid}")
        return Recorded(stored, created)

    async def get_instruction(self, ident: str) -> CopyInstruction | None:
        async with self._tx() as session:
            return await session.get(CopyInstruction, ident)

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
    ) -> Recorded[OrderIntent]:
        """Record the order meant for an instruction (one per instruction; a repeat returns the first)."""
        order = IntentDraft(side, size, limit_px, tif, reduce_only).checked()
        async with self._tx() as session:
            decision = await session.get(CopyInstruction, instruction)
            if decision is None:
                raise LedgerError(f"no instruction {instruction}: record the decision before its order")
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

    async def record_decisions(
        self, decisions: Sequence[DecisionDraft], *, venue: str, leader_event: LeaderEvent | None = None
    ) -> tuple[LeaderEvent | None, list[RecordedDecision]]:
        """Record a source change's leader event, and the decisions it led to with their orders' intents,
        in ONE transaction (what `record_leader_event`, `record_instruction` and `record_intent` do one
        at a time; the same idempotency: a decision or intent already stored is returned unchanged, and
        `intent_created` says whether its order is new). A decision without `leader_event_id` is linked
        to `leader_event`. All or nothing: an invalid intent fails the whole batch.

        The copy's hot path (docs/decisions/hotpath.md): a few Core statements (one per table for the
        whole batch) in one `_write`; rows this call inserted are returned as built, only rows that
        were already there are read back."""
        return await self._write(lambda conn: self._record_decisions(conn, decisions, venue, leader_event))

    def _record_decisions(
        self,
        conn: Connection,
        decisions: Sequence[DecisionDraft],
        venue: str,
        leader_event: LeaderEvent | None,
    ) -> tuple[LeaderEvent | None, list[RecordedDecision]]:
        rows = [d.instruction for d in decisions]
        event: LeaderEvent | None = None
        if leader_event is not None:
            event = leader_event
            values = leader_event.model_dump(exclude={"id"})
            created = self._insert_new(conn, LeaderEvent, [values], "event_id")
            if created:
                event.id = created[leader_event.event_id]
            else:
                (event,) = _where(
                    conn,
                    LeaderEvent,
                    (LeaderEvent.venue == leader_event.venue)
                    & (LeaderEvent.source == leader_event.source)
                    & (LeaderEvent.event_id == leader_event.event_id),
                )
        for row in rows:
            if row["leader_event_id"] is None and event is not None:
                row["leader_event_id"] = event.id
        new_ids = self._insert_new(conn, CopyInstruction, rows, "id")
        # A decision recorded before is read back: its intent must match the stored one.
        stored = {r["id"]: r for r in rows if r["id"] in new_ids}
        known = [r["id"] for r in rows if r["id"] not in new_ids]
        stored.update((i.id, i.model_dump()) for i in _where_in(conn, CopyInstruction, "id", known))
        for row in rows:
            if row["id"] not in stored:
                # Only a cloid collision with another decision could get here (2^-128): refuse loudly.
                raise LedgerError(f"instruction {row['id']} conflicts with an existing cloid {row['cloid']}")
        ordered = [(d, stored[d.instruction["id"]]) for d in decisions]
        built = [d.intent.values(i, venue) for d, i in ordered if d.intent is not None]
        new_cloids = self._insert_new(conn, OrderIntent, built, "cloid")
        known = [r["cloid"] for r in built if r["cloid"] not in new_cloids]
        earlier = {i.cloid: i for i in _where_in(conn, OrderIntent, "cloid", known)}
        out = [
            RecordedDecision(i["id"], i["cloid"], i["cloid"] in new_cloids, earlier.get(i["cloid"]))
            for _, i in ordered
        ]
        return event, out

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

    async def _write(self, work: Callable[[Connection], R]) -> R:
        """Run `work` in one transaction on a plain (synchronous) connection. SQLite (a file): on the
        ledger's writer thread, so the whole transaction is one hand-off to a thread instead of one per
        statement through aiosqlite (a few per statement: cursor, execute, fetch, close); otherwise
        through the async engine (`run_sync`: asyncpg has no thread to hop to)."""
        async with self._turn():
            if self._writer is not None:
                engine, pool = self._writer
                return await asyncio.get_running_loop().run_in_executor(pool, _in_transaction, engine, work)
            async with self.engine.begin() as conn:
                return await conn.run_sync(work)

    def _insert_new(
        self, conn: Connection, model: type[LedgerModel], rows: Sequence[Mapping[str, Any]], key: str
    ) -> dict[Any, int]:
        """Insert rows (column values) of one table unless their unique keys are taken, in one cached
        statement; for each row inserted, its `key` column's value → the id the database gave it."""
        if not rows:
            return {}
        table = _table(model)
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        query = insert(table).on_conflict_do_nothing().returning(table.c[key], table.c.id)
        return {value: ident for value, ident in conn.execute(query, list(rows)).all()}

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
