"""GMX's harness for the venue conformance suite (tests/conformance): the GMX doubles on a fresh
in-process EVM per test, the keeper acting after every transaction, faults on the node link.

What GMX cannot do is skipped by the suite through the capabilities (no websocket, no cloid on the
venue, no schedule cancel, no agents, no vaults); `large_ioc` skips here because a GMX market order never
fills in part (it executes in full or is cancelled).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.gmx.orders import REDUCE_ONLY_WORDS
from adapters.gmx.venue import LEVERAGE_WORDS, MIN_NOTIONAL_WORDS, GmxVenue
from bot.domain import OrderRequest, OrderStatus, Tif, TradingAccount, Venue
from tests.gmx.evm import GmxChainDouble, new_wallet, start_chain

_shared: list[GmxChainDouble] = []


def shared_chain() -> GmxChainDouble:
    """One EVM with the doubles for the whole run (every test uses fresh accounts on it). Started on a
    worker thread's loop: harness factories are synchronous, and eth-tester holds no loop state."""
    if not _shared:
        with ThreadPoolExecutor(1) as pool:
            _shared.append(pool.submit(asyncio.run, start_chain()).result())
    return _shared[0]


class GmxHarness:
    name = "gmx"

    def __init__(self, tmp_path: Path) -> None:
        self.words = {
            "reduce_only": REDUCE_ONLY_WORDS,
            "min_notional": MIN_NOTIONAL_WORDS.format(10),
            "leverage": LEVERAGE_WORDS,
        }
        self._tmp = tmp_path
        self.chain = shared_chain()
        self._venues: list[GmxVenue] = []
        self._leaders: dict[str, TradingAccount] = {}

    def make_venue(self, **options: Any) -> GmxVenue:
        chain = self.chain
        options.setdefault("poll_interval_s", 0.05)
        options.setdefault("keeper_timeout_s", 5.0)
        options.setdefault("data_dir", self._tmp / f"venue{len(self._venues)}")
        venue = GmxVenue(chain.venue_w3(), chain.deployment, **options)
        self._venues.append(venue)
        return venue

    async def make_lossy_venue(self) -> GmxVenue:
        return self.make_venue()

    def lose_answers(self, count: int) -> None:
        self.chain.faults.lose = count

    async def new_account(self, usdc: str = "100000") -> TradingAccount:
        wallet = new_wallet("follower")
        await self.chain.fund(wallet.address, Decimal(usdc))
        return TradingAccount(wallet.address, wallet.key.hex())

    async def new_agent_account(self, venue: Venue, usdc: str = "100000") -> TradingAccount:
        pytest.skip("gmx has no agent wallets")

    async def new_vault_account(self, usdc: str = "100000") -> TradingAccount:
        pytest.skip("gmx has no vaults")

    async def new_leader(self, usdc: str = "100000") -> str:
        account = await self.new_account(usdc)
        self._leaders[account.address.lower()] = account
        return account.address

    async def leader_trade(self, leader: str, coin: str, is_buy: bool, size: Decimal) -> None:
        """The leader trades through the ExchangeRouter as any GMX user would (a venue client of its own)."""
        venue = self._venues[0] if self._venues else self.make_venue()
        px = await self.limit_px(venue, coin, is_buy, Decimal("0.01"))
        (result,) = await venue.place(
            self._leaders[leader.lower()], [OrderRequest(coin, is_buy, size, px, False, Tif.IOC)]
        )
        assert result.status is OrderStatus.FILLED, result

    async def limit_px(self, venue: Venue, coin: str, is_buy: bool, offset: Decimal) -> Decimal:
        mid = (await venue.mids())[coin]
        return mid * (1 + offset) if is_buy else mid * (1 - offset)

    async def large_ioc(self, venue: Venue, coin: str) -> tuple[Decimal, Decimal]:
        pytest.skip("a GMX market order executes in full or is cancelled: no partial fills")

    def now_ms(self) -> int:
        pytest.skip("gmx has no venue clock control (no schedule_cancel)")

    def advance_clock(self, ms: int) -> None:
        pytest.skip("gmx has no venue clock control (no schedule_cancel)")

    async def break_streams(self) -> None:
        pytest.skip("gmx has no streams")

    async def restore_streams(self) -> None:
        pytest.skip("gmx has no streams")

    async def is_streaming(self, venue: Venue) -> bool:
        return False

    def limit_streams(self, venue: Venue, users: int) -> None:
        pass  # no streams: every source is polled already

    async def fault(self, **fields: Any) -> None:
        faults = self.chain.faults
        if fields.get("clear"):
            faults.rate5xx, faults.latency_s, faults.lose = False, 0.0, 0
            return
        if "rate5xx" in fields:
            faults.rate5xx = bool(fields["rate5xx"])
        if "latencyMs" in fields:
            faults.latency_s = float(fields["latencyMs"]) / 1000

    async def aclose(self) -> None:
        await self.fault(clear=True)
        for venue in self._venues:
            await venue.close()
