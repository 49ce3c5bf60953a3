"""The running bot's health, persisted for `mirrorbot status` and Telegram `/status` (other processes).

One `runner_health` ledger row (revision 0004) per runner name, rewritten in place every `heartbeat_s`
and at stop: the heartbeat time, the last reconciliation pass and what it did, the sync score per
follower, the dead-man switch's armed-until per follower, and the alerts of the last hour counted by
`kind/reason` (every fault is an alert with a stable reason code). The ledger rather than a file in the
data dir: the CLI and Telegram already read the ledger (which may be PostgreSQL on another host), not
the runner's data dir. A reader calls the runner "not running" once the heartbeat is older than
`STALE_BEATS` heartbeats, or when the row says it stopped (bot/service/runner_health.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bot.alerts import Alert, AlertBus
from bot.ledger import Ledger
from bot.ledger.models import RunnerHealth
from bot.ledger.types import decimal_text
from bot.logs import log_event
from bot.pipeline.readiness import Check, checks_doc
from bot.pipeline.reconcile import PassReport

log = logging.getLogger(__name__)

RUNNER_NAME = "runner"
WINDOW_MS = 3_600_000  # alert counts cover the last hour


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def wall_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


class HealthRecorder:
    def __init__(
        self,
        ledger: Ledger,
        alerts: AlertBus,
        scores: Callable[[], Mapping[str, Decimal | None]],
        *,
        heartbeat_s: float = 5.0,
        name: str = RUNNER_NAME,
        clock: Callable[[], int] = wall_ms,
        checks: Callable[[], Mapping[str, Check]] | None = None,
    ) -> None:
        self.ledger = ledger
        self.alerts = alerts
        self.scores = scores  # follower → sync score at the last pass (None: no pass yet)
        self.heartbeat_s = heartbeat_s
        self.name = name
        self.clock = clock
        self.checks = checks  # the runner's readiness (bot/pipeline/readiness.py), what /readyz says too
        self.started_ms = clock()
        self.last_pass: dict[str, Any] | None = None
        self.dead_man: dict[str, str] = {}  # follower → armed until (ISO UTC)
        # (ms, "kind/reason", follower or "") of the alerts in the window
        self._seen: deque[tuple[int, str, str]] = deque()
        self._queue: asyncio.Queue[Alert] | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._queue = self.alerts.subscribe()
        await self.write()
        self._task = asyncio.ensure_future(self._beat())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.write(stopped=True)
        if self._queue is not None:
            self.alerts.unsubscribe(self._queue)

    def reconciled(self, report: PassReport) -> None:
        self.last_pass = {
            "at": iso(report.at_ms),
            "orders": report.orders,
            "missed_changes": report.missed_changes,
            "manual_changes": report.manual_changes,
            "held_by_policy": report.held_by_policy,
            "unresolved_orders": report.unresolved_orders,
            "unknown_reads": list(report.unknown_reads),
        }

    def armed(self, follower: str, until_ms: int) -> None:
        self.dead_man[follower] = iso(until_ms)

    def alert_counts(self) -> dict[str, int]:
        """Alerts of the last hour by `kind/reason` (the queue drained first)."""
        self._drain()
        return dict(sorted(Counter(key for _, key, _ in self._seen).items()))

    def alert_counts_by_follower(self) -> dict[str, dict[str, int]]:
        """The same per follower ("" for alerts that concern no account), so a reader shows an owner
        only their own accounts' alerts."""
        self._drain()
        counts: dict[str, Counter[str]] = {}
        for _, key, follower in self._seen:
            counts.setdefault(follower, Counter())[key] += 1
        return {f: dict(sorted(c.items())) for f, c in sorted(counts.items())}

    def _drain(self) -> None:
        now = self.clock()
        if self._queue is not None:
            while not self._queue.empty():
                alert = self._queue.get_nowait()
                self._seen.append((now, f"{alert.kind.value}/{alert.reason}", alert.follower or ""))
        while self._seen and self._seen[0][0] < now - WINDOW_MS:
            self._seen.popleft()

    def doc(self) -> dict[str, Any]:
        return {
            "heartbeat_s": self.heartbeat_s,
            "last_reconcile": self.last_pass,
            "sync_score": {
                f: None if s is None else decimal_text(s) for f, s in sorted(self.scores().items())
            },
            "dead_man_switch": dict(sorted(self.dead_man.items())),
            "alerts_last_hour": self.alert_counts(),
            "readiness": None if self.checks is None else checks_doc(self.checks()),
            "alerts_last_hour_by_follower": self.alert_counts_by_follower(),
        }

    async def write(self, *, stopped: bool = False) -> None:
        now = datetime.fromtimestamp(self.clock() / 1000, UTC)
        row = RunnerHealth(
            name=self.name,
            started_at=datetime.fromtimestamp(self.started_ms / 1000, UTC),
            heartbeat_at=now,
            stopped_at=now if stopped else None,
            doc=self.doc(),
        )
        await self.ledger.save_runner_health(row)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            try:
                await self.write()
            except Exception as exc:  # health must never stop copying
                log_event(log, "health_write_failed", level=logging.WARNING, error=repr(exc))
