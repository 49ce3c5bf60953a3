"""What the venue conformance suite needs from a venue's test environment, and Hyperliquid's harness.

The suite (suite.py) only talks to the `Venue` protocol and to a `Harness`: funding accounts,
making agent/vault followers, a leader trading through the venue's own SDK, prices, faults. A new venue
adds a harness class and a test class inheriting `VenueConformance` that names it (test_venues.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import httpx
from aiohttp import web
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from hyperliquid.exchange import Exchange

from adapters.hyperliquid.venue import HyperliquidVenue
from adapters.hyperliquid.ws import Backoff
from adapters.localnet.rules import round_price
from adapters.localnet.server import LocalnetThread, wall_clock_ms
from bench.rig import unpaced
from bot.domain import Instrument, TradingAccount, Venue


class Harness(Protocol):
    name: str
    words: dict[str, str]  # the venue's wording of refusals: reduce_only, min_notional, leverage

    def make_venue(self, **options: Any) -> Venue: ...

    async def make_lossy_venue(self) -> Venue:
        """A venue client whose link loses the answers of its next `lose_answers(n)` order requests
        AFTER the venue executed them (the connection drops on the way back)."""
        ...

    def lose_answers(self, count: int) -> None: ...

    async def new_account(self, usdc: str = "100000") -> TradingAccount: ...

    async def new_agent_account(self, venue: Venue, usdc: str = "100000") -> TradingAccount: ...

    async def new_vault_account(self, usdc: str = "100000") -> TradingAccount: ...

    async def new_leader(self, usdc: str = "100000") -> str: ...

    async def leader_trade(self, leader: str, coin: str, is_buy: bool, size: Decimal) -> None: ...

    async def limit_px(self, venue: Venue, coin: str, is_buy: bool, offset: Decimal) -> Decimal:
        """A valid price `offset` (a fraction) through the mid: positive crosses, negative rests."""
        ...

    async def large_ioc(self, venue: Venue, coin: str) -> tuple[Decimal, Decimal]:
        """(size, limit price) of a buy larger than the book holds up to that price."""
        ...

    def now_ms(self) -> int:
        """The venue's clock (UTC ms)."""
        ...

    def advance_clock(self, ms: int) -> None: ...

    async def break_streams(self) -> None:
        """Drop every stream connection and keep refusing new ones until `restore_streams`."""
        ...

    async def restore_streams(self) -> None: ...

    async def is_streaming(self, venue: Venue) -> bool: ...

    def limit_streams(self, venue: Venue, users: int) -> None:
        """Make the venue's per-connection stream cap `users` (to exercise polling past the cap)."""
        ...

    async def fault(self, **fields: Any) -> None: ...

    async def aclose(self) -> None: ...


class SteppedClock:
    """The localnet's clock: wall time plus an offset a test may move forward (scheduleCancel)."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def __call__(self) -> int:
        return wall_clock_ms() + self.offset_ms


_keys = itertools.count()
_sdk_nonce_lock = threading.Lock()
_sdk_last_nonce = [0]


def unique_sdk_nonce() -> int:
    """The SDK takes nonces from the wall clock: two actions of one signer in one ms would collide."""
    with _sdk_nonce_lock:
        _sdk_last_nonce[0] = max(wall_clock_ms(), _sdk_last_nonce[0] + 1)
        return _sdk_last_nonce[0]


class LossyLink:
    """A pass-through HTTP hop in front of the localnet that, while `lose > 0`, lets an /exchange
    request reach the venue and execute, then drops the connection instead of answering: a lost
    answer, which no injected server fault produces (the localnet's faults act before executing)."""

    def __init__(self, upstream: str) -> None:
        self._upstream = upstream
        self._client = httpx.AsyncClient(timeout=10)
        self._runner: web.AppRunner | None = None
        self.lose = 0
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{path:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        await self._client.aclose()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        answer = await self._client.post(
            f"{self._upstream}/{request.match_info['path']}",
            content=await request.read(),
            headers={"Content-Type": "application/json"},
        )
        if request.path == "/exchange" and self.lose > 0:
            self.lose -= 1
            assert request.transport is not None
            request.transport.close()  # executed upstream; the answer never comes back
        return web.Response(body=answer.content, status=answer.status_code, content_type="application/json")


class HyperliquidHarness:
    """The localnet on its own thread (fresh per test), controlled over `POST /_localnet`."""

    name = "hyperliquid"

    def __init__(self, tmp_path: Path) -> None:
        self.words = {
            "reduce_only": "Reduce only order would increase position",
            "min_notional": "Order must have minimum value of $10",
            "leverage": "Invalid leverage value",
            "builder_fee": "Builder fee has not been approved",
        }
        self.clock = SteppedClock()
        self.net = LocalnetThread(seed=7, clock_ms=self.clock).start()
        self.url = self.net.url
        self._tmp = tmp_path
        self._http = httpx.AsyncClient(timeout=10)
        self._venues: list[HyperliquidVenue] = []
        self._wallets: dict[str, LocalAccount] = {}
        self._sdk: dict[str, Exchange] = {}
        self._proxy: LossyLink | None = None

    async def aclose(self) -> None:
        for venue in self._venues:
            await venue.close()
        await self._http.aclose()
        if self._proxy is not None:
            await self._proxy.stop()
        for sdk in self._sdk.values():
            sdk.session.close()
            sdk.info.session.close()
        self.net.stop()

    def make_venue(self, **options: Any) -> HyperliquidVenue:
        options.setdefault("data_dir", self._tmp / f"venue{len(self._venues)}")
        options.setdefault("backoff", Backoff(base_s=0.05, cap_s=0.2))
        options.setdefault("poll_interval_s", 0.2)
        options.setdefault("budget", unpaced())  # the localnet has no weight limit to respect
        venue = HyperliquidVenue(self.url, **options)
        self._venues.append(venue)
        return venue

    async def make_lossy_venue(self) -> HyperliquidVenue:
        if self._proxy is None:
            self._proxy = LossyLink(self.url)
            await self._proxy.start()
        venue = HyperliquidVenue(
            self._proxy.url, data_dir=self._tmp / "lossy", is_mainnet=False, budget=unpaced()
        )
        self._venues.append(venue)
        return venue

    def lose_answers(self, count: int) -> None:
        assert self._proxy is not None, "make_lossy_venue first"
        self._proxy.lose = count

    async def control(self, message: dict[str, Any]) -> dict[str, Any]:
        response = await self._http.post(f"{self.url}/_localnet", json=message)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def _wallet(self, usdc: str | None) -> LocalAccount:
        account: LocalAccount = Account.from_key(keccak(text=f"mirrorbot-conformance-{next(_keys)}"))
        self._wallets[account.address.lower()] = account
        if usdc is not None:
            await self.control({"type": "fund", "user": account.address, "usdc": usdc})
        return account

    async def new_account(self, usdc: str = "100000") -> TradingAccount:
        wallet = await self._wallet(usdc)
        return TradingAccount(wallet.address, wallet.key.hex())

    async def new_agent_account(self, venue: Venue, usdc: str = "100000") -> TradingAccount:
        assert isinstance(venue, HyperliquidVenue)
        master = await self._wallet(usdc)
        agent = await self._wallet(None)  # an API wallet: no account of its own
        await venue.approve_agent(master.key.hex(), agent.address, "mirrorbot")
        return TradingAccount(master.address, agent.key.hex())

    async def new_vault_account(self, usdc: str = "100000") -> TradingAccount:
        leader = await self._wallet("1000")
        vault = (await self.control({"type": "createVault", "leader": leader.address, "usdc": usdc}))["vault"]
        return TradingAccount(vault, leader.key.hex(), vault_address=vault)

    async def new_leader(self, usdc: str = "100000") -> str:
        wallet = await self._wallet(usdc)
        return str(wallet.address)

    def _sdk_for(self, address: str) -> Exchange:
        if address not in self._sdk:
            self._sdk[address] = Exchange(self._wallets[address.lower()], base_url=self.url)
        return self._sdk[address]

    async def leader_trade(self, leader: str, coin: str, is_buy: bool, size: Decimal) -> None:
        """The leader trades through the real hyperliquid SDK (synchronous: on a worker thread)."""

        def trade() -> Any:
            return self._sdk_for(leader).market_open(coin, is_buy, float(size))

        answer = await asyncio.to_thread(trade)
        status = answer["response"]["data"]["statuses"][0]
        assert "filled" in status, answer

    async def _instrument(self, venue: Venue, coin: str) -> Instrument:
        return next(i for i in await venue.instruments() if i.coin == coin)

    async def limit_px(self, venue: Venue, coin: str, is_buy: bool, offset: Decimal) -> Decimal:
        mid = (await venue.mids())[coin]
        instrument = await self._instrument(venue, coin)
        px = mid * (1 + offset) if is_buy else mid * (1 - offset)
        return round_price(px, instrument.sz_decimals, up=None)

    async def large_ioc(self, venue: Venue, coin: str) -> tuple[Decimal, Decimal]:
        # The localnet's book: 20 synthetic levels a side, each ~level_usd·(4+i)/4; 3 bp through the mid
        # reaches only the first levels (~$1M for ETH), far less than $3M.
        mid = (await venue.mids())[coin]
        instrument = await self._instrument(venue, coin)
        size = (Decimal(3_000_000) / mid).quantize(instrument.lot)
        return size, await self.limit_px(venue, coin, True, Decimal("0.0003"))

    def now_ms(self) -> int:
        return self.clock()

    def advance_clock(self, ms: int) -> None:
        self.clock.offset_ms += ms

    async def break_streams(self) -> None:
        await self.control({"type": "fault", "dropWsRate": 1, "dropWsNow": True})

    async def restore_streams(self) -> None:
        await self.control({"type": "fault", "dropWsRate": 0})

    async def is_streaming(self, venue: Venue) -> bool:
        assert isinstance(venue, HyperliquidVenue)
        return bool(venue.sockets) and all(s.connected.is_set() for s in venue.sockets)

    def limit_streams(self, venue: Venue, users: int) -> None:
        assert isinstance(venue, HyperliquidVenue)
        venue.capabilities = dataclasses.replace(venue.capabilities, max_ws_users=users)

    async def fault(self, **fields: Any) -> None:
        await self.control({"type": "fault", **fields})
