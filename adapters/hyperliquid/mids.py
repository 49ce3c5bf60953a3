"""Mids from the websocket's `allMids` subscription, so pricing a copy needs no HTTP read.

The venue pushes `allMids` whenever a mid changes (and a snapshot right after the subscription), so
while the subscription is live the last message holds the current mids. "Live" is what `mids()`
checks, and anything else is stale — the caller then reads `allMids` over HTTP:
- connected and subscribed, with a snapshot received on THIS connection (mids from a previous
  connection are dropped the moment it is lost: a gap could hide changes);
- heard from within `max_silence_s`: the feed pings every `ping_interval_s` of silence, and any
  message (a push or the venue's pong) counts, so a quiet market stays live but a dead connection
  that has not said so is stale after `max_silence_s` (default two ping intervals: 10 s).
On a loss the feed reconnects after the same capped, jittered backoff as the fills socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Final

import aiohttp

from adapters.hyperliquid.parsing import ParseError, parse_all_mids
from adapters.hyperliquid.ws import PING_TEXT, Backoff
from bot.domain import wirejson

__all__ = ["MIDS_PING_INTERVAL_S", "MidsFeed"]

log = logging.getLogger(__name__)

MIDS_PING_INTERVAL_S: Final = 5.0  # short: silence is what tells a dead connection from a quiet market
SUBSCRIBE: Final = json.dumps({"method": "subscribe", "subscription": {"type": "allMids"}})


def subscribe_text(dex: str = "") -> str:
    """The `allMids` subscription of one perp dex (a builder dex's mids come on a stream of its own)."""
    return (
        SUBSCRIBE
        if not dex
        else json.dumps({"method": "subscribe", "subscription": {"type": "allMids", "dex": dex}})
    )


class MidsFeed:
    """A reconnecting `allMids` subscription of perp dex `dex`; `mids()` is the current mids, or None
    when stale."""

    def __init__(
        self,
        url: str,
        *,
        ping_interval_s: float = MIDS_PING_INTERVAL_S,
        max_silence_s: float | None = None,
        backoff: Backoff | None = None,
        clock: Callable[[], float] | None = None,
        dex: str = "",
    ) -> None:
        self.url = url
        self.dex = dex
        self.ping_interval_s = ping_interval_s
        self.max_silence_s = 2 * ping_interval_s if max_silence_s is None else max_silence_s
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._mids: dict[str, Decimal] | None = None  # None: no snapshot on the current connection
        self._heard = 0.0
        self._task: asyncio.Task[None] | None = None
        self.updates = 0  # allMids messages taken (tests, health)
        self.connects = 0
        self.updated = asyncio.Event()  # set at every update (tests await it; nobody needs to clear it)

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def start(self) -> None:
        """Run the subscription in the background (idempotent); `close` stops it."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="hyperliquid-mids")

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def mids(self) -> dict[str, Decimal] | None:
        """The current mids while the feed is live (see the module docstring), else None."""
        if self._mids is None or self._now() - self._heard > self.max_silence_s:
            return None
        return self._mids

    async def close(self) -> None:
        task, self._task = self._task, None
        self._mids = None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        attempt = 0
        async with aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10)
        ) as session:
            while True:
                try:
                    async with session.ws_connect(self.url, autoping=True, heartbeat=None) as ws:
                        await ws.send_str(subscribe_text(self.dex))
                        self._heard = self._now()
                        self.connects += 1
                        attempt = 0
                        await self._read(ws)
                except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                    log.warning("mids feed %s lost: %s: %s", self.url, type(exc).__name__, exc)
                finally:
                    self._mids = None  # never priced on what a lost connection last said
                await asyncio.sleep(self._backoff.delay(attempt))
                attempt += 1

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while True:
            silent_for = self._now() - self._heard
            try:
                message = await ws.receive(timeout=max(0.0, self.ping_interval_s - silent_for))
            except TimeoutError:
                if self._now() - self._heard > self.max_silence_s:
                    return  # dead without having said so: reconnect
                await ws.send_str(PING_TEXT)
                continue
            if message.type is aiohttp.WSMsgType.TEXT:
                self._heard = self._now()
                self._take(message.data)
            elif message.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.CLOSED,
            ):
                return
            elif message.type is aiohttp.WSMsgType.ERROR:
                raise aiohttp.ClientError(str(ws.exception()))

    def _take(self, text: str) -> None:
        try:
            message = wirejson.loads(text, parse_float=Decimal) if text.startswith("{") else {}
            if message.get("channel") != "allMids":
                return  # pongs, acks: heard, nothing to take
            data = message.get("data")
            mids = parse_all_mids(data.get("mids") if isinstance(data, dict) else None)  # type: ignore[arg-type]
        except (ValueError, AttributeError, ParseError) as exc:
            log.warning("mids feed %s: unreadable allMids (%s); mids are stale until the next", self.url, exc)
            self._mids = None
            return
        self._mids = mids
        self.updates += 1
        self.updated.set()
