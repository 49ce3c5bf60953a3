"""The ledger's reads for the running pipeline: what start-up recovery and the reconciliation pass need
(each pair's latest decision, orders whose outcome was never recorded, filled orders without fills, the
trigger orders last seen resting) and the owner's controls in force. Read-only; part of `Ledger`.

The pipeline turns these rows into engine state (bot/pipeline/recovery.py); it runs no SQL itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import OrderStatus
from bot.ledger.base import LedgerBase
from bot.ledger.models import (
    CONTROL_RUNNING,
    OPEN_INTENT_STATUSES,
    ControlState,
    CopyInstruction,
    Fill,
    LeaderEvent,
    OrderIntent,
    VenueOrder,
)
from strategies.model import Reason

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class LatestDecision:
    """A pair's latest decision, and the raw source size after the newest source change the pair
    mirrored since it was (re)followed — None when the ledger cannot tell (no source change since)."""

    row: CopyInstruction
    source_size: Decimal | None


@dataclass(frozen=True, slots=True)
class RestingOrder:
    """An order the ledger last saw resting: its intent, its decision's source event id, its venue oid."""

    intent: OrderIntent
    source_event_id: str
    oid: int | None


class PipelineReads(LedgerBase):
    """Part of `Ledger` (bot/ledger/repository.py)."""

    async def latest_decisions(self, followers: Iterable[str]) -> list[LatestDecision]:
        """The latest decision of every (follower, coin) of `followers`, sorted by follower and coin."""
        out: list[LatestDecision] = []
        async with self._sessions() as session:
            keys = await session.exec(
                select(CopyInstruction.follower, CopyInstruction.coin)
                .where(col(CopyInstruction.follower).in_(sorted(set(followers))))
                .distinct()
            )
            for follower, coin in sorted(keys.all()):
                newest_first = (
                    select(CopyInstruction)
                    .where(CopyInstruction.follower == follower, CopyInstruction.coin == coin)
                    .order_by(col(CopyInstruction.created_at).desc(), col(CopyInstruction.revision).desc())
                )
                row = (await session.exec(newest_first.limit(1))).one()
                out.append(LatestDecision(row, await _source_size(session, row)))
        return out

    async def open_intents(self) -> list[OrderIntent]:
        """Intents whose outcome was never recorded (pending, submitted or unknown), oldest first."""
        async with self._sessions() as session:
            query = (
                select(OrderIntent)
                .where(col(OrderIntent.status).in_(sorted(OPEN_INTENT_STATUSES)))
                .order_by(col(OrderIntent.created_at), col(OrderIntent.id))
            )
            return list((await session.exec(query)).all())

    async def unrecorded_fill_orders(self, venue: str) -> list[tuple[OrderIntent, int]]:
        """Intents the venue answered as filled whose fills are not in the ledger, oldest first, each
        with its venue oid."""
        async with self._sessions() as session:
            query = (
                select(OrderIntent, VenueOrder.oid)
                .join(VenueOrder, col(VenueOrder.intent_id) == col(OrderIntent.id))
                .where(
                    VenueOrder.venue == venue,
                    col(VenueOrder.oid).is_not(None),
                    VenueOrder.status == OrderStatus.FILLED.value,
                )
                .where(~select(Fill.id).where(Fill.venue == venue, Fill.oid == VenueOrder.oid).exists())
            )
            rows = (await session.exec(query.order_by(col(OrderIntent.created_at)))).all()
            return [(intent, int(oid)) for intent, oid in rows if oid is not None]

    async def resting_orders(self, follower: str, event_kind: str) -> list[RestingOrder]:
        """The follower's orders of decisions of `event_kind` whose latest recorded status is resting,
        oldest first."""
        query = (
            select(OrderIntent, CopyInstruction.source_event_id, VenueOrder.oid)
            .join(CopyInstruction, col(CopyInstruction.id) == col(OrderIntent.instruction_id))
            .join(VenueOrder, col(VenueOrder.intent_id) == col(OrderIntent.id))
            .where(
                CopyInstruction.follower == follower,
                CopyInstruction.event_kind == event_kind,
                VenueOrder.status == OrderStatus.RESTING.value,
            )
            .order_by(col(OrderIntent.created_at))
        )
        async with self._sessions() as session:
            rows = (await session.exec(query)).all()
        return [RestingOrder(intent, event_id, oid) for intent, event_id, oid in rows]

    async def latest_controls(self, followers: Iterable[str] | None = None) -> dict[str, ControlState]:
        """Each follower's latest ControlState row (the one in force); followers never set are absent."""
        query = select(ControlState).order_by(col(ControlState.id))
        if followers is not None:
            query = query.where(col(ControlState.follower).in_(list(followers)))
        async with self._sessions() as session:
            return {row.follower: row for row in (await session.exec(query)).all()}

    async def control_states(self, followers: Iterable[str] | None = None) -> dict[str, str]:
        """Each follower's control state (running when never set)."""
        wanted = None if followers is None else list(followers)
        out = dict.fromkeys(wanted or [], CONTROL_RUNNING)
        out.update({f: row.state for f, row in (await self.latest_controls(wanted)).items()})
        return out


async def _source_size(session: AsyncSession, row: CopyInstruction) -> Decimal | None:
    pair = (
        CopyInstruction.follower == row.follower,
        CopyInstruction.coin == row.coin,
        CopyInstruction.source == row.source,
    )
    linked = (
        select(col(LeaderEvent.new_size), col(CopyInstruction.created_at))
        .select_from(CopyInstruction)
        .join(LeaderEvent, col(LeaderEvent.id) == col(CopyInstruction.leader_event_id))
        .where(*pair)
        .order_by(col(CopyInstruction.created_at).desc())
        .limit(1)
    )
    found = (await session.exec(linked)).first()
    followed = (
        select(CopyInstruction)
        .where(*pair, col(CopyInstruction.source_event_id).startswith("follow:"))
        .order_by(col(CopyInstruction.created_at).desc())
        .limit(1)
    )
    follow = (await session.exec(followed)).first()
    if found is not None and (follow is None or follow.created_at <= found[1]):
        return found[0]
    # No source change mirrored since the (re)follow: the follow's own decision tells the size only when
    # the source was flat then (the pair started flat, nothing to join or wait for) — a change the source
    # made since is then a missed change, not a position it held before the follow.
    return ZERO if follow is not None and _started_flat(follow) else None


def _started_flat(follow: CopyInstruction) -> bool:
    """Whether a follow decision is the engine's start of a pair whose source held nothing of the coin
    (strategies/engine.py `_start`: no transition, no reason beyond in-sync, τ 0 before and after)."""
    return (
        follow.target_before == 0
        and follow.target_after == 0
        and follow.delta == 0
        and follow.reason in (None, Reason.IN_SYNC.value)
    )
