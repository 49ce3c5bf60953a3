"""Start-up recovery: what the ledger knows of each pair, and of orders whose fate was not recorded.

Read-only queries over the ledger's tables (the Ledger API has no "latest per pair" read); the copier
turns them into engine state (`Copier.restore`) and settles the orders (`Copier.resume_open_intents`).
docs/decisions/reconcile.md says how a pair's state is derived from its latest decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import OrderRequest, Side, Tif
from bot.ledger import OPEN_INTENT_STATUSES, CopyInstruction, Fill, LeaderEvent, Ledger, OrderIntent
from bot.ledger.db import session_factory
from bot.ledger.models import VenueOrder
from strategies.model import PairState, Reason, Status

_UNTRACKED = frozenset({Reason.UNTRACKED.value})
_WAITING = frozenset({Reason.COPY_CURRENT_DEVIATION.value, Reason.ENTRY_PRICE_UNKNOWN.value})
_RELEASED = frozenset({Reason.DETACHED.value})


@dataclass(frozen=True, slots=True)
class PairRecord:
    """A pair as its latest decision left it. `source_size` is the raw source size that decision
    mirrored (from its source change), or None when the ledger cannot tell (a follow or plan decision
    not preceded by a source change: the source's size then is taken from the venue at start-up)."""

    follower: str
    source: str
    coin: str
    plan_version: int | None
    status: Status
    ratio: Decimal | None
    target: Decimal
    source_size: Decimal | None
    waiting_join: bool

    def state(self, effective_source_size: Decimal) -> PairState:
        return PairState(
            self.coin,
            self.source,
            self.status,
            self.ratio,
            effective_source_size,
            self.target,
            self.waiting_join,
        )


def _status(row: CopyInstruction) -> tuple[Status, bool] | None:
    """The pair's status after `row`; None when the decision released the pair (no pair left)."""
    if row.reason in _RELEASED or (row.event_kind == "unfollow" and row.target_after == 0):
        return None
    if row.target_after != 0:
        return Status.TRACKING, False
    if row.reason in _UNTRACKED:
        return Status.UNTRACKED, False
    if row.reason in _WAITING:
        return Status.UNTRACKED, True
    return Status.FLAT, False


async def latest_pairs(ledger: Ledger, followers: set[str]) -> list[PairRecord]:
    """The latest decision of every (follower, coin) of `followers`, as pair state."""
    out: list[PairRecord] = []
    async with session_factory(ledger.engine)() as session:
        keys = await session.exec(
            select(CopyInstruction.follower, CopyInstruction.coin)
            .where(col(CopyInstruction.follower).in_(sorted(followers)))
            .distinct()
        )
        for follower, coin in sorted(keys.all()):
            newest_first = (
                select(CopyInstruction)
                .where(CopyInstruction.follower == follower, CopyInstruction.coin == coin)
                .order_by(col(CopyInstruction.created_at).desc(), col(CopyInstruction.revision).desc())
            )
            row = (await session.exec(newest_first.limit(1))).one()
            status = _status(row)
            if status is None:
                continue
            out.append(
                PairRecord(
                    follower,
                    row.source,
                    coin,
                    row.plan_version,
                    status[0],
                    row.ratio,
                    row.target_after,
                    await _source_size(session, row),
                    status[1],
                )
            )
    return out


async def _source_size(session: AsyncSession, row: CopyInstruction) -> Decimal | None:
    """The source size after the newest source change this pair mirrored since it was (re)followed."""
    linked = (
        select(col(LeaderEvent.new_size), col(CopyInstruction.created_at))
        .select_from(CopyInstruction)
        .join(LeaderEvent, col(LeaderEvent.id) == col(CopyInstruction.leader_event_id))
        .where(
            CopyInstruction.follower == row.follower,
            CopyInstruction.coin == row.coin,
            CopyInstruction.source == row.source,
        )
        .order_by(col(CopyInstruction.created_at).desc())
        .limit(1)
    )
    found = (await session.exec(linked)).first()
    if found is None:
        return None
    size, at = found
    followed = (
        select(CopyInstruction.created_at)
        .where(
            CopyInstruction.follower == row.follower,
            CopyInstruction.coin == row.coin,
            CopyInstruction.source == row.source,
            col(CopyInstruction.source_event_id).startswith("follow:"),
        )
        .order_by(col(CopyInstruction.created_at).desc())
        .limit(1)
    )
    refollowed = (await session.exec(followed)).first()
    return None if refollowed is not None and refollowed > at else size


async def open_intents(ledger: Ledger) -> list[OrderIntent]:
    """Intents whose outcome was never recorded (pending, submitted or unknown), oldest first."""
    async with session_factory(ledger.engine)() as session:
        query = (
            select(OrderIntent)
            .where(col(OrderIntent.status).in_(sorted(OPEN_INTENT_STATUSES)))
            .order_by(col(OrderIntent.created_at), col(OrderIntent.id))
        )
        return list((await session.exec(query)).all())


def request_of_intent(intent: OrderIntent) -> OrderRequest:
    """The stored intent as the request it is (or was) sent as: same cloid, same bytes to sign."""
    return OrderRequest(
        intent.coin,
        intent.side == Side.BUY.value,
        intent.size,
        intent.limit_px,
        intent.reduce_only,
        Tif(intent.tif),
        intent.cloid,
    )


async def unrecorded_fill_orders(ledger: Ledger, venue: str) -> list[tuple[OrderIntent, int]]:
    """Intents the venue answered as filled whose fills are not in the ledger (a stop between the
    answer and the follower's batched fills read, `bot/pipeline/fills.py`), oldest first, each with its
    venue oid."""
    async with session_factory(ledger.engine)() as session:
        query = (
            select(OrderIntent, VenueOrder.oid)
            .join(VenueOrder, col(VenueOrder.intent_id) == col(OrderIntent.id))
            .where(VenueOrder.venue == venue, col(VenueOrder.oid).is_not(None), VenueOrder.status == "filled")
            .where(~select(Fill.id).where(Fill.venue == venue, Fill.oid == VenueOrder.oid).exists())
        )
        rows = (await session.exec(query.order_by(col(OrderIntent.created_at)))).all()
        return [(intent, int(oid)) for intent, oid in rows if oid is not None]
