"""HIP-3 on the Hyperliquid adapter, against the real localnet and the unmodified SDK: every perp dex of
`perpDexs` is read — instruments (asset ids as the SDK numbers them), mids, accounts (equity across
dexes), polls, open orders — and an isolated-only market gets isolated margin before an opening order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info

from adapters.hyperliquid.poller import poll_weight
from adapters.hyperliquid.venue import HyperliquidVenue
from bench import capacity
from bot.domain import OrderRequest, OrderStatus, SourceFill, Tif, TradingAccount
from tests.conformance.harness import HyperliquidHarness, unique_sdk_nonce
from tests.conformance.suite import collecting
from tests.waiting import wait_until

D = Decimal
DEXES = ["", "test"]
GOLD = "test:GOLD"


@pytest.fixture(autouse=True)
def unique_sdk_nonces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("hyperliquid.exchange.get_timestamp_ms", unique_sdk_nonce)


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[HyperliquidHarness]:
    made = HyperliquidHarness(tmp_path)
    yield made
    await made.aclose()


async def fund(harness: HyperliquidHarness, address: str, usdc: str, dex: str = "") -> None:
    await harness.control({"type": "fund", "user": address, "usdc": usdc, **({"dex": dex} if dex else {})})


async def sdk_trade(harness: HyperliquidHarness, address: str, coin: str, is_buy: bool, size: str) -> None:
    """`address` trades `coin` on its dex through the SDK told of both dexes."""
    wallet = harness._wallets[address.lower()]

    def trade() -> Any:
        exchange = Exchange(wallet, base_url=harness.url, perp_dexs=DEXES)
        try:
            return exchange.market_open(coin, is_buy, float(size))
        finally:
            exchange.session.close()
            exchange.info.session.close()

    answer = await asyncio.to_thread(trade)
    assert "filled" in answer["response"]["data"]["statuses"][0], answer


async def account_value(harness: HyperliquidHarness, address: str, dex: str) -> Decimal:
    body = {"type": "clearinghouseState", "user": address, **({"dex": dex} if dex else {})}
    answer = (await harness._http.post(f"{harness.url}/info", json=body)).json()
    return Decimal(answer["marginSummary"]["accountValue"])


async def test_builder_dex_assets_are_numbered_as_the_sdk_numbers_them(harness: HyperliquidHarness) -> None:
    venue = harness.make_venue()
    assert await venue.perp_dexs() == DEXES
    instruments = {i.coin: i for i in await venue.instruments()}
    sdk = await asyncio.to_thread(Info, harness.url, True, None, None, DEXES)
    try:
        assert {coin: i.asset for coin, i in instruments.items()} == {
            coin: asset for coin, asset in sdk.coin_to_asset.items() if asset < 10_000 or asset >= 110_000
        }
    finally:
        sdk.session.close()
    assert instruments[GOLD].asset == 110_001 and instruments[GOLD].dex == "test"
    assert instruments["test:MOON"].only_isolated and not instruments[GOLD].only_isolated


async def test_an_account_spans_every_dex_and_its_equity_is_their_sum(harness: HyperliquidHarness) -> None:
    venue = harness.make_venue()
    source = await harness.new_leader("1000")
    await fund(harness, source, "3000", "test")
    await sdk_trade(harness, source, GOLD, True, "0.5")
    state = await venue.account(source)
    assert state.size(GOLD) == D("0.5")
    parts = [await account_value(harness, source, dex) for dex in DEXES]
    assert parts[1] < D(3000)  # the builder dex's fee and spread, paid in its own collateral
    assert state.equity == sum(parts, D(0))
    assert GOLD in await venue.mids()


async def polled(venue: HyperliquidVenue) -> bool:
    return bool(venue.pollers and venue.pollers[0].rounds)


async def test_a_polled_source_trading_on_a_builder_dex_is_watched(harness: HyperliquidHarness) -> None:
    venue = harness.make_venue()
    source = await harness.new_leader("1000")
    await fund(harness, source, "50000", "test")
    harness.limit_streams(venue, 0)  # the poller alone watches it

    async def holds(fills: list[SourceFill], size: Decimal) -> bool:
        return sum((f.signed_sz for f in fills if f.coin == GOLD), D(0)) == size

    async with collecting(venue, [source]) as fills:
        await wait_until(lambda: polled(venue), "a first poll")
        await sdk_trade(harness, source, GOLD, True, "0.3")
        await wait_until(lambda: holds(fills, D("0.3")), "the builder dex's first fills")
        await sdk_trade(harness, source, GOLD, False, "0.1")  # seen as a builder-dex change between polls
        await wait_until(lambda: holds(fills, D("0.2")), "the builder dex's next fills")
        assert venue.pollers[0].dexes == tuple(DEXES)
        assert GOLD in await venue.mids()  # while watching: the builder dex's own allMids stream
        assert venue.dex_feeds["test"].running


async def test_an_isolated_only_market_is_set_to_isolated_before_an_opening_order(
    harness: HyperliquidHarness,
) -> None:
    venue = harness.make_venue()
    account = await harness.new_account("100")
    await fund(harness, account.address, "1000", "test")
    mid = (await venue.mids())["test:MOON"]
    order = OrderRequest("test:MOON", True, D(400), (mid * D("1.05")).quantize(D("0.00001")), False, Tif.IOC)
    (result,) = await venue.place(account, [order])
    assert result.status is OrderStatus.FILLED, result
    sent = [r["action"] for r in (await harness.control({"type": "stats"}))["requests"]]
    assert sent[-2:] == ["updateLeverage", "order"]
    (result,) = await venue.place(account, [order])  # set once per account and market
    sent = [r["action"] for r in (await harness.control({"type": "stats"}))["requests"]]
    assert sent[-2:] == ["order", "order"]


async def test_open_orders_cover_every_dex(harness: HyperliquidHarness) -> None:
    venue = harness.make_venue()
    account: TradingAccount = await harness.new_account("1000")
    await fund(harness, account.address, "5000", "test")
    mid = (await venue.mids())[GOLD]
    order = OrderRequest(
        GOLD, True, D("0.1"), (mid * D("0.9")).quantize(D("0.1")), False, Tif.GTC, "0x" + "ab" * 16
    )
    (result,) = await venue.place(account, [order])
    assert result.status is OrderStatus.RESTING, result
    (listed,) = await venue.open_orders(account)
    assert (listed.coin, listed.cloid) == (GOLD, order.cloid)


def test_each_extra_dex_costs_a_clearinghouse_read_per_poll() -> None:
    assert [poll_weight(n) for n in (1, 2, 5)] == [4, 6, 12]
    with pytest.raises(ValueError, match="dexes"):
        poll_weight(0)


def test_the_capacity_figures_count_each_dex_read() -> None:
    assert [capacity.polled_sources(60, dexes=n) for n in capacity.DEX_COUNTS] == [287, 191, 115, 63]
