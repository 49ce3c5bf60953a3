"""The ops port of a role of the multi-process mode (`mirrorbot watch`, `copy`, `control`): the port of
`mirrorbot run` (`OpsPort`, `MIRROR_METRICS_PORT` on `MIRROR_METRICS_HOST`) with the role's checks and its
`ClusterMetrics`; a copy worker runs `run`'s pipeline, so its port carries `run`'s feed too (orders,
latency, alerts …). `role_observer` is what the commands hand `run_role`, as `run` hands its runner
`ops_observer`.

At each scrape `RoleFeed` asks Redis (a ping, then `XINFO GROUPS` of every stream in one round trip: the
numbers `mirrorbot cluster status` shows) and reads the process's heartbeat, leases and bus counters. A
copy worker reports its own consumer group's streams; a watcher and the control process every group's
(so the backlog of a worker that died stays visible).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from bot.bus.streams import Bus
from bot.config import Settings
from bot.ops.feed import RunnerFeed
from bot.ops.health import Readiness
from bot.ops.metrics import ClusterMetrics, Metrics
from bot.ops.runtime import Feed, OpsPort
from bot.pipeline.readiness import Check
from bot.pipeline.runner import Runner


class View(Protocol):
    """What a role shows its port (bot/cluster/health.py `RoleView`)."""

    @property
    def bus(self) -> Bus: ...
    @property
    def group(self) -> str | None: ...
    @property
    def kind(self) -> str | None: ...
    @property
    def held(self) -> int: ...
    @property
    def moves(self) -> Mapping[str, int]: ...
    @property
    def heartbeat_age_s(self) -> float: ...
    @property
    def checks(self) -> Callable[[], Mapping[str, Check]]: ...
    @property
    def published(self) -> Callable[[], int]: ...
    @property
    def consumed(self) -> Callable[[], int]: ...


class Observed(Protocol):
    def view(self) -> View: ...


class RoleFeed:
    """Brings a role's `ClusterMetrics` and readiness up to date at each scrape."""

    def __init__(self, metrics: Metrics, readiness: Readiness, view: View) -> None:
        assert metrics.cluster is not None, "Metrics(cluster=True)"
        self.heartbeat = metrics.heartbeat
        self.metrics: ClusterMetrics = metrics.cluster
        self.readiness, self.view = readiness, view
        self._reported: Counter[str] = Counter()  # what each counter holds already
        readiness.update(view.checks())  # the names, failing until known

    def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def refresh(self) -> None:
        view, m = self.view, self.metrics
        m.stream_lag.clear()  # a group or stream gone (or a Redis that is down) shows no sample
        m.stream_pending.clear()
        if await view.bus.ping():
            try:
                lags = await view.bus.lags()
            except Exception as exc:
                view.bus.saw(exc)
            else:
                for group, streams in lags.items():
                    if view.group is not None and group != view.group:
                        continue
                    for g in streams:
                        m.stream_pending.labels(group, g.stream).set(g.pending)
                        if g.lag is not None:  # unknown after entries were deleted: no sample
                            m.stream_lag.labels(group, g.stream).set(g.lag)
        if (kind := view.kind) is not None:
            m.leases_held.labels(kind).set(view.held)
            for change, count in view.moves.items():
                self._add(m.lease_changes.labels(kind, change).inc, f"lease:{change}", count)
        self._add(m.bus_published.inc, "published", view.published())
        self._add(m.bus_consumed.inc, "consumed", view.consumed())
        m.heartbeat_age.set(view.heartbeat_age_s)
        self.heartbeat.set(time.time())
        self.readiness.update(view.checks())

    def _add(self, inc: Callable[[float], None], key: str, total: int) -> None:
        """Move a counter up to a running total the process keeps."""
        if total > self._reported[key]:
            inc(total - self._reported[key])
            self._reported[key] = total


def role_observer(settings: Settings) -> Callable[[Observed], Awaitable[OpsPort | None]]:
    """A role's ops port (nothing when MIRROR_METRICS_PORT is unset), started before the role, so
    `/readyz` answers, false, while it starts, and stopped after it."""

    async def start(role: Observed) -> OpsPort | None:
        if settings.metrics_port is None:
            return None
        metrics, readiness = Metrics(cluster=True), Readiness()
        # The role's feed first: it asks Redis, which the checks then read.
        feeds: list[Feed] = [RoleFeed(metrics, readiness, role.view())]
        if isinstance(role, Runner):  # a copy worker: `run`'s pipeline, `run`'s metrics
            feeds.append(RunnerFeed(metrics, readiness, role))
        ops = OpsPort(metrics, readiness, feeds)
        await ops.start(host=settings.metrics_host, port=settings.metrics_port)
        return ops

    return start
