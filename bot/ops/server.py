"""The ops port (`MIRROR_METRICS_PORT`, loopback unless `MIRROR_METRICS_HOST` says otherwise):
`GET /metrics` (Prometheus text format), `GET /healthz` (alive), `GET /readyz` (200 ready / 503 not,
with each check as JSON). Nothing on it changes anything, and no account address is on it."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.logs import log_event
from bot.ops.health import Readiness
from bot.ops.metrics import CONTENT_TYPE_LATEST, Metrics
from bot.redaction import redact_text

log = logging.getLogger(__name__)

REFRESH_TIMEOUT_S = 3.0  # a refresh that reads a remote store (a role's Redis) never hangs a scrape
Refresh = Callable[[], Awaitable[None] | None]


class OpsServer:
    def __init__(
        self,
        metrics: Metrics,
        readiness: Readiness,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        refresh: Refresh | None = None,
    ) -> None:
        self.metrics = metrics
        self.readiness = readiness
        self.host = host
        self.port = port  # 0: any free port (the bound one is here after start)
        self.refresh = refresh  # brings the sampled metrics and the checks up to date before an answer
        self._runner: web.AppRunner | None = None

    async def _refresh(self) -> None:
        if self.refresh is not None:
            try:
                done = self.refresh()
                if inspect.isawaitable(done):
                    await asyncio.wait_for(done, REFRESH_TIMEOUT_S)
            except Exception as exc:  # a scrape must never break on one stale fact
                log_event(log, "metrics_refresh_failed", level=logging.WARNING, error=redact_text(repr(exc)))
        self.metrics.ready.set(1 if self.readiness.ready else 0)
        for name, check in self.readiness.checks.items():
            self.metrics.readiness.labels(name).set(1 if check.ok else 0)

    async def _metrics(self, _: web.Request) -> web.Response:
        await self._refresh()
        body = self.metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.json_response({"alive": True})

    async def _readyz(self, _: web.Request) -> web.Response:
        await self._refresh()
        doc = self.readiness.doc()
        return web.Response(
            text=json.dumps(doc, sort_keys=True),
            status=200 if doc["ready"] else 503,
            content_type="application/json",
        )

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]
        log_event(log, "metrics_listening", host=self.host, port=self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
