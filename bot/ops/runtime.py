"""The ops port of one `mirrorbot run`: metrics, the feed that fills them, the HTTP server.

Started before the runner contacts its venue (so `/readyz` answers, false, while a venue that is down
is waited for) and stopped after it. Off unless `MIRROR_METRICS_PORT` is set."""

from __future__ import annotations

from typing import Any

from bot.ops.feed import RunnerFeed
from bot.ops.metrics import Metrics
from bot.ops.server import OpsServer


class OpsPortError(Exception):
    """The ops port cannot be opened (in use, no such interface): the message names the setting."""


class Ops:
    def __init__(self, runner: Any, *, host: str, port: int, metrics: Metrics | None = None) -> None:
        self.metrics = metrics or Metrics()
        self.feed = RunnerFeed(self.metrics, runner.readiness, runner.alerts, runner)
        self.server = OpsServer(
            self.metrics, runner.readiness, host=host, port=port, refresh=self.feed.refresh
        )

    async def start(self) -> None:
        self.feed.start()
        try:
            await self.server.start()
        except BaseException:
            await self.feed.stop()
            raise

    async def stop(self) -> None:
        await self.server.stop()
        await self.feed.stop()


async def start_ops(runner: Any) -> Ops | None:
    """The runner's ops port when MIRROR_METRICS_PORT is set (None otherwise)."""
    settings = runner.settings
    if settings.metrics_port is None:
        return None
    ops = Ops(runner, host=settings.metrics_host, port=settings.metrics_port)
    try:
        await ops.start()
    except OSError as exc:
        where = f"{settings.metrics_host}:{settings.metrics_port}"
        raise OpsPortError(f"MIRROR_METRICS_PORT: cannot listen on {where}: {exc.strerror or exc}") from None
    return ops
