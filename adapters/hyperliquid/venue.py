"""`HyperliquidVenue`: the `Venue` protocol over Hyperliquid's HTTP API and websocket.

One `httpx.AsyncClient` serves /info, an aiohttp keep-alive pool /exchange; one `WeightBudget` paces
every request of the venue against the 1200-weight-per-minute limit.

Watching sources (read this, pipeline):
- `watch(sources)` yields every fill of every source exactly once, as `SourceFill` with `source` set
  to the caller's spelling of the address. It merges two paths through one de-duplicator:
  the websocket (`userFills`, the first `max_ws_users` sources: low latency) and the poller (every
  source's account in rounds). When a polled position changed in a way the delivered fills do not
  explain — a source beyond the websocket cap, or a fill the websocket lost — the poller reads the
  source's fills since its last seen fill (`userFillsByTime`) and delivers the missing ones. So the
  pipeline needs only fills (`bot.normalise.FillCoalescer` turns them into changes), for all sources.
- `events(sources)` is the same stream plus every polled `AccountState` (the snapshots), for the
  reconciliation of `s` and for a pipeline that prefers diffing snapshots
  (`bot.normalise.changes_from_snapshots`). Do not run both for one set of sources: each polls.
- Fills older than `since_ms` (default: when the watch starts) are history and not delivered.
- Both run background tasks (websocket, poller) until the iterator is closed: iterate inside
  `contextlib.aclosing(venue.watch(...))` (or cancel the consuming task) so they stop at once.

The node firehose (`node_data`, MIRROR_HL_NODE_DATA; adapters/hyperliquid/firehose.py): with a
non-validating node's data directory, `watch` reads every source's fills from the node's
`node_fills_by_block` files instead — no websocket, no polls, no per-IP limit, any number of sources —
through the same de-duplicator; `events` keeps its poller for the snapshots. The tail's position is
kept in `data_dir/firehose-position.json`.

Perp dexes (HIP-3, docs/decisions/hip3.md): `perp_dexs()` reads the venue's `perpDexs` once (again
whenever `instruments()` is read). Instruments, mids, accounts, polls and open orders cover every dex;
the websocket's `userFills` and `userFillsByTime` already carry every dex's fills (`dex:COIN`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import aiohttp
import httpx
from hyperliquid.utils.constants import MAINNET_API_URL

from adapters.hyperliquid.budget import BudgetedInfoClient, ReadRetry, WeightBudget
from adapters.hyperliquid.constants import FILLS_PAGE_LIMIT, REST_WEIGHT_PER_MINUTE
from adapters.hyperliquid.exchange import ExchangeClient, ExchangeError, SignerSlot
from adapters.hyperliquid.faults import FaultHook, FaultRelay
from adapters.hyperliquid.firehose import Firehose
from adapters.hyperliquid.info import InfoRequestError
from adapters.hyperliquid.mids import MidsFeed
from adapters.hyperliquid.nonces import wall_clock_ms
from adapters.hyperliquid.parsing import OrderStatus as VenueOrderStatus
from adapters.hyperliquid.parsing import builder_asset_offset
from adapters.hyperliquid.poller import DEFAULT_POLL_INTERVAL_S, Poller, poll_weight
from adapters.hyperliquid.ws import BACKFILL_OVERLAP_MS, Backoff, FillDeduper, UserFillsSocket, ws_url
from bot.domain import (
    AccountRole,
    AccountState,
    AgentApproval,
    Candle,
    FundingPayment,
    Instrument,
    OpenOrder,
    OrderBook,
    OrderRequest,
    OrderResult,
    OrderStatus,
    SourceFill,
    Tpsl,
    TradingAccount,
    Trigger,
    VenueCapabilities,
    listed_instrument,
)

__all__ = [
    "HYPERLIQUID_CAPABILITIES",
    "POLLER_RESERVE",
    "HyperliquidVenue",
    "frontend_open_order",
    "polled_sources",
    "result_from_status",
]

log = logging.getLogger(__name__)

HYPERLIQUID_CAPABILITIES: Final = VenueCapabilities(
    name="hyperliquid",
    min_notional=Decimal(10),
    websocket_fills=True,
    max_ws_users=10,
    order_by_cloid=True,
    schedule_cancel=True,
    trigger_orders=True,
    agent_wallets=True,
    vaults=True,
    two_step_execution=False,
    weight_budget_per_minute=1200,
    funding_history=True,
    order_book=True,
    candles=True,
    label="Hyperliquid",
    builder_codes=True,
    max_builder_tenths_bp=100,  # 0.1 % on perps (the venue's cap; spot's 1 % is not traded here)
)
ISOLATED_LEVERAGE: Final = 20  # the venue's default leverage, capped at a market's maximum
POLLER_RESERVE: Final = 50  # weight the poller and backfills leave in the budget for orders and lookups


def polled_sources(
    staleness_s: float,
    budget_per_minute: int = REST_WEIGHT_PER_MINUTE,
    orders_weight: int = 0,
    dexes: int = 1,
) -> int:
    """Sources one process can poll every `staleness_s` seconds with `dexes` perp dexes listed, leaving
    the poller's reserve and what the orders' reads take (a planning figure: docs/benchmarks.md, Watch
    capacity)."""
    per_minute = max(0, budget_per_minute - POLLER_RESERVE - orders_weight)
    return int(per_minute * staleness_s / 60 // poll_weight(dexes))


_Implied = dict[str, dict[str, tuple[tuple[int, int], Decimal]]]  # source -> coin -> (fill order, size)
_Deliver = Callable[[SourceFill], None]


@dataclass(frozen=True, slots=True)
class _Failure:
    error: BaseException


def result_from_status(
    found: VenueOrderStatus | None, cloid: str, avg_px: Decimal | None = None
) -> OrderResult:
    """An `orderStatus` answer as an `OrderResult`. An IOC that filled in part ends `canceled` with
    `sz < origSz` on the venue: that is FILLED with the part, as `place` reports it."""
    if found is None:
        return OrderResult(OrderStatus.NOT_FOUND, cloid)
    order, word = found.order, found.status
    filled = (order.orig_sz if order.orig_sz is not None else order.sz) - order.sz
    if word in ("open", "triggered"):
        status = OrderStatus.RESTING
    elif word == "filled":
        status = OrderStatus.FILLED
    elif word.endswith("Rejected"):
        return OrderResult(OrderStatus.REJECTED, cloid, order.oid, error=word)
    elif "cancel" in word.lower():
        status = OrderStatus.FILLED if filled > 0 else OrderStatus.CANCELED
    else:
        return OrderResult(
            OrderStatus.UNKNOWN, cloid, order.oid, filled, avg_px, error=f"venue status {word!r}"
        )
    return OrderResult(status, cloid, order.oid, filled, avg_px if filled > 0 else None)


def frontend_open_order(raw: Mapping[str, Any]) -> OpenOrder:
    """One `frontendOpenOrders` row. A trigger row has `isTrigger`, `triggerPx` and an `orderType` such
    as "Stop Market" / "Take Profit Limit" (the venue's words: "Take Profit…" is tp, "Stop…" is sl)."""
    trigger = None
    if raw.get("isTrigger"):
        order_type = str(raw.get("orderType") or "")
        tpsl = Tpsl.TAKE_PROFIT if order_type.startswith("Take Profit") else Tpsl.STOP_LOSS
        trigger = Trigger(Decimal(str(raw["triggerPx"])), tpsl, is_market=order_type.endswith("Market"))
    cloid = raw.get("cloid")
    return OpenOrder(
        coin=str(raw["coin"]),
        is_buy=raw["side"] == "B",
        size=Decimal(str(raw["sz"])),
        limit_px=Decimal(str(raw["limitPx"])),
        reduce_only=bool(raw.get("reduceOnly", False)),
        oid=int(raw["oid"]),
        cloid=None if cloid is None else str(cloid),
        trigger=trigger,
    )


def _unexplained(
    previous: dict[str, Decimal],
    current: dict[str, Decimal],
    implied: dict[str, tuple[tuple[int, int], Decimal]],
) -> list[str]:
    """Coins whose size moved between two polls to a size the delivered fills do not leave."""
    zero = Decimal(0)
    return [
        coin
        for coin in set(previous) | set(current)
        if previous.get(coin, zero) != current.get(coin, zero)
        and (coin not in implied or implied[coin][1] != current.get(coin, zero))
    ]


class HyperliquidVenue:
    """See the module docstring. `data_dir` holds the nonce high-water marks (None: memory only)."""

    capabilities: VenueCapabilities = HYPERLIQUID_CAPABILITIES

    def __init__(
        self,
        base_url: str,
        *,
        data_dir: Path | None,
        is_mainnet: bool | None = None,
        timeout_s: float = 5.0,
        info_timeout_s: float = 10.0,
        budget: WeightBudget | None = None,
        poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
        ping_interval_s: float = 50.0,
        backoff: Backoff | None = None,
        read_retry: ReadRetry | None = None,
        fills_page_limit: int = FILLS_PAGE_LIMIT,
        node_data: Path | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.node_data = node_data  # a node's data directory: `watch` reads its fills firehose
        self._firehose_position = None if data_dir is None else data_dir / "firehose-position.json"
        self.faults = FaultRelay()  # 429s, 5xx, timeouts, websocket losses: see `on_fault`
        self.is_mainnet = base_url == MAINNET_API_URL if is_mainnet is None else is_mainnet
        self.budget = budget or WeightBudget(self.capabilities.weight_budget_per_minute)
        self._http = httpx.AsyncClient(
            timeout=info_timeout_s, limits=httpx.Limits(max_connections=32, max_keepalive_connections=16)
        )
        self.info = BudgetedInfoClient(
            self.base_url,
            self.budget,
            client=self._http,
            retry=read_retry,
            faults=self.faults,
            fills_page_limit=fills_page_limit,  # the venue's page size (a test makes it small)
        )
        # Background reads (polls, backfills) leave a reserve in the budget for orders.
        self.background_info = BudgetedInfoClient(
            self.base_url,
            self.budget,
            reserve=POLLER_RESERVE,
            client=self._http,
            retry=read_retry,
            faults=self.faults,
        )
        self.exchange = ExchangeClient(  # its own keep-alive pool (exchange.py says why)
            self.base_url,
            budget=self.budget,
            is_mainnet=self.is_mainnet,
            nonce_dir=None if data_dir is None else data_dir / "nonces",
            timeout_s=timeout_s,
            faults=self.faults,
        )
        self._poll_interval_s = poll_interval_s
        self._ping_interval_s = ping_interval_s
        self._backoff = backoff
        self._instruments: dict[str, Instrument] = {}
        self._dexes: list[str] | None = None  # `perpDexs`, read once (and with every `instruments()`)
        self._isolated: set[tuple[str, str]] = set()  # (account, coin) set to isolated margin here
        self._session: aiohttp.ClientSession | None = None
        self.mids_feed: MidsFeed | None = None  # the default dex's, started by the first `mids()`
        self.dex_feeds: dict[str, MidsFeed] = {}  # each builder dex's
        self._streaming_mids = False  # `stream_mids`: the feeds serve `mids()` without a watch
        self.sockets: list[UserFillsSocket] = []  # the live watches' websockets (health, tests)
        self.pollers: list[Poller] = []
        self.firehoses: list[Firehose] = []  # the live watches' node tails (health, tests)

    @property
    def on_fault(self) -> FaultHook | None:
        """Called with (reason code, detail) for each fault only this client sees (the runner publishes
        them as alerts); see `adapters/hyperliquid/faults.py`."""
        return self.faults.hook

    @on_fault.setter
    def on_fault(self, hook: FaultHook | None) -> None:
        self.faults.hook = hook

    # --- market data and accounts ---
    async def perp_dexs(self) -> list[str]:
        if self._dexes is None:
            self._dexes = await self._read_dexes()
        return list(self._dexes)

    async def _read_dexes(self) -> list[str]:
        try:
            return await self.info.perp_dexs()
        except InfoRequestError as exc:
            if exc.status >= 500:
                raise
            # A venue that does not know `perpDexs` (a 4xx) has no builder dexes.
            log.warning("perpDexs refused (%s): watching the default dex only", exc)
            return [""]

    async def instruments(self) -> list[Instrument]:
        """Every perp dex's markets; a builder dex's asset ids from `builder_asset_offset`."""
        self._dexes = dexes = await self._read_dexes()
        metas = await asyncio.gather(
            *(self.info.meta(dex, builder_asset_offset(i) if i else 0) for i, dex in enumerate(dexes))
        )
        listed = [instrument for meta in metas for instrument in meta]
        self._instruments = {i.coin: i for i in listed}
        return listed

    async def _asset(self, coin: str) -> int:
        if coin not in self._instruments:
            await self.instruments()  # maybe listed since we last looked
        return listed_instrument(self._instruments, coin).asset

    async def reference_prices(self) -> dict[str, Decimal]:
        """The mark prices (`metaAndAssetCtxs`), always over HTTP: a check must not share the mids' feed."""
        return await self.info.mark_prices()

    async def mids(self) -> dict[str, Decimal]:
        """While a watch is live (the running bot) or `stream_mids` was called (a copy worker), from the
        websocket `allMids` feed — started by the first call, stopped by the first call without either
        and by `close` — whenever the feed is live (adapters/hyperliquid/mids.py: what that means); else
        over HTTP. Otherwise (one-off reads, tools, paper fills right after a price change) a read is
        always the venue's current answer."""
        builders = [dex for dex in await self.perp_dexs() if dex]
        if not builders:
            return await self._dex_mids("")
        parts = await asyncio.gather(*(self._dex_mids(dex) for dex in ["", *builders]))
        return {coin: mid for part in parts for coin, mid in part.items()}

    def stream_mids(self) -> None:
        """Serve `mids()` from the `allMids` feeds from now until `close`, with or without a watch: a
        process that prices copies but watches no source (a copy worker of the cluster). The feeds of
        the dexes known so far start now (read `instruments()` first), any other at its first read."""
        self._streaming_mids = True
        for dex in self._dexes or [""]:
            self._mids_feed(dex).start()

    def _mids_feed(self, dex: str) -> MidsFeed:
        feed = self.mids_feed if not dex else self.dex_feeds.get(dex)
        if feed is None:
            feed = MidsFeed(ws_url(self.base_url), backoff=self._backoff, dex=dex)
            if dex:
                self.dex_feeds[dex] = feed
            else:
                self.mids_feed = feed
        return feed

    async def _dex_mids(self, dex: str) -> dict[str, Decimal]:
        """One perp dex's mids: its own websocket feed while watching or streaming (see `mids`), else
        HTTP."""
        if self._streaming_mids or self.pollers or self.sockets or self.firehoses:
            feed = self._mids_feed(dex)
            feed.start()
            live = feed.mids()
            if live is not None:
                return dict(live)
        else:
            idle = self.mids_feed if not dex else self.dex_feeds.get(dex)
            if idle is not None and idle.running:
                await idle.close()
        return await self.info.all_mids(dex)

    async def account(self, address: str) -> AccountState:
        return await self.info.account_state(address, await self.perp_dexs())

    async def fills_between(self, address: str, start_ms: int, end_ms: int) -> list[SourceFill]:
        return await self.info.user_fills_by_time(address, start_ms, end_ms)

    async def funding(self, address: str, start_ms: int, end_ms: int) -> list[FundingPayment]:
        return await self.info.user_funding(address, start_ms, end_ms)

    async def order_book(self, coin: str) -> OrderBook | None:
        return await self.info.l2_book(coin)

    async def hourly_candles(self, coin: str, start_ms: int, end_ms: int) -> list[Candle]:
        return await self.info.candles(coin, "1h", start_ms, end_ms)

    def requests_made(self) -> int:
        return self.info.requests + self.background_info.requests

    async def account_role(self, address: str) -> AccountRole:
        return await self.info.user_role(address)

    async def agents(self, master: str) -> list[AgentApproval]:
        return await self.info.extra_agents(master)

    async def fills_since(self, address: str, start_ms: int) -> list[SourceFill]:
        return [replace(f, source=address) for f in await self.info.user_fills_by_time(address, start_ms)]

    # --- watching ---
    async def watch(
        self, sources: Sequence[str], *, since_ms: int | None = None
    ) -> AsyncGenerator[SourceFill, None]:
        """Every fill of `sources`, once each (see the module docstring)."""
        # aclosing: closing this generator stops the stream's tasks now, not when it is collected.
        stream = self._stream(sources, since_ms, snapshots=self.node_data is None)
        async with contextlib.aclosing(stream):
            async for event in stream:
                if isinstance(event, SourceFill):
                    yield event

    async def events(
        self, sources: Sequence[str], *, since_ms: int | None = None
    ) -> AsyncGenerator[SourceFill | AccountState, None]:
        """Fills (once each) and every polled account snapshot, merged in arrival order."""
        stream = self._stream(sources, since_ms, snapshots=True)
        async with contextlib.aclosing(stream):
            async for event in stream:
                yield event

    async def _stream(
        self, sources: Sequence[str], since_ms: int | None, *, snapshots: bool
    ) -> AsyncGenerator[SourceFill | AccountState, None]:
        """Fills from the firehose (with `node_data`) or the websocket, plus the poller when
        `snapshots` (without a firehose the poller is also the websocket's safety net)."""
        sources = list(dict.fromkeys(sources))
        if not sources:
            raise ValueError("sources: expected at least one address to watch")
        dedup = FillDeduper(wall_clock_ms() if since_ms is None else since_ms)
        queue: asyncio.Queue[SourceFill | AccountState | _Failure] = asyncio.Queue()
        implied: _Implied = {s: {} for s in sources}

        def deliver(fill: SourceFill) -> None:
            # The size this fill leaves the source with: the poller's test of "explained by fills".
            held = implied[fill.source]
            order = (fill.time_ms, fill.tid if fill.tid is not None else -1)
            if fill.coin not in held or held[fill.coin][0] <= order:
                held[fill.coin] = (order, fill.start_position + fill.signed_sz)
            queue.put_nowait(fill)

        async def guarded(name: str, pump: AsyncIterator[None]) -> None:
            try:
                async for _ in pump:
                    pass
            except asyncio.CancelledError:
                raise
            except BaseException as exc:
                log.exception("watch: the %s stopped", name)
                queue.put_nowait(_Failure(exc))

        firehose = self.node_data is not None
        ws_sources = sources[: self._ws_room()] if self.capabilities.websocket_fills and not firehose else []
        tasks: list[asyncio.Task[None]] = []
        if snapshots:
            streamed = set(sources) if firehose else set(ws_sources)
            poll = self._poll_pump(sources, streamed, dedup, implied, deliver, queue)
            tasks.append(asyncio.create_task(guarded("poller", poll)))
        if firehose:
            tasks.append(
                asyncio.create_task(guarded("firehose", self._firehose_pump(sources, dedup, deliver)))
            )
        socket = self._socket(ws_sources, dedup) if ws_sources else None
        if socket is not None:
            self.sockets.append(socket)  # holds its subscriptions under the cap from now, before any await
            tasks.append(asyncio.create_task(guarded("websocket", self._ws_pump(socket, deliver))))
        try:
            while True:
                item = await queue.get()
                if isinstance(item, _Failure):
                    raise item.error
                yield item
        finally:
            if socket is not None:
                self.sockets.remove(socket)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def _ws_room(self) -> int:
        """User subscriptions left under the venue's per-IP cap, counting every live watch's socket."""
        return max(0, self.capabilities.max_ws_users - sum(len(s.sources) for s in self.sockets))

    async def _backfill(self, source: str, since_ms: int) -> list[SourceFill]:
        return await self.background_info.user_fills_by_time(source, since_ms)

    def _socket(self, sources: list[str], dedup: FillDeduper) -> UserFillsSocket:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=10))
        return UserFillsSocket(
            ws_url(self.base_url),
            sources,
            session=self._session,
            dedup=dedup,
            backfill=self._backfill,
            max_users=self.capabilities.max_ws_users,
            ping_interval_s=self._ping_interval_s,
            backoff=self._backoff,
            faults=self.faults,
        )

    async def _firehose_pump(
        self, sources: list[str], dedup: FillDeduper, deliver: _Deliver
    ) -> AsyncIterator[None]:
        assert self.node_data is not None
        tail = Firehose(self.node_data, sources, position_file=self._firehose_position)
        self.firehoses.append(tail)
        try:
            async for fill in tail.fills():
                if dedup.admit(fill.source, fill):
                    deliver(fill)
                yield None
        finally:
            self.firehoses.remove(tail)

    @staticmethod
    async def _ws_pump(socket: UserFillsSocket, deliver: _Deliver) -> AsyncIterator[None]:
        async for fill in socket.fills():
            deliver(fill)
            yield None

    async def _poll_pump(
        self,
        sources: list[str],
        streamed: set[str],
        dedup: FillDeduper,
        implied: _Implied,
        deliver: _Deliver,
        queue: asyncio.Queue[SourceFill | AccountState | _Failure],
    ) -> AsyncIterator[None]:
        dexes = await self.perp_dexs()
        poller = Poller(self.background_info, sources, interval_s=self._poll_interval_s, dexes=dexes)
        self.pollers.append(poller)
        last: dict[str, dict[str, Decimal]] = {}
        try:
            async for state in poller.snapshots():
                queue.put_nowait(state)
                source = state.address
                current = {p.coin: p.size for p in state.positions}
                previous = last.get(source)
                # A source the websocket does not cover is caught up at its first poll too (fills since
                # the watch start); after that, whenever its positions moved unexplained by fills.
                if previous is None:
                    due = source not in streamed
                else:
                    due = bool(_unexplained(previous, current, implied[source]))
                if due and not await self._catch_up(source, dedup, deliver):
                    continue  # keep `previous`: the next poll retries the catch-up
                last[source] = current
                yield None
        finally:
            self.pollers.remove(poller)

    async def _catch_up(self, source: str, dedup: FillDeduper, deliver: _Deliver) -> bool:
        """Deliver `source`'s fills since its last seen one that no other path delivered."""
        try:
            fills = await self._backfill(source, dedup.cursor(source) - BACKFILL_OVERLAP_MS)
        except Exception as exc:
            log.warning("catch-up of %s failed: %s: %s", source, type(exc).__name__, exc)
            return False
        for fill in fills:
            if dedup.admit(source, fill):
                deliver(replace(fill, source=source))
        return True

    # --- trading ---
    def _slot(self, account: TradingAccount) -> SignerSlot:
        return self.exchange.signer(account.signer_key)

    async def place(self, account: TradingAccount, orders: Sequence[OrderRequest]) -> list[OrderResult]:
        assets = {coin: await self._asset(coin) for coin in {o.coin for o in orders}}
        await self._isolate(account, [o for o in orders if not o.reduce_only])
        return await self.exchange.place(
            self._slot(account), orders, assets, vault_address=account.vault_address
        )

    async def _isolate(self, account: TradingAccount, opening: Sequence[OrderRequest]) -> None:
        """Before an account's first opening order on an isolated-only market (HIP-3 `onlyIsolated`),
        set isolated margin at the market's default leverage (the venue's 20x, capped at its maximum):
        cross margin, every account's default elsewhere, is refused there."""
        for coin in dict.fromkeys(o.coin for o in opening):
            instrument = self._instruments[coin]
            if instrument.only_isolated and (account.address, coin) not in self._isolated:
                leverage = min(ISOLATED_LEVERAGE, instrument.max_leverage)
                try:
                    await self.update_leverage(account, coin, leverage, cross=False)
                except ExchangeError as exc:  # the order still goes: the venue's answer then says why
                    log.warning("isolated margin on %s for %s not set: %s", coin, account.address, exc)
                    continue
                self._isolated.add((account.address, coin))

    async def cancel(self, account: TradingAccount, coin: str, cloid: str) -> bool:
        """True if the order was open and is now cancelled; False if the venue says it was not open
        (filled, cancelled, never placed). Raises `ExchangeRefused` if the request itself was refused
        and `OutcomeUnknown` if no answer came."""
        (error,) = await self.exchange.cancel_by_cloid(
            self._slot(account), [(await self._asset(coin), cloid)], vault_address=account.vault_address
        )
        if error is not None:
            log.info("cancel %s %s: %s", coin, cloid, error)
        return error is None

    async def order_status(self, account: TradingAccount, cloid: str) -> OrderResult:
        """Looked up by cloid on the account whose orders they are (`address`: master, sub-account or
        vault). A fill's average price is read from the account's fills when anything filled."""
        found = await self.info.order_status(account.address, cloid)
        avg_px = None
        if found is not None and (found.order.orig_sz or found.order.sz) > found.order.sz:
            avg_px = await self._avg_px(account.address, found.order.oid, found.order.timestamp_ms)
        return result_from_status(found, cloid, avg_px)

    async def _avg_px(self, user: str, oid: int, since_ms: int) -> Decimal | None:
        fills = [f for f in await self.info.user_fills_by_time(user, since_ms) if f.oid == oid]
        size = sum((f.sz for f in fills), Decimal(0))
        return sum((f.px * f.sz for f in fills), Decimal(0)) / size if size else None

    async def open_orders(self, account: TradingAccount) -> list[OpenOrder]:
        """`frontendOpenOrders` of the account whose orders they are: like `openOrders`, plus each
        trigger order's trigger (price, tp/sl, market or limit)."""
        out: list[OpenOrder] = []
        for dex in await self.perp_dexs():  # one read per perp dex, as the venue answers per dex
            body = {"type": "frontendOpenOrders", "user": account.address, **({"dex": dex} if dex else {})}
            payload = await self.info.post(body)
            if not isinstance(payload, list):
                raise ValueError(f"frontendOpenOrders: expected a list, got {str(payload)[:200]}")
            out.extend(frontend_open_order(raw) for raw in payload)
        return out

    async def schedule_cancel(self, account: TradingAccount, at_ms: int | None) -> None:
        await self.exchange.schedule_cancel(self._slot(account), at_ms, vault_address=account.vault_address)

    async def update_leverage(self, account: TradingAccount, coin: str, leverage: int, cross: bool) -> None:
        await self.exchange.update_leverage(
            self._slot(account), await self._asset(coin), leverage, cross, vault_address=account.vault_address
        )

    async def approve_agent(self, master_key: str, agent_address: str, name: str | None = None) -> None:
        """Let `agent_address` (an API wallet) trade for the master account whose key signs this."""
        await self.exchange.approve_agent(self.exchange.signer(master_key), agent_address, name)

    async def max_builder_fee(self, user: str, builder: str) -> int:
        return await self.info.max_builder_fee(user, builder)

    async def approve_builder_fee(self, master_key: str, builder: str, tenths_bp: int) -> None:
        """`approveBuilderFee` signed by the master key (used for this signature only, never kept)."""
        cap = self.capabilities.max_builder_tenths_bp
        if isinstance(tenths_bp, bool) or not 0 <= tenths_bp <= cap:
            raise ValueError(f"tenths_bp: {tenths_bp!r} (accepted: 0 to {cap})")
        rate = f"{Decimal(tenths_bp).scaleb(-3).normalize():f}%"  # 10 tenths of a bp = 0.01 %
        await self.exchange.approve_builder_fee(self.exchange.one_off_signer(master_key), builder, rate)

    async def close(self) -> None:
        for feed in [self.mids_feed, *self.dex_feeds.values()]:
            if feed is not None:
                await feed.close()
        if self._session is not None:
            await self._session.close()
            self._session = None
        await self.exchange.aclose()
        await self._http.aclose()
