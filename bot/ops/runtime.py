"""Starting the ops port: a reusable piece any process of the bot starts, and the runner's wiring.

`OpsPort` (over `open_ops_port`) is what every process starts: `mirrorbot run`, and the watch/copy/control
roles of the multi-process mode (bot/ops/roles.py): its `Metrics`, its `Readiness` checks and the feeds
that bring them up to date before each answer, on `MIRROR_METRICS_HOST:MIRROR_METRICS_PORT`.

`ops_observer` is `mirrorbot run`'s: an observer of the `Runner` (started before `start()`, so
`/readyz` answers, false, while a venue that is down is waited for; stopped after `stop()`), fed by
`RunnerFeed`. Off unless `MIRROR_METRICS_PORT` is set.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Protocol

from bot.config import Settings
from bot.ops.feed import RunnerFeed
from bot.ops.health import Readiness
from bot.ops.metrics import Metrics
from bot.ops.server import OpsServer, Refresh
from bot.pipeline.accounts import RunnerError
from bot.pipeline.runner_options import Companion, CompanionStarter

if TYPE_CHECKING:
    from bot.pipeline.runner import Runner


class OpsPortError(RunnerError):
    """The ops port cannot be opened (in use, no such interface): the message names the setting."""


async def open_ops_port(
    metrics: Metrics,
    readiness: Readiness,
    *,
    host: str,
    port: int,
    refresh: Refresh | None = None,
) -> OpsServer:
    """Serve /metrics, /healthz and /readyz on `host:port` (0: any free port, read back from `.port`)."""
    server = OpsServer(metrics, readiness, host=host, port=port, refresh=refresh)
    try:
        await server.start()
    except OSError as exc:
        await server.stop()
        raise OpsPortError(
            f"MIRROR_METRICS_PORT: cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from None
    return server


class Feed(Protocol):
    """What brings a process's metrics and readiness up to date: started with the port, refreshed
    before each answer (may await: a role reads its Redis), stopped after it."""

    def start(self) -> None: ...

    def refresh(self) -> Awaitable[None] | None: ...

    async def stop(self) -> None: ...


class OpsPort:
    """One process's ops port: its metrics, its readiness, its feeds (refreshed in order), the server."""

    def __init__(self, metrics: Metrics, readiness: Readiness, feeds: Sequence[Feed]) -> None:
        self.metrics, self.readiness, self.feeds = metrics, readiness, list(feeds)
        self.server: OpsServer | None = None

    async def refresh(self) -> None:
        for feed in self.feeds:
            done = feed.refresh()
            if done is not None:
                await done

    async def start(self, *, host: str, port: int) -> None:
        for feed in self.feeds:
            feed.start()
        try:
            self.server = await open_ops_port(
                self.metrics, self.readiness, host=host, port=port, refresh=self.refresh
            )
        except BaseException:
            await self._stop_feeds()
            raise

    @property
    def port(self) -> int:
        assert self.server is not None, "start() first"
        return self.server.port

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
        await self._stop_feeds()

    async def _stop_feeds(self) -> None:
        for feed in reversed(self.feeds):
            await feed.stop()


class RunnerOps(OpsPort):
    """The ops port of one `Runner`: its metrics, the feed that fills them, the server."""

    def __init__(self, runner: Runner, metrics: Metrics | None = None) -> None:
        metrics = metrics or Metrics()
        readiness = Readiness()
        self.feed = RunnerFeed(metrics, readiness, runner)
        super().__init__(metrics, readiness, [self.feed])


def ops_observer(settings: Settings) -> CompanionStarter:
    """`mirrorbot run`'s ops port as a `Runner` observer (nothing when MIRROR_METRICS_PORT is unset)."""

    async def start(runner: Runner) -> Companion | None:
        if settings.metrics_port is None:
            return None
        ops = RunnerOps(runner)
        await ops.start(host=settings.metrics_host, port=settings.metrics_port)
        return ops

    return start
