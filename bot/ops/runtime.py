"""Starting the ops port: a reusable piece any process of the bot starts, and the runner's wiring.

`open_ops_port` is what every role calls (`mirrorbot run` today; the watch/copy/control roles of the
multi-process mode the same way): its `Metrics`, its `Readiness` checks and a `refresh` that brings
them up to date before each answer, on `MIRROR_METRICS_HOST:MIRROR_METRICS_PORT`.

`ops_observer` is `mirrorbot run`'s: an observer of the `Runner` (started before `start()`, so
`/readyz` answers, false, while a venue that is down is waited for; stopped after `stop()`), fed by
`RunnerFeed`. Off unless `MIRROR_METRICS_PORT` is set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.ops.feed import RunnerFeed
from bot.ops.health import Readiness
from bot.ops.metrics import Metrics
from bot.ops.server import OpsServer
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
    refresh: Callable[[], None] | None = None,
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


class RunnerOps:
    """The ops port of one `Runner`: its metrics, the feed that fills them, the server."""

    def __init__(self, runner: Runner, metrics: Metrics | None = None) -> None:
        self.metrics = metrics or Metrics()
        self.readiness = Readiness()
        self.feed = RunnerFeed(self.metrics, self.readiness, runner)
        self.server: OpsServer | None = None

    async def start(self, *, host: str, port: int) -> None:
        self.feed.start()
        try:
            self.server = await open_ops_port(
                self.metrics, self.readiness, host=host, port=port, refresh=self.feed.refresh
            )
        except BaseException:
            await self.feed.stop()
            raise

    @property
    def port(self) -> int:
        assert self.server is not None, "start() first"
        return self.server.port

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
        await self.feed.stop()


def ops_observer(settings: Settings) -> CompanionStarter:
    """`mirrorbot run`'s ops port as a `Runner` observer (nothing when MIRROR_METRICS_PORT is unset)."""

    async def start(runner: Runner) -> Companion | None:
        if settings.metrics_port is None:
            return None
        ops = RunnerOps(runner)
        await ops.start(host=settings.metrics_host, port=settings.metrics_port)
        return ops

    return start
