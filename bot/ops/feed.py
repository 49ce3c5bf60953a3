"""Feeds `Metrics` and `Readiness` from a running `mirrorbot run`, from outside its hot path.

Three sources, all the runner's own: the alert bus (every order answer, skip, deferral, guard, fault
and failure is an alert with a stable reason code, a pair's failure names its strategy — consumed by
one task); the copy's stopwatch (`Runner.clock`, bot/pipeline/lag.py: one histogram observation per
stage); and the runner's state, sampled when Prometheus scrapes (the last reconciliation pass, the
followers' sync scores, the dead-man switch's armed-until, the lease, the websockets, the venue's
weight budget, start-up's wait for the venue).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime
from typing import TYPE_CHECKING

from bot.alerts import Alert, AlertBus, AlertKind
from bot.faults import WS_DROPPED  # a websocket that closed or went silent (docs/faults.md)
from bot.ops.health import Readiness
from bot.ops.metrics import Metrics
from bot.pipeline.readiness import RUNNER_CHECKS

if TYPE_CHECKING:
    from bot.pipeline.copier import Copier
    from bot.pipeline.runner import Runner

_ORDER_RESULTS = {
    AlertKind.COPIED: "filled",
    AlertKind.REJECTED: "rejected",
    AlertKind.UNKNOWN_OUTCOME: "unknown",
}
_NOT_SENT = {AlertKind.SKIPPED: "skipped", AlertKind.DEFERRED: "deferred", AlertKind.GUARD: "guard"}
# The reconciliation pass's counts (HealthRecorder.last_pass) under the mismatch kinds of the metric.
_PASS_KEYS = {
    "missed_change": "missed_changes",
    "manual_change": "manual_changes",
    "held_by_policy": "held_by_policy",
    "unresolved_order": "unresolved_orders",
}


class RunnerFeed:
    def __init__(self, metrics: Metrics, readiness: Readiness, runner: Runner) -> None:
        self.metrics = metrics
        self.readiness = readiness
        self.alerts: AlertBus = runner.alerts
        self.runner = runner
        self._queue: asyncio.Queue[Alert] | None = None
        self._task: asyncio.Task[None] | None = None
        self._weight_seen = 0
        self._last_pass: object = None
        for name in RUNNER_CHECKS:
            readiness.register(name)

    def start(self) -> None:
        self._queue = self.alerts.subscribe()
        self._task = asyncio.ensure_future(self._consume(self._queue))
        self.runner.clock.listeners.append(self.metrics.lag_observed)

    async def stop(self) -> None:
        if self.metrics.lag_observed in self.runner.clock.listeners:
            self.runner.clock.listeners.remove(self.metrics.lag_observed)
        if self._queue is not None:
            self.drain()
            self.alerts.unsubscribe(self._queue)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _consume(self, queue: asyncio.Queue[Alert]) -> None:
        while True:
            self.count(await queue.get())

    def drain(self) -> None:
        if self._queue is not None:
            while not self._queue.empty():
                self.count(self._queue.get_nowait())

    def count(self, alert: Alert) -> None:
        m = self.metrics
        m.alerts.labels(alert.kind.value, alert.reason).inc()
        if (result := _ORDER_RESULTS.get(alert.kind)) is not None:
            m.order_answered(result, alert.reason)
        elif (outcome := _NOT_SENT.get(alert.kind)) is not None:
            m.decisions.labels(outcome, alert.reason).inc()
        elif alert.kind is AlertKind.FAULT and alert.reason == WS_DROPPED:
            m.ws_reconnects.inc()
        elif alert.kind is AlertKind.FAILURE:
            m.pipeline_errors.labels(alert.reason).inc()
            if (strategy := alert.details.get("strategy")) is not None:  # a pair's decision or order
                m.strategy_errors.labels(str(strategy)).inc()

    # --- sampled at each scrape ------------------------------------------------------------------

    def refresh(self) -> None:
        self.drain()
        self.metrics.heartbeat.set(time.time())
        copier = self.runner.copier
        if copier is not None:
            self._copier(copier)
        self._reconciled()
        self._venue()
        self.readiness.update(self.runner.checks())  # the facts status and /health read too

    def _copier(self, copier: Copier) -> None:
        m = self.metrics
        desks = copier.desks
        m.followers.set(len(desks))
        m.followers_out_of_sync.set(sum(1 for d in desks.values() if d.out_of_sync))

    def _reconciled(self) -> None:
        health = self.runner.health
        if health is None:
            return
        last = health.last_pass
        if last is None or last is self._last_pass:
            return
        self._last_pass = last
        mismatches = {kind: int(last.get(key) or 0) for kind, key in _PASS_KEYS.items()}
        mismatches["unknown_read"] = len(last.get("unknown_reads") or ())
        scores = [float(s) for s in health.scores().values() if s is not None]
        self.metrics.reconciled(mismatches, int(last.get("orders", 0)), scores)

    def _venue(self) -> None:
        venue = self.runner._venue  # None until start() built it
        budget = getattr(venue, "budget", None)  # the Hyperliquid client's weight budget
        if budget is not None:
            self.metrics.weight_budget.set(budget.limit_per_minute)
            granted = int(budget.granted)
            if granted > self._weight_seen:
                self.metrics.weight_used.inc(granted - self._weight_seen)
            self._weight_seen = granted
        health = self.runner.health
        if health is not None and health.dead_man:
            until = min(datetime.fromisoformat(t).timestamp() for t in health.dead_man.values())
            self.metrics.dead_man_until.set(until)
