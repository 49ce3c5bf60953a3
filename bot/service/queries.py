"""Read-only ledger queries the Ledger API does not offer (counts, latest decisions, latest targets).

Thin helpers over the ledger's own tables and session factory; they belong here rather than in
bot/ledger (another owner) and could move there unchanged.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select

from bot.ledger import CopyInstruction, Fill, IntentStatus, LeaderEvent, Ledger, OrderIntent
from bot.ledger.db import session_factory
from strategies.model import Reason


async def counts(ledger: Ledger) -> dict[str, int]:
    """How many leader events, decisions, orders (intents), rejected orders, fills and deferrals."""
    queries = {
        "leader_events": select(func.count()).select_from(LeaderEvent),
        "decisions": select(func.count()).select_from(CopyInstruction),
        "orders": select(func.count()).select_from(OrderIntent),
        "rejected": select(func.count())
        .select_from(OrderIntent)
        .where(OrderIntent.status == IntentStatus.REJECTED.value),
        "fills": select(func.count()).select_from(Fill),
        "deferrals": select(func.count())
        .select_from(CopyInstruction)
        .where(CopyInstruction.reason == Reason.DEFERRED_MIN_NOTIONAL.value),
    }
    async with session_factory(ledger.engine)() as session:
        return {name: int((await session.exec(query)).one()) for name, query in queries.items()}


async def last_decisions(ledger: Ledger, limit: int = 10) -> list[CopyInstruction]:
    query = (
        select(CopyInstruction)
        .order_by(col(CopyInstruction.created_at).desc(), col(CopyInstruction.id))
        .limit(limit)
    )
    async with session_factory(ledger.engine)() as session:
        return list((await session.exec(query)).all())


async def last_leader_event_time(ledger: Ledger) -> datetime | None:
    async with session_factory(ledger.engine)() as session:
        moment: datetime | None = (await session.exec(select(func.max(LeaderEvent.received_at)))).one()
        return moment


async def latest_target(ledger: Ledger, follower: str, source: str, coin: str) -> CopyInstruction | None:
    """The most recent decision for (follower, source, coin): its `target_after` is τ now."""
    query = (
        select(CopyInstruction)
        .where(
            CopyInstruction.follower == follower,
            CopyInstruction.source == source,
            CopyInstruction.coin == coin,
        )
        .order_by(col(CopyInstruction.created_at).desc(), col(CopyInstruction.revision).desc())
        .limit(1)
    )
    async with session_factory(ledger.engine)() as session:
        return (await session.exec(query)).first()
