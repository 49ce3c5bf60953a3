"""Lineage: the whole chain behind one fill or order, read from the ledger alone.

LeaderEvent → CopyInstruction (+ the FollowPlan version it used) → OrderIntent → VenueOrder (+ its
status history) → Fills → PositionSnapshots taken from those fills.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.ledger.models import (
    CopyInstruction,
    Fill,
    FollowPlan,
    LeaderEvent,
    OrderIntent,
    PositionSnapshot,
    VenueOrder,
    VenueOrderStatus,
)

_CLOID = re.compile(r"^0x[0-9a-f]{32}$")
_INSTRUCTION = re.compile(r"^[0-9a-f]{64}$")
_PREFIXES = ("tid", "oid", "cloid", "instruction")


@dataclass(frozen=True, slots=True)
class Lineage:
    """One chain. Any link may be missing: a manual trade has no decision, a deferred decision no order."""

    leader_event: LeaderEvent | None
    plan: FollowPlan | None
    instruction: CopyInstruction | None
    intent: OrderIntent | None
    order: VenueOrder | None
    statuses: tuple[VenueOrderStatus, ...]
    fills: tuple[Fill, ...]
    snapshots: tuple[PositionSnapshot, ...]
    focus_fill_id: int | None = None  # the fill the question was about, when it was a fill

    @property
    def key(self) -> tuple[str | None, int | None]:
        return (self.instruction.id if self.instruction else None, self.focus_fill_id)


async def find_lineages(session: AsyncSession, ref: str) -> list[Lineage]:
    """The chains `ref` names (see `Ledger.lineage`), without duplicates."""
    ref = ref.strip()
    kind, sep, value = ref.partition(":")
    if not (sep and kind.lower() in _PREFIXES):
        kind, value = "", ref
    kind, value = kind.lower(), value.strip()
    found: list[Lineage] = []
    if kind in ("", "cloid") and _CLOID.match(value.lower()):
        found += await _from_cloid(session, value.lower())
    if kind in ("", "instruction") and _INSTRUCTION.match(value.lower()):
        decision = await session.get(CopyInstruction, value.lower())
        if decision is not None:
            found.append(await _from_instruction(session, decision))
    if kind in ("", "tid"):
        for fill in (
            await session.exec(select(Fill).where(Fill.trade_id == value).order_by(col(Fill.id)))
        ).all():
            found.append(await _from_fill(session, fill))
    if kind in ("", "oid") and value.isdigit():
        by_oid = select(VenueOrder).where(VenueOrder.oid == int(value)).order_by(col(VenueOrder.id))
        for order in (await session.exec(by_oid)).all():
            intent = await session.get(OrderIntent, order.intent_id)
            if intent is not None:
                found.append(await _from_intent(session, intent))
        if not found:  # a fill whose order we never recorded (e.g. a manual trade)
            orphans = select(Fill).where(Fill.oid == int(value)).order_by(col(Fill.id))
            found += [await _from_fill(session, fill) for fill in (await session.exec(orphans)).all()]
    unique: dict[tuple[str | None, int | None], Lineage] = {}
    for item in found:
        unique.setdefault(item.key, item)
    return list(unique.values())


async def lineages_between(session: AsyncSession, since: datetime, until: datetime) -> list[Lineage]:
    """The chain of every decision recorded in [since, until), oldest first (the audit export)."""
    query = (
        select(CopyInstruction)
        .where(col(CopyInstruction.created_at) >= since, col(CopyInstruction.created_at) < until)
        .order_by(col(CopyInstruction.created_at), col(CopyInstruction.id))
    )
    return [await _from_instruction(session, decision) for decision in (await session.exec(query)).all()]


async def _from_cloid(session: AsyncSession, cloid: str) -> list[Lineage]:
    intent = (await session.exec(select(OrderIntent).where(OrderIntent.cloid == cloid))).first()
    if intent is not None:
        return [await _from_intent(session, intent)]
    decision = (await session.exec(select(CopyInstruction).where(CopyInstruction.cloid == cloid))).first()
    if decision is not None:
        return [await _from_instruction(session, decision)]
    fills = (await session.exec(select(Fill).where(Fill.cloid == cloid).order_by(col(Fill.id)))).all()
    return [await _from_fill(session, fill) for fill in fills]


async def _from_fill(session: AsyncSession, fill: Fill) -> Lineage:
    order = None
    if fill.oid is not None:
        query = select(VenueOrder).where(VenueOrder.venue == fill.venue, VenueOrder.oid == fill.oid)
        order = (await session.exec(query)).first()
    intent = await session.get(OrderIntent, order.intent_id) if order is not None else None
    if intent is None and fill.cloid:
        intent = (await session.exec(select(OrderIntent).where(OrderIntent.cloid == fill.cloid))).first()
    if intent is None:
        snapshots = await _snapshots(session, [fill])
        return Lineage(None, None, None, None, order, (), (fill,), snapshots, focus_fill_id=fill.id)
    chain = await _from_intent(session, intent)
    fills = chain.fills if any(f.id == fill.id for f in chain.fills) else (*chain.fills, fill)
    snapshots = chain.snapshots if fills is chain.fills else await _snapshots(session, fills)
    return Lineage(
        chain.leader_event,
        chain.plan,
        chain.instruction,
        chain.intent,
        chain.order,
        chain.statuses,
        fills,
        snapshots,
        focus_fill_id=fill.id,
    )


async def _from_instruction(session: AsyncSession, decision: CopyInstruction) -> Lineage:
    intent = (
        await session.exec(select(OrderIntent).where(OrderIntent.instruction_id == decision.id))
    ).first()
    if intent is not None:
        return await _from_intent(session, intent)
    event, plan = await _origins(session, decision)
    return Lineage(event, plan, decision, None, None, (), (), ())


async def _from_intent(session: AsyncSession, intent: OrderIntent) -> Lineage:
    decision = await session.get(CopyInstruction, intent.instruction_id)
    event, plan = await _origins(session, decision) if decision is not None else (None, None)
    order = (await session.exec(select(VenueOrder).where(VenueOrder.intent_id == intent.id))).first()
    statuses: tuple[VenueOrderStatus, ...] = ()
    match: ColumnElement[bool] = col(Fill.cloid) == intent.cloid
    if order is not None:
        query = (
            select(VenueOrderStatus)
            .where(VenueOrderStatus.venue_order_id == order.id)
            .order_by(col(VenueOrderStatus.time), col(VenueOrderStatus.id))
        )
        statuses = tuple((await session.exec(query)).all())
        if order.oid is not None:
            match = or_(match, (col(Fill.venue) == order.venue) & (col(Fill.oid) == order.oid))
    fills = tuple(
        (await session.exec(select(Fill).where(match).order_by(col(Fill.time), col(Fill.id)))).all()
    )
    snapshots = await _snapshots(session, fills)
    return Lineage(event, plan, decision, intent, order, statuses, fills, snapshots)


async def _origins(
    session: AsyncSession, decision: CopyInstruction
) -> tuple[LeaderEvent | None, FollowPlan | None]:
    event = None
    if decision.leader_event_id is not None:
        event = await session.get(LeaderEvent, decision.leader_event_id)
    plan = None
    if decision.plan_version is not None:
        query = select(FollowPlan).where(
            FollowPlan.follower == decision.follower,
            FollowPlan.source == decision.source,
            FollowPlan.version == decision.plan_version,
        )
        plan = (await session.exec(query)).first()
    return event, plan


async def _snapshots(session: AsyncSession, fills: Sequence[Fill]) -> tuple[PositionSnapshot, ...]:
    ids = [f.id for f in fills if f.id is not None]
    if not ids:
        return ()
    query = (
        select(PositionSnapshot)
        .where(col(PositionSnapshot.fill_id).in_(ids))
        .order_by(col(PositionSnapshot.time), col(PositionSnapshot.id))
    )
    return tuple((await session.exec(query)).all())
