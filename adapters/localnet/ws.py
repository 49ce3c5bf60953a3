"""`GET /ws`: subscriptions and pushes, framed exactly as the venue frames them (and as the SDK's
`WebsocketManager` routes them).

The exchange core calls `WsHub.publish` synchronously while it handles a request; publishing only
serialises the message once and puts it on each subscriber's queue, and one writer task per
connection sends it, so a slow client never slows the request path. A client that falls
`MAX_QUEUED` messages behind is disconnected, as a real venue drops a consumer that cannot keep up.

Injected fill faults (`adapters/localnet/faults.py`) act on live `userFills` pushes that have a
subscriber, never on the subscription snapshot: a push can be held back (until released or the faults
are cleared), held until the same user's next push and sent after it (reordered), or sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from adapters.localnet.candles import INTERVALS
from adapters.localnet.faults import Faults
from adapters.localnet.types import InfoError, LocalEvent
from bot.domain import wirejson

log = logging.getLogger(__name__)

MAX_QUEUED = 10_000
MAX_FILL_PUSHES = 100_000  # kept for latency benchmarks (`stats` with `"pushes": true`)
CONNECTED_TEXT = "Websocket connection established."
ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")

# subscription type -> the fields that key it (none: one stream for everyone)
SUBSCRIPTION_KEYS: dict[str, tuple[str, ...]] = {
    "allMids": (),
    "l2Book": ("coin",),
    "trades": ("coin",),
    "userFills": ("user",),
    "orderUpdates": ("user",),
    "userEvents": ("user",),
    "bbo": ("coin",),
    "candle": ("coin", "interval"),
    "activeAssetCtx": ("coin",),
    "activeAssetData": ("user", "coin"),
    "webData2": ("user",),
    "userFundings": ("user",),
    "userNonFundingLedgerUpdates": ("user",),
}
# Views computed from the core's state (views.py) when a client subscribes and when an event touches
# them: those of a market move with its prices and trades, those of a user with the user's events.
MARKET_VIEWS = frozenset({"candle", "activeAssetCtx"})
USER_VIEWS = frozenset({"activeAssetData", "webData2"})
USER_EVENT_CHANNELS = frozenset({"userFills", "orderUpdates", "userNonFundingLedgerUpdates"})
# event channel -> the channel name on the wire (the venue calls userEvents "user")
WIRE_CHANNEL = {"userEvents": "user"}

SubKey = tuple[str, str]  # (subscription type, coin or lower-case user or "")


def _dumps(message: Any) -> str:
    return json.dumps(message, separators=(",", ":"))


def subscription_key(subscription: Any) -> SubKey:
    """Validate a subscription object; raise ValueError naming what is wrong. Several key fields are
    joined with "," in their order in SUBSCRIPTION_KEYS (e.g. candle "ETH,1m", activeAssetData "0x…,ETH")."""
    if not isinstance(subscription, dict) or not isinstance(subscription.get("type"), str):
        raise ValueError("subscription must be an object with a string 'type'")
    kind = subscription["type"]
    if kind not in SUBSCRIPTION_KEYS:
        raise ValueError(f"unsupported subscription type {kind!r}; accepted: {', '.join(SUBSCRIPTION_KEYS)}")
    if kind == "allMids":  # one stream per perp dex: `dex` absent or "" is the default one
        dex = subscription.get("dex") or ""
        if not isinstance(dex, str) or "," in dex:
            raise ValueError("allMids takes 'dex': a perp dex name (\"\" for the default)")
        return (kind, dex)
    parts = []
    for field in SUBSCRIPTION_KEYS[kind]:
        value = subscription.get(field)
        if field == "user":
            if not isinstance(value, str) or not ADDRESS.match(value):
                raise ValueError(f"{kind} needs 'user': a 0x-prefixed 40-hex-digit address")
            value = value.lower()
        elif field == "interval":
            if value not in INTERVALS:
                raise ValueError(f"{kind} needs 'interval': one of {', '.join(INTERVALS)}")
        elif not isinstance(value, str) or not value or "," in value:  # "," joins key fields
            raise ValueError(f"{kind} needs 'coin': a coin name such as 'ETH'")
        parts.append(value)
    return (kind, ",".join(parts))


def event_key(event: LocalEvent) -> SubKey:
    if event.channel == "allMids":
        return ("allMids", event.coin or "")  # `coin` carries the perp dex
    if event.channel in ("l2Book", "trades"):
        return (event.channel, event.coin or "")
    return (event.channel, (event.user or "").lower())


@dataclass(frozen=True, slots=True)
class _FillPush:
    key: SubKey
    user: str | None
    oids: list[int]
    text: str


class WsConnection:
    def __init__(self, ws: web.WebSocketResponse, faults: Faults) -> None:
        self.ws = ws
        self.keys: set[SubKey] = set()
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(MAX_QUEUED)
        self.dropped = False
        self._faults = faults

    def send(self, text: str) -> None:
        """Queue `text` for the writer; a full queue means the client is not reading: drop it."""
        if self.dropped:
            return
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.drop()

    def drop(self) -> None:
        """End the connection now: the writer closes the socket without sending what is queued."""
        self.dropped = True
        if self.queue.full():  # make room for the wake-up sentinel
            self.queue.get_nowait()
        self.queue.put_nowait(None)

    async def write_loop(self) -> None:
        while True:
            text = await self.queue.get()
            if text is None or self.dropped or self._faults.draw_ws_drop():
                await self.ws.close()
                return
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):  # the peer went away
                return


class WsHub:
    """All websocket connections and their subscriptions."""

    def __init__(
        self,
        faults: Faults,
        snapshot_info: Callable[[dict[str, Any]], Any],
        user_fills: Callable[[str], list[dict[str, Any]]],
        view: Callable[[str, str], dict[str, Any] | None] | None = None,
    ) -> None:
        self._faults = faults
        self._snapshot_info = snapshot_info
        self._user_fills = user_fills
        self._view = view
        # the subscribed views, by the coin or user whose events touch them
        self._market_views: dict[str, set[SubKey]] = defaultdict(set)
        self._user_views: dict[str, set[SubKey]] = defaultdict(set)
        self._last_sent: dict[SubKey, str] = {}  # a view or bbo is pushed only when it changed
        self._connections: set[WsConnection] = set()
        self._subscribers: dict[SubKey, set[WsConnection]] = defaultdict(set)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        # when each userFills push was handed to its subscribers' writers (benchmarks: the start of
        # a copy's latency as the bot can see it)
        self.fill_pushes: deque[dict[str, Any]] = deque(maxlen=MAX_FILL_PUSHES)
        self._held: list[_FillPush] = []  # userFills pushes held back by an injected fault

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._loop_thread = threading.get_ident()

    # --- events from the exchange core ---
    def watches_book(self, coin: str) -> bool:
        """Whether a connection wants `coin`'s l2Book events (an l2Book or a bbo subscriber)."""
        return bool(self._subscribers.get(("l2Book", coin)) or self._subscribers.get(("bbo", coin)))

    def publish(self, event: LocalEvent) -> None:
        if self._loop is not None and threading.get_ident() != self._loop_thread:
            # the core was driven from another thread (e.g. a test): hop onto the loop first
            self._loop.call_soon_threadsafe(self.publish, event)
            return
        if self._market_views or self._user_views or event.channel == "l2Book":
            self._publish_views(event)
        key = event_key(event)
        if not self._subscribers.get(key):
            return
        text = _dumps({"channel": WIRE_CHANNEL.get(event.channel, event.channel), "data": event.data})
        if event.channel != "userFills":
            self._send(key, text)
            return
        oids = sorted({fill["oid"] for fill in event.data.get("fills", ())})
        self._publish_fills(_FillPush(key, event.user, oids, text))

    def _publish_views(self, event: LocalEvent) -> None:
        """Push the views and the bbo an event touches (only those subscribed, only when changed)."""
        if event.channel == "l2Book":
            key = ("bbo", event.coin or "")
            if self._subscribers.get(key):
                self._send_changed(key, {"channel": "bbo", "data": _bbo(event.data)})
            return
        if event.channel == "allMids":
            keys = [k for coin_keys in self._market_views.values() for k in coin_keys]
        elif event.channel == "trades":
            keys = list(self._market_views.get(event.coin or "", ()))
        elif event.channel in USER_EVENT_CHANNELS:
            keys = list(self._user_views.get((event.user or "").lower(), ()))
        else:
            return
        for key in keys:
            data = self._view_data(key)
            if isinstance(data, dict):
                self._send_changed(key, {"channel": key[0], "data": data})

    def _view_data(self, key: SubKey) -> dict[str, Any] | str | None:
        if self._view is None:
            return None
        try:
            return self._view(*key)
        except InfoError as exc:
            return f"Invalid subscription: {exc}"

    def _send_changed(self, key: SubKey, message: dict[str, Any]) -> None:
        text = _dumps(message)
        if self._last_sent.get(key) != text:
            self._last_sent[key] = text
            self._send(key, text)

    def _index_view(self, key: SubKey, *, add: bool) -> None:
        kind, value = key
        if kind in MARKET_VIEWS:
            index, owner = self._market_views, value.split(",", 1)[0]
        elif kind in USER_VIEWS:
            index, owner = self._user_views, value.split(",", 1)[0]
        else:
            if not add and kind == "bbo":
                self._last_sent.pop(key, None)
            return
        if add:
            index[owner].add(key)
            return
        index[owner].discard(key)
        if not index[owner]:
            del index[owner]
        self._last_sent.pop(key, None)

    def _send(self, key: SubKey, text: str) -> None:
        for connection in tuple(self._subscribers.get(key, ())):
            connection.send(text)

    def _publish_fills(self, push: _FillPush) -> None:
        """A live userFills push, through the injected fill faults."""
        settings = self._faults.settings
        if settings.hold_ws_fills > 0:
            settings.hold_ws_fills -= 1
            self._held.append(push)
            return
        if settings.reorder_ws_fills and not any(held.key == push.key for held in self._held):
            self._held.append(push)  # waits for this user's next push
            return
        self._push_fill(push)
        if settings.reorder_ws_fills:
            self.release_held(push.key)

    def _push_fill(self, push: _FillPush) -> None:
        self._send(push.key, push.text)
        if self._faults.draw_ws_duplicate():
            self._send(push.key, push.text)
        self.fill_pushes.append({"sentNs": time.time_ns(), "user": push.user, "oids": push.oids})

    @property
    def held_fill_pushes(self) -> int:
        return len(self._held)

    def release_held(self, key: SubKey | None = None) -> int:
        """Send the held userFills pushes (of one subscription, or all), oldest first; how many."""
        released = [push for push in self._held if key is None or push.key == key]
        self._held = [push for push in self._held if key is not None and push.key != key]
        for push in released:
            self._push_fill(push)
        return len(released)

    def forget_held(self) -> None:
        self._held.clear()

    def drop_all(self) -> int:
        """Fault: close every connection now. Returns how many were open."""
        for connection in self._connections:
            connection.drop()
        return len(self._connections)

    async def close(self) -> None:
        for connection in tuple(self._connections):
            connection.drop()
            with contextlib.suppress(Exception):
                await connection.ws.close()

    # --- one connection ---
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        connection = WsConnection(ws, self._faults)
        self._connections.add(connection)
        writer = asyncio.create_task(connection.write_loop())
        connection.send(CONNECTED_TEXT)
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._on_text(connection, message.data)
                elif message.type == WSMsgType.ERROR:
                    break
        finally:
            self._forget(connection)
            connection.drop()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        return ws

    def _forget(self, connection: WsConnection) -> None:
        self._connections.discard(connection)
        for key in connection.keys:
            subscribers = self._subscribers.get(key)
            if subscribers is not None:
                subscribers.discard(connection)
                if not subscribers:
                    del self._subscribers[key]
                    self._index_view(key, add=False)
        connection.keys.clear()

    def _on_text(self, connection: WsConnection, text: str) -> None:
        try:
            message = wirejson.loads(text)
        except ValueError:
            connection.send(_dumps({"channel": "error", "data": f"Invalid JSON: {text[:200]}"}))
            return
        method = message.get("method") if isinstance(message, dict) else None
        if method == "ping":
            connection.send('{"channel":"pong"}')
        elif method in ("subscribe", "unsubscribe"):
            self._on_subscription(connection, method, message.get("subscription"))
        else:
            connection.send(
                _dumps({"channel": "error", "data": "Unknown method; accepted: subscribe, unsubscribe, ping"})
            )

    def _on_subscription(self, connection: WsConnection, method: str, subscription: Any) -> None:
        try:
            key = subscription_key(subscription)
        except ValueError as exc:
            connection.send(_dumps({"channel": "error", "data": f"Invalid subscription: {exc}"}))
            return
        ack = {"channel": "subscriptionResponse", "data": {"method": method, "subscription": subscription}}
        if method == "unsubscribe":
            connection.keys.discard(key)
            subscribers = self._subscribers.get(key)
            if subscribers is not None:
                subscribers.discard(connection)
                if not subscribers:
                    del self._subscribers[key]
                    self._index_view(key, add=False)
            connection.send(_dumps(ack))
            return
        snapshot = self._snapshot(key)  # before subscribing: a bad coin is refused, not half-subscribed
        if isinstance(snapshot, str):
            connection.send(_dumps({"channel": "error", "data": snapshot}))
            return
        connection.keys.add(key)
        self._subscribers[key].add(connection)
        self._index_view(key, add=True)
        connection.send(_dumps(ack))
        if snapshot is not None:
            text = _dumps(snapshot)
            if key[0] == "bbo" or key[0] in MARKET_VIEWS or key[0] in USER_VIEWS:
                self._last_sent[key] = text  # the next push is the next change
            connection.send(text)

    def _snapshot(self, key: SubKey) -> dict[str, Any] | str | None:
        """What the venue sends right after the ack (None: nothing), or an error text."""
        kind, value = key
        try:
            if kind == "userFills":
                fills = self._user_fills(value)
                return {"channel": "userFills", "data": {"user": value, "isSnapshot": True, "fills": fills}}
            if kind == "allMids":
                mids = self._snapshot_info({"type": "allMids", "dex": value})
                return {"channel": "allMids", "data": {"mids": mids}}
            if kind == "l2Book":
                book = self._snapshot_info({"type": "l2Book", "coin": value})
                if book is None:
                    return f"Invalid subscription: unknown coin {value!r}"
                return {"channel": "l2Book", "data": book}
            if kind == "bbo":
                book = self._snapshot_info({"type": "l2Book", "coin": value})
                if book is None:
                    return f"Invalid subscription: unknown coin {value!r}"
                return {"channel": "bbo", "data": _bbo(book)}
        except InfoError as exc:
            return f"Invalid subscription: {exc}"
        if (
            kind in MARKET_VIEWS
            or kind in USER_VIEWS
            or kind in ("userFundings", "userNonFundingLedgerUpdates")
        ):
            data = self._view_data(key)
            if isinstance(data, dict):
                return {"channel": kind, "data": data}
            return data
        return None


def _bbo(book: dict[str, Any]) -> dict[str, Any]:
    """The best bid and offer of an l2Book's data: `[bid, ask]`, each a level or null."""
    bids, asks = book["levels"]
    return {
        "coin": book["coin"],
        "time": book["time"],
        "bbo": [bids[0] if bids else None, asks[0] if asks else None],
    }
