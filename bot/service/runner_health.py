"""The running bot's health as the service shows it: the runner's last health row (read by the
ledger, `Ledger.runner_health_row`) judged alive or gone, and its one-line text."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.ledger import Ledger

STALE_BEATS = 3  # a heartbeat older than this many heartbeats (and STALE_GRACE_S): the runner is gone
STALE_GRACE_S = 5.0


async def runner_health(ledger: Ledger, now: datetime, name: str = "runner") -> dict[str, Any]:
    """The running bot's health as it last wrote it (bot/pipeline/health.py), judged at `now`:
    `runner` is None when no runner ever wrote here, else its state (`running` / `not running`) with
    the times; the other keys are the runner's own (None when unknown)."""
    row = await ledger.runner_health_row(name)
    if row is None:
        return {
            "runner": None,
            "last_reconcile": None,
            "sync_score": None,
            "dead_man_switch": None,
            "readiness": None,
        }
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
        # The runner's readiness checks (bot/pipeline/readiness.py): what its ops port's /readyz says.
        "readiness": doc.get("readiness") if alive else None,
        "alerts_last_hour_by_follower": doc.get("alerts_last_hour_by_follower", {}),
    }


def readiness_line(readiness: Mapping[str, Any] | None) -> str:
    """`ready` or `not ready: venue (unreachable: ConnectError), …` (the failing checks), for text views."""
    if not readiness:
        return "unknown"
    checks = readiness.get("checks") or {}
    failing = [f"{name} ({c.get('detail')})" for name, c in checks.items() if not c.get("ok")]
    return "ready" if readiness.get("ready") and not failing else "not ready: " + ", ".join(failing)


def runner_line(runner: Mapping[str, Any] | None) -> str:
    """`running (heartbeat …)`, `not running (last seen …)` or `never started`, for text views."""
    if runner is None:
        return "never started (no heartbeat in this ledger)"
    seen = runner["last_seen"].strftime("%Y-%m-%d %H:%M:%S UTC")
    if runner["state"] == "running":
        return f"running (heartbeat {seen})"
    return f"not running (last seen {seen})"
