"""Our websocket client for source fills (the SDK's `WebsocketManager` is a thread with no reconnect).

One connection subscribes `userFills` for up to `max_users` sources (the venue allows 10 distinct
users per IP). It pings every `ping_interval_s` (the venue drops a connection it has not heard from in
60 s) and treats two silent intervals as a dead connection. On any loss it reconnects after a capped,
jittered exponential backoff, resubscribes every source, and backfills each source's gap with
`userFillsByTime` from its last seen fill time minus `overlap_ms`. Every fill — from the subscription
snapshot, a live push or a backfill — passes one `FillDeduper`, so each is delivered exactly once.
Each loss is reported to `faults` as `ws_dropped`, and a live push repeating a fill already delivered
as `duplicate_fill` (dropped here; the snapshot's and the backfill's overlaps are expected, not faults).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Final

import aiohttp

from adapters.hyperliquid.faults import DUPLICATE_FILL, WS_DROPPED, FaultRelay
from adapters.hyperliquid.parsing import ParseError, parse_user_fills
from bot.domain import SourceFill, wirejson

__all__ = [
    "BACKFILL_OVERLAP_MS",
    "PING_INTERVAL_S",
    "Backoff",
    "FillDeduper",
    "UserFillsSocket",
    "fill_identity",
    "ws_url",
]

log = logging.getLogger(__name__)

WS_PATH: Final = "/ws"
PING_INTERVAL_S: Final = 50.0
PING_TEXT: Final = '{"method":"ping"}'
BACKFILL_OVERLAP_MS: Final = 2_000  # re-read this much before the last seen fill: late pushes, clock steps
DEDUP_RETENTION_MS: Final = 10 * 60_000  # keep fill ids this long behind the newest (> overlap)

Backfill = Callable[[str, int], Awaitable[list[SourceFill]]]
Sleep = Callable[[float], Awaitable[Any]]


def ws_url(base_url: str) -> str:
    """The SDK's rule: `http(s)://host` → `ws(s)://host/ws`."""
    base = base_url.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base[len("https://") :] + WS_PATH
    if base.startswith("http://"):
        return "ws://" + base[len("http://") :] + WS_PATH
    raise ValueError(f"base_url: expected an http:// or https:// URL, got {base_url!r}")


@dataclass(slots=True)
class Backoff:
    """Capped exponential backoff with "equal jitter": attempt n waits in [c/2, c], c = min(cap, base·2ⁿ).

    Half the wait is fixed (it really grows), half is random (clients dropped together do not come
    back together). `rng` is injectable so tests and replays are deterministic.
    """

    base_s: float = 0.5
    cap_s: float = 30.0
    rng: random.Random = field(default_factory=random.Random)

    def ceiling(self, attempt: int) -> float:
        return min(self.cap_s, self.base_s * float(2 ** min(attempt, 62)))

    def delay(self, attempt: int) -> float:
        ceiling = self.ceiling(attempt)
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)


def fill_identity(fill: SourceFill) -> Hashable:
    """(tid, oid) identifies a fill of one user (both sides of a self-trade share the tid, not the oid).
    Old recordings have no tid: then the whole fill is its identity (hash, oid, px, sz, time, side,
    startPosition...), which tells apart two partial fills of one order."""
    if fill.tid is not None:
        return (fill.tid, fill.oid)
    return replace(fill, source="")


@dataclass(slots=True)
class _SourceLog:
    cursor: int  # the newest fill time seen (or the watch start)
    floor: int  # fills older than this are history: never delivered
    seen: dict[Hashable, int] = field(default_factory=dict)  # identity -> fill time


class FillDeduper:
    """Which fills of each source were delivered. One per watch, shared by every path a fill can take
    (snapshot, push, backfill, poller); one event loop, so no lock.

    Fills older than `start_ms` are history (what the source held then is in its account snapshot) and
    never delivered. Ids are kept `retention_ms` behind the newest fill; anything older than that is
    dropped as already handled — a backfill re-reads only `overlap_ms` < `retention_ms`.
    """

    def __init__(self, start_ms: int, *, retention_ms: int = DEDUP_RETENTION_MS) -> None:
        self.start_ms = start_ms
        self._retention_ms = retention_ms
        self._logs: dict[str, _SourceLog] = {}

    def _log(self, source: str) -> _SourceLog:
        entry = self._logs.get(source)
        if entry is None:
            entry = self._logs[source] = _SourceLog(self.start_ms, self.start_ms)
        return entry

    def cursor(self, source: str) -> int:
        """The newest fill time delivered for `source` (the watch start before any)."""
        return self._log(source).cursor

    def admit(self, source: str, fill: SourceFill) -> bool:
        """True exactly once per fill (and never for history)."""
        entry = self._log(source)
        if fill.time_ms < entry.floor:
            return False
        key = fill_identity(fill)
        if key in entry.seen:
            return False
        entry.seen[key] = fill.time_ms
        if fill.time_ms > entry.cursor:
            entry.cursor = fill.time_ms
            if entry.cursor - entry.floor > 2 * self._retention_ms:  # amortised pruning
                entry.floor = entry.cursor - self._retention_ms
                entry.seen = {k: t for k, t in entry.seen.items() if t >= entry.floor}
        return True


async def _sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


class _Stale(Exception):
    """Nothing heard for two ping intervals: the connection is dead without having said so."""


class _BackfillFailed(Exception):
    """The gap could not be read (the venue's /info failed): reconnect and try again."""


class UserFillsSocket:
    """A reconnecting `userFills` subscription for a few sources; iterate `fills()` for new fills.

    `sources` keep the caller's spelling (a fill's `source` is that spelling); the venue's lower-case
    echo is mapped back. Counters (`connects`, `backfills`) are for tests and health reports.
    """

    def __init__(
        self,
        url: str,
        sources: Sequence[str],
        *,
        session: aiohttp.ClientSession,
        dedup: FillDeduper,
        backfill: Backfill,
        max_users: int = 10,
        ping_interval_s: float = PING_INTERVAL_S,
        max_silence_s: float | None = None,
        overlap_ms: int = BACKFILL_OVERLAP_MS,
        backoff: Backoff | None = None,
        sleep: Sleep = _sleep,
        faults: FaultRelay | None = None,
    ) -> None:
        if len(sources) > max_users:
            raise ValueError(
                f"sources: at most {max_users} users per websocket (the venue's cap), got {len(sources)}"
            )
        self._url = url
        self._sources = list(dict.fromkeys(sources))
        self._by_lower = {s.lower(): s for s in self._sources}
        self._session = session
        self._dedup = dedup
        self._backfill = backfill
        self._ping_interval_s = ping_interval_s
        # Silence longer than this (default two ping intervals, each ping unanswered) is a dead connection.
        self._max_silence_s = 2 * ping_interval_s if max_silence_s is None else max_silence_s
        self._overlap_ms = overlap_ms
        self._backoff = backoff or Backoff()
        self._sleep = sleep
        self.faults = faults or FaultRelay()
        self.connects = 0
        self.backfills = 0
        self.pings = 0
        self.pongs = 0
        self._heard = False  # the venue sent something on the current connection
        self.connected = asyncio.Event()  # set while subscribed
        self.acknowledged = asyncio.Event()  # set once the venue acknowledged every subscription
        self._acks = 0
        # This connection's backfilled fills: pushes queued meanwhile repeat them by design, not by fault.
        self._backfilled: set[Hashable] = set()

    @property
    def sources(self) -> list[str]:
        return list(self._sources)

    async def fills(self) -> AsyncIterator[SourceFill]:
        """New fills of the sources, forever (until the consumer stops iterating)."""
        attempt = 0
        while True:
            try:
                async with self._session.ws_connect(self._url, autoping=True, heartbeat=None) as ws:
                    for source in self._sources:
                        subscription = {"type": "userFills", "user": source}
                        await ws.send_str(json.dumps({"method": "subscribe", "subscription": subscription}))
                    self.connects += 1
                    self.connected.set()
                    # Before reading any push: a push would move the cursor past the gap. Live pushes
                    # queue in the socket meanwhile; the deduper sorts out the overlap.
                    for fill in await self._backfill_all():
                        yield fill
                    async for fill in self._read(ws):
                        yield fill
                    lost = f"closed by the venue (code {ws.close_code})"
            except (aiohttp.ClientError, TimeoutError, OSError, _Stale, _BackfillFailed) as exc:
                lost = f"{type(exc).__name__}: {exc}"
            finally:
                self.connected.clear()
                self.acknowledged.clear()
                self._acks = 0
                self._backfilled.clear()
            # A connection the venue spoke on worked: the next loss starts the backoff afresh.
            attempt = 0 if self._heard else attempt
            self._heard = False
            delay = self._backoff.delay(attempt)
            self.faults(
                WS_DROPPED,
                f"fills websocket lost ({lost}); reconnecting in {delay:.2f}s, then resubscribing and "
                "backfilling from the last seen fill",
            )
            attempt += 1
            await self._sleep(delay)

    async def _backfill_all(self) -> list[SourceFill]:
        """Every source's fills since its last seen fill (minus the overlap), not yet delivered. A
        failure drops the connection: reading pushes without the backfill would skip the gap."""
        new: list[SourceFill] = []
        for source in self._sources:
            since = self._dedup.cursor(source) - self._overlap_ms
            try:
                fills = await self._backfill(source, since)
            except Exception as exc:
                raise _BackfillFailed(f"backfill of {source} failed: {type(exc).__name__}: {exc}") from exc
            self.backfills += 1
            self._backfilled.update(fill_identity(f) for f in fills)
            new.extend(replace(f, source=source) for f in fills if self._dedup.admit(source, f))
        return new

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> AsyncIterator[SourceFill]:
        loop = asyncio.get_running_loop()
        next_ping = loop.time() + self._ping_interval_s
        last_heard = loop.time()
        while True:
            try:
                message = await ws.receive(timeout=max(0.0, next_ping - loop.time()))
            except TimeoutError:
                if loop.time() - last_heard > self._max_silence_s:
                    raise _Stale from None
                await ws.send_str(PING_TEXT)
                self.pings += 1
                next_ping = loop.time() + self._ping_interval_s
                continue
            last_heard = loop.time()
            if message.type is aiohttp.WSMsgType.TEXT:
                self._heard = True
                for fill in self._on_text(message.data):
                    yield fill
            elif message.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.CLOSED,
            ):
                return
            elif message.type is aiohttp.WSMsgType.ERROR:
                raise aiohttp.ClientError(str(ws.exception()))

    def _on_text(self, text: str) -> list[SourceFill]:
        if not text.startswith("{"):  # e.g. "Websocket connection established."
            return []
        try:
            message = wirejson.loads(text, parse_float=Decimal)
            if message.get("channel") == "pong":
                self.pongs += 1
                return []
        except ValueError:
            log.warning("websocket %s: a message that is not JSON: %.100s", self._url, text)
            return []
        if message.get("channel") == "subscriptionResponse":
            self._acks += 1
            if self._acks >= len(self._sources):
                self.acknowledged.set()  # pushes of every source reach us from now on
            return []
        if message.get("channel") != "userFills":
            if message.get("channel") == "error":
                log.warning("websocket %s: venue error: %.300s", self._url, message.get("data"))
            return []
        data = message.get("data")
        source = self._by_lower.get(str(data.get("user", "")).lower()) if isinstance(data, dict) else None
        if source is None:
            return []
        try:
            fills = parse_user_fills(data.get("fills"))
        except ParseError as exc:
            # One bad message must not kill the stream; the next backfill or poll recovers its fills.
            log.error("websocket %s: unreadable userFills for %s: %s", self._url, source, exc)
            return []
        fresh: list[SourceFill] = []
        repeated = 0
        for fill in fills:
            if self._dedup.admit(source, fill):
                fresh.append(replace(fill, source=source))
            elif fill_identity(fill) not in self._backfilled:
                repeated += 1
        if repeated and data.get("isSnapshot") is not True:
            self.faults(
                DUPLICATE_FILL,
                f"{source}: a live push repeated {repeated} fill(s) already delivered; dropped by (tid, oid)",
            )
        return fresh
