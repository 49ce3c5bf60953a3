"""Cross-venue end to end: a GMX source trading on the EVM double is mirrored onto a Hyperliquid follower
on the localnet, with the spec's sizes (worked example 1, then a flip as in example 2).

The pipeline (bot/pipeline) runs one venue for sources and followers, so this drives the engine directly
as `bot/simulate.py` does: GmxVenue.watch → FillCoalescer → strategies.engine.Follower → HyperliquidVenue
(the real adapter, on the real localnet) — every order the follower gets is placed and filled there.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from adapters.gmx.venue import GmxVenue
from adapters.hyperliquid.venue import HyperliquidVenue
from adapters.localnet.server import LocalnetThread
from bot.domain import OrderRequest, OrderStatus, SourceFill, Tif, TradingAccount
from bot.normalise import FillCoalescer
from strategies.config import FollowConfig
from strategies.engine import Follower
from strategies.model import Change, Market
from tests.gmx.evm import new_wallet
from tests.gmx.harness import shared_chain

D = Decimal


@pytest.fixture
def localnet() -> AsyncIterator[LocalnetThread]:  # type: ignore[misc]
    net = LocalnetThread(seed=3).start()
    try:
        yield net
    finally:
        net.stop()


class Mirror:
    """The engine between a GMX source and a Hyperliquid follower (what the pipeline will do)."""

    def __init__(self, source: str, follower: TradingAccount, hl: HyperliquidVenue) -> None:
        self.source, self.follower, self.hl = source, follower, hl
        self.engine = Follower({"ETH": Market("ETH", 4, 50)}, min_notional=D(10), equity=D(1000))
        self.engine.source_equity[source] = D(100_000)
        self.engine.set_mid("ETH", D(3000))
        self.engine.follow(source, FollowConfig())
        self.coalescer = FillCoalescer(source, initial={"ETH": D(0)})
        self.orders: list[tuple[str, Decimal, bool]] = []

    async def apply(self, fills: list[SourceFill]) -> None:
        self.coalescer.add_all(fills)
        for change in self.coalescer.flush():
            decision = self.engine.on_change(
                Change(change.source, change.coin, change.old, change.new, change.avg_px)
            )
            plan = decision.order
            if plan is None:
                continue
            request = OrderRequest(
                plan.coin, plan.is_buy, plan.size, plan.limit_px, plan.reduce_only, Tif.IOC
            )
            (result,) = await self.hl.place(self.follower, [request])
            assert result.status is OrderStatus.FILLED and result.filled_sz == plan.size, result
            self.engine.set_position(plan.coin, self.engine.position(plan.coin) + plan.signed_size)
            self.orders.append((plan.side, plan.size, plan.reduce_only))


@contextlib.asynccontextmanager
async def watched(venue: GmxVenue, source: str) -> AsyncIterator[list[SourceFill]]:
    fills: list[SourceFill] = []

    async def run() -> None:
        async for fill in venue.watch([source]):
            fills.append(fill)

    task = asyncio.create_task(run())
    await asyncio.sleep(0.05)
    try:
        yield fills
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_gmx_source_is_mirrored_on_the_hyperliquid_localnet(
    localnet: LocalnetThread, tmp_path: Path
) -> None:
    chain = shared_chain()
    chain.keeper_auto, chain.cancel_reason, chain.freeze_reason = True, None, None
    gmx = GmxVenue(chain.venue_w3(), chain.deployment, poll_interval_s=0.02, keeper_timeout_s=5)
    wallet = new_wallet("source")
    await chain.fund(wallet.address, D(100_000))
    source = TradingAccount(wallet.address, wallet.key.hex())
    assert (await gmx.account(source.address)).equity == D(100_000)  # E_S

    follower_wallet = new_wallet("follower")
    async with httpx.AsyncClient() as http:
        for message in (
            {"type": "fund", "user": follower_wallet.address, "usdc": "1000"},  # E_F
            {"type": "setMids", "mids": {"ETH": "3000"}},
        ):
            assert (await http.post(f"{localnet.url}/_localnet", json=message)).status_code == 200
    hl = HyperliquidVenue(localnet.url, data_dir=tmp_path, is_mainnet=False)
    follower = TradingAccount(follower_wallet.address, follower_wallet.key.hex())
    mirror = Mirror(source.address, follower, hl)

    async def source_trades(is_buy: bool, size: str, expect_total: Decimal) -> None:
        px = D(3030) if is_buy else D(2970)
        (result,) = await gmx.place(source, [OrderRequest("ETH", is_buy, D(size), px, False, Tif.IOC)])
        assert result.status is OrderStatus.FILLED
        for _ in range(500):
            if sum((f.signed_sz for f in fills), D(0)) == expect_total:
                break
            await asyncio.sleep(0.02)
        new, seen[:] = fills[len(seen) :], fills[:]
        await mirror.apply(new)

    seen: list[SourceFill] = []
    try:
        async with watched(gmx, source.address) as fills:
            await source_trades(True, "10", D(10))  # opens +10 → buy 0.1
            await source_trades(True, "5", D(15))  # +15 → buy 0.05
            await source_trades(True, "5", D(20))  # +20 → buy 0.05 (ratio locked at the open)
            await source_trades(False, "4", D(16))  # +16 → sell 0.04 reduce-only
            await source_trades(False, "21", D(-5))  # flips to −5 in one block → ONE sell of 0.16 + 0.05
            assert (await hl.account(follower.address)).size("ETH") == D("-0.05")
            await source_trades(True, "5", D(0))  # closes → buy 0.05 reduce-only
        assert mirror.orders == [
            ("buy", D("0.1"), False),
            ("buy", D("0.05"), False),
            ("buy", D("0.05"), False),
            ("sell", D("0.04"), True),
            ("sell", D("0.21"), False),
            ("buy", D("0.05"), True),
        ]
        assert (await hl.account(follower.address)).size("ETH") == 0
    finally:
        await hl.close()
