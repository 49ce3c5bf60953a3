"""The ledger's reads for the running pipeline: what start-up recovery and the reconciliation pass need
(each pair's latest decision, orders whose outcome was never recorded, filled orders without fills, the
trigger orders last seen resting) and the owner's controls in force. Read-only; part of `Ledger`.

The pipeline turns these rows into engine state (bot/pipeline/recovery.py); it runs no SQL itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Subquery, and_, func
from sqlalchemy import select as core_select
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from bot.domain import OrderStatus
from bot.ledger.base import LedgerBase, _chunks
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
        """The latest decision of every (follower, coin) of `followers`, sorted by follower and coin. One
        statement per 500 followers, whatever their pairs: a worker gaining 1,000 followers read three
        per pair (issue #15)."""
        wanted = sorted(set(followers))
        out: list[LatestDecision] = []
        async with self._sessions() as session:
            for chunk in _chunks(wanted):
                if chunk:
                    rows = (await session.exec(_latest_query(chunk))).all()
                    out += [LatestDecision(row, _source_size(*found)) for row, *found in rows]
        return sorted(out, key=lambda latest: (latest.row.follower, latest.row.coin))

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
        return (await self.resting_orders_of([follower], event_kind)).get(follower, [])

    async def resting_orders_of(
        self, followers: Iterable[str], event_kind: str
    ) -> dict[str, list[RestingOrder]]:
        """`resting_orders` of each of `followers` (those with none are absent), one statement per 500
        followers: the followers a runner loads are looked up together, not one query each."""
        out: dict[str, list[RestingOrder]] = {}
        async with self._sessions() as session:
            for chunk in _chunks(sorted(set(followers))):
                if not chunk:
                    continue
                query = (
                    select(
                        OrderIntent,
                        col(CopyInstruction.follower),
                        col(CopyInstruction.source_event_id),
                        col(VenueOrder.oid),
                    )
                    .join(CopyInstruction, col(CopyInstruction.id) == col(OrderIntent.instruction_id))
                    .join(VenueOrder, col(VenueOrder.intent_id) == col(OrderIntent.id))
                    .where(
                        col(CopyInstruction.follower).in_(chunk),
                        CopyInstruction.event_kind == event_kind,
                        VenueOrder.status == OrderStatus.RESTING.value,
                    )
                    .order_by(col(OrderIntent.created_at))
                )
                for intent, follower, event_id, oid in (await session.exec(query)).all():
                    out.setdefault(follower, []).append(RestingOrder(intent, event_id, oid))
        return out

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


def _ranked(*columns: Any, partition: Sequence[Any], where: Sequence[Any]) -> Subquery:
    """`columns` of the decisions matching `where`, each ranked newest first (1) within `partition`."""
    newest_first = (
        col(CopyInstruction.created_at).desc(),
        col(CopyInstruction.revision).desc(),
        col(CopyInstruction.id).desc(),
    )
    rank = func.row_number().over(partition_by=partition, order_by=newest_first).label("rank")
    return core_select(*columns, rank).where(*where).subquery()


def _latest_query(followers: Sequence[str]) -> Any:
    """Each (follower, coin)'s latest decision, with the newest source change its (follower, coin,
    source) mirrored (the leader event's size and the decision's time) and its newest follow decision."""
    ci = CopyInstruction
    mine = col(ci.follower).in_(followers)
    pair = (col(ci.follower), col(ci.coin))
    triple = (*pair, col(ci.source))
    latest_rows = _ranked(ci, partition=pair, where=[mine])
    latest = aliased(CopyInstruction, latest_rows)
    linked = _ranked(
        col(ci.follower),
        col(ci.coin),
        col(ci.source),
        col(LeaderEvent.new_size).label("size"),
        col(ci.created_at).label("at"),
        partition=triple,
        where=[mine, col(LeaderEvent.id) == col(ci.leader_event_id)],
    )
    follow_rows = _ranked(ci, partition=triple, where=[mine, col(ci.source_event_id).startswith("follow:")])
    follow = aliased(CopyInstruction, follow_rows)

    def same_pair(other: Any) -> Any:
        return and_(
            other.follower == latest.follower, other.coin == latest.coin, other.source == latest.source
        )

    return (
        select(latest, linked.c.size, linked.c.at, follow)
        .outerjoin(linked, and_(same_pair(linked.c), linked.c.rank == 1))
        .outerjoin(follow, and_(same_pair(follow), follow_rows.c.rank == 1))
        .where(latest_rows.c.rank == 1)
    )


def _source_size(
    linked_size: Decimal | None, linked_at: datetime | None, follow: CopyInstruction | None
) -> Decimal | None:
    """The raw source size the pair mirrored last: its newest source change's, unless it was
    (re)followed since."""
    mirrored = linked_size is not None and linked_at is not None
    if mirrored and (follow is None or follow.created_at <= linked_at):  # type: ignore[operator]
        return linked_size
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
