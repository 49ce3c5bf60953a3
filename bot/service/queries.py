"""Read-only ledger queries the Ledger API does not offer (counts, latest decisions, latest targets,
the running bot's health).

Thin helpers over the ledger's own tables and session factory; they belong here rather than in
bot/ledger (another owner) and could move there unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from bot.ledger import CopyInstruction, Fill, IntentStatus, LeaderEvent, Ledger, OrderIntent
from bot.ledger.db import session_factory
from bot.ledger.models import RunnerHealth
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


STALE_BEATS = 3  # a heartbeat older than this many heartbeats (and STALE_GRACE_S): the runner is gone
STALE_GRACE_S = 5.0


async def runner_health(ledger: Ledger, now: datetime, name: str = "runner") -> dict[str, Any]:
    """The running bot's health as it last wrote it (bot/pipeline/health.py), judged at `now`:
    `runner` is None when no runner ever wrote here, else its state (`running` / `not running`) with
    the times; the other keys are the runner's own (None when unknown)."""
    async with session_factory(ledger.engine)() as session:
        row = await session.get(RunnerHealth, name)
    if row is None:
        return {"runner": None, "last_reconcile": None, "sync_score": None, "dead_man_switch": None}
    doc: dict[str, Any] = row.doc or {}
    stale_s = STALE_BEATS * float(doc.get("heartbeat_s", 5.0)) + STALE_GRACE_S
    alive = row.stopped_at is None and (now - row.heartbeat_at).total_seconds() <= stale_s
    return {
        "runner": {
            "state": "running" if alive else "not running",
            "last_seen": row.heartbeat_at,
            "started_at": row.started_at,
            "stopped_at": row.stopped_at,
        },
        "last_reconcile": doc.get("last_reconcile"),
        "sync_score": doc.get("sync_score"),
        "dead_man_switch": doc.get("dead_man_switch"),
        "alerts_last_hour": doc.get("alerts_last_hour", {}),
    }


def runner_line(runner: Mapping[str, Any] | None) -> str:
    """`running (heartbeat …)`, `not running (last seen …)` or `never started`, for text views."""
    if runner is None:
        return "never started (no heartbeat in this ledger)"
    seen = runner["last_seen"].strftime("%Y-%m-%d %H:%M:%S UTC")
    if runner["state"] == "running":
        return f"running (heartbeat {seen})"
    return f"not running (last seen {seen})"
