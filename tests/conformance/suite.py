"""The venue conformance suite (hummingbot's idea): one base class written against the `Venue` protocol
only. Each venue's test class inherits `VenueConformance` and names its harness, so a test added here runs
for every venue (tests/conformance/test_venues.py, tests/paper/test_conformance.py). What a venue cannot
do is a visible skip: by its capabilities (`requires`), or declared with the reason in its class's
`cannot`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

import pytest
from eth_account import Account

from bot.domain import (
    DEFAULT_DEX,
    AccountRole,
    BuilderFee,
    OrderRequest,
    OrderResult,
    OrderStatus,
    SourceFill,
    Tif,
    Tpsl,
    TradingAccount,
    Trigger,
    Venue,
    VenueRequestError,
)
from tests.conformance.harness import Harness
from tests.waiting import wait_until

D = Decimal
COIN = "ETH"
YEAR_2100_MS = 4_102_444_800_000  # an end bound after any fill
_cloids = itertools.count(1)


def new_cloid() -> str:
    return f"0x{next(_cloids):032x}"


def requires(venue: Venue, capability: str) -> None:
    if not getattr(venue.capabilities, capability):
        pytest.skip(f"{venue.capabilities.name} has no {capability}")


async def position(venue: Venue, address: str, coin: str = COIN) -> Decimal:
    return (await venue.account(address)).size(coin)


async def ioc(
    harness: Harness,
    venue: Venue,
    account: TradingAccount,
    size: Decimal,
    *,
    is_buy: bool = True,
    reduce_only: bool = False,
) -> OrderResult:
    px = await harness.limit_px(venue, COIN, is_buy, D("0.01"))
    (result,) = await venue.place(
        account, [OrderRequest(COIN, is_buy, size, px, reduce_only, Tif.IOC, new_cloid())]
    )
    return result


async def resting_gtc(harness: Harness, venue: Venue, account: TradingAccount) -> OrderResult:
    px = await harness.limit_px(venue, COIN, True, D("-0.2"))
    (result,) = await venue.place(
        account, [OrderRequest(COIN, True, D("0.01"), px, False, Tif.GTC, new_cloid())]
    )
    assert result.status is OrderStatus.RESTING, result
    return result


# --- watching sources ---------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def collecting(venue: Venue, sources: list[str]) -> AsyncIterator[list[SourceFill]]:
    collected: list[SourceFill] = []

    async def run() -> None:
        async for fill in venue.watch(sources):
            collected.append(fill)

    task = asyncio.create_task(run())
    try:
        yield collected
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if task.done() and not task.cancelled() and task.exception() is not None:
        raise AssertionError("watch failed") from task.exception()


def identities(fills: list[SourceFill]) -> list[tuple[object, ...]]:
    return [(f.source, f.tid, f.oid, f.hash, f.px, f.sz, f.time_ms) for f in fills]


async def wait_for_size(fills: list[SourceFill], coin: str, size: Decimal) -> None:
    async def reached() -> bool:
        return sum((f.signed_sz for f in fills if f.coin == coin), D(0)) == size

    await wait_until(reached, f"fills summing to {size} {coin}")


async def not_(probe: Callable[[], Awaitable[bool]]) -> bool:
    return not await probe()


async def has_size(fills: list[SourceFill], source: str, size: Decimal) -> bool:
    return sum((f.signed_sz for f in fills if f.source == source and f.coin == COIN), D(0)) == size


async def long_position(harness: Harness, venue: Venue, account: TradingAccount) -> Decimal:
    filled = (await ioc(harness, venue, account, D("0.5"))).filled_sz
    assert filled == D("0.5")
    return filled


async def stop_loss(
    harness: Harness, venue: Venue, account: TradingAccount, size: Decimal, offset: Decimal
) -> OrderRequest:
    """A reduce-only market sell stop `offset` below the mid (negative: above it, so already crossed)."""
    trigger_px = await harness.limit_px(venue, COIN, False, offset)
    limit = await harness.limit_px(venue, COIN, False, offset + D("0.1"))
    return OrderRequest(
        COIN,
        False,
        size,
        limit,
        True,
        Tif.GTC,
        new_cloid(),
        Trigger(trigger_px, Tpsl.STOP_LOSS, is_market=True),
    )


def _fill_key(fill: SourceFill) -> tuple[object, ...]:
    return (fill.coin, fill.oid, fill.tid, fill.time_ms, fill.sz, fill.px)


async def _two(read: Awaitable[list[SourceFill]]) -> list[SourceFill] | None:
    fills = await read
    return fills if len(fills) == 2 else None


class VenueConformance:
    """Inherit this (as `Test<Venue>`) and make the venue's harness; every test below runs for the venue."""

    # test name -> why this venue cannot do it (not a capability flag): the skip reason pytest shows
    cannot: ClassVar[Mapping[str, str]] = {}

    @pytest.fixture
    async def harness(self, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
        reason = self.cannot.get(request.function.__name__)
        if reason is not None:
            pytest.skip(f"{type(self).__name__} cannot: {reason}")
        made = self.make_harness(tmp_path)
        try:
            yield made
        finally:
            await made.aclose()

    def make_harness(self, tmp_path: Path) -> Harness:
        raise NotImplementedError(f"{type(self).__name__} names no harness")

    # --- market data and accounts ---------------------------------------------------------------------

    async def test_instruments(self, harness: Harness) -> None:
        venue = harness.make_venue()
        instruments = await venue.instruments()
        assert COIN in {i.coin for i in instruments}
        assert len({i.asset for i in instruments}) == len(instruments)
        for instrument in instruments:
            assert instrument.lot > 0 and instrument.max_leverage >= 1

    async def test_perp_dexs_start_with_the_default_and_hold_every_instrument(self, harness: Harness) -> None:
        """Every venue names its perp dexes (HIP-3): the default dex first, each listed once, and every
        instrument on one of them (a builder dex's coins named `dex:COIN`)."""
        venue = harness.make_venue()
        dexes = await venue.perp_dexs()
        assert dexes[0] == DEFAULT_DEX and len(set(dexes)) == len(dexes)
        instruments = await venue.instruments()
        assert {i.dex for i in instruments} <= set(dexes)
        assert COIN in {i.coin for i in instruments if i.dex == DEFAULT_DEX}

    async def test_mids_cover_the_instruments(self, harness: Harness) -> None:
        venue = harness.make_venue()
        mids = await venue.mids()
        assert {i.coin for i in await venue.instruments()} <= set(mids)
        assert all(isinstance(px, Decimal) and px > 0 for px in mids.values())

    async def test_reference_prices_are_listed_coins_near_their_mids_or_none(self, harness: Harness) -> None:
        # SPEC §11: the price each order's mid is checked against; {} when the venue has none but its mids
        venue = harness.make_venue()
        refs, mids = await venue.reference_prices(), await venue.mids()
        assert set(refs) <= {i.coin for i in await venue.instruments()}
        for coin, ref in refs.items():
            assert isinstance(ref, Decimal) and ref > 0
            assert abs(ref - mids[coin]) / ref < D("0.05"), (coin, ref, mids[coin])

    async def test_account_equity_and_positions_after_a_trade(self, harness: Harness) -> None:
        venue = harness.make_venue()
        account = await harness.new_account("20000")
        before = await venue.account(account.address)
        assert before.equity == D("20000")
        assert before.positions == ()
        result = await ioc(harness, venue, account, D("0.5"))
        after = await venue.account(account.address)
        assert after.size(COIN) == result.filled_sz == D("0.5")
        assert 0 < before.equity - after.equity < D("20")  # fees and the spread crossed, nothing else

    # --- orders -----------------------------------------------------------------------------------------

    async def test_an_ioc_that_fills_moves_the_position_by_its_size(self, harness: Harness) -> None:
        venue = harness.make_venue()
        account = await harness.new_account()
        result = await ioc(harness, venue, account, D("0.2"))
        assert result.status is OrderStatus.FILLED
        assert result.filled_sz == D("0.2")
        assert result.avg_px is not None and result.oid is not None
        assert await position(venue, account.address) == D("0.2")
        sold = await ioc(harness, venue, account, D("0.2"), is_buy=False, reduce_only=True)
        assert sold.filled_sz == D("0.2")
        assert await position(venue, account.address) == 0

    async def test_a_large_ioc_fills_in_part_and_the_rest_is_cancelled(self, harness: Harness) -> None:
        venue = harness.make_venue()
        account = await harness.new_account("2000000")
        size, px = await harness.large_ioc(venue, COIN)
        cloid = new_cloid()
        (result,) = await venue.place(account, [OrderRequest(COIN, True, size, px, False, Tif.IOC, cloid)])
        assert result.status is OrderStatus.FILLED
        assert 0 < result.filled_sz < size
        assert await position(venue, account.address) == result.filled_sz
        looked_up = await venue.order_status(account, cloid)
        assert (looked_up.status, looked_up.filled_sz) == (OrderStatus.FILLED, result.filled_sz)
        assert looked_up.avg_px is not None and result.avg_px is not None
        assert abs(looked_up.avg_px - result.avg_px) <= result.avg_px * D(
            "0.0001"
        )  # the venue rounds its avgPx

    async def test_reduce_only_that_would_increase_is_refused(self, harness: Harness) -> None:
        venue = harness.make_venue()
        account = await harness.new_account()
        result = await ioc(harness, venue, account, D("0.1"), is_buy=False, reduce_only=True)
        assert result.status is OrderStatus.REJECTED
        assert result.error is not None and harness.words["reduce_only"] in result.error
        assert await position(venue, account.address) == 0

    async def test_an_order_below_the_minimum_value_is_refused_in_the_venues_words(
        self, harness: Harness
    ) -> None:
        venue = harness.make_venue()
        account = await harness.new_account()
        mid = (await venue.mids())[COIN]
        lot = next(i.lot for i in await venue.instruments() if i.coin == COIN)
        size = (venue.capabilities.min_notional / 2 / mid).quantize(lot)
        result = await ioc(harness, venue, account, size)
        assert result.status is OrderStatus.REJECTED
        assert result.error is not None and harness.words["min_notional"] in result.error

    async def test_place_then_status_by_cloid_then_cancel_by_cloid(self, harness: Harness) -> None:
        venue = harness.make_venue()
        requires(venue, "order_by_cloid")
        account = await harness.new_account()
        placed = await resting_gtc(harness, venue, account)
        assert placed.cloid is not None
        status = await venue.order_status(account, placed.cloid)
        assert (status.status, status.oid, status.filled_sz) == (OrderStatus.RESTING, placed.oid, D(0))
        assert await venue.cancel(account, COIN, placed.cloid) is True
        assert (await venue.order_status(account, placed.cloid)).status is OrderStatus.CANCELED
        assert await venue.cancel(account, COIN, placed.cloid) is False  # not open any more

    async def test_an_unknown_cloid_is_not_found(self, harness: Harness) -> None:
        venue = harness.make_venue()
        account = await harness.new_account()
        assert (await venue.order_status(account, new_cloid())).status is OrderStatus.NOT_FOUND

    async def test_schedule_cancel_cancels_open_orders_at_the_time_and_can_be_disarmed(
        self, harness: Harness
    ) -> None:
        venue = harness.make_venue()
        requires(venue, "schedule_cancel")
        account = await harness.new_account()
        kept = await resting_gtc(harness, venue, account)
        await venue.schedule_cancel(account, harness.now_ms() + 10_000)
        await venue.schedule_cancel(account, None)  # disarmed: nothing happens at that time
        harness.advance_clock(11_000)
        assert kept.cloid is not None
        assert (await venue.order_status(account, kept.cloid)).status is OrderStatus.RESTING
        doomed = await resting_gtc(harness, venue, account)
        await venue.schedule_cancel(account, harness.now_ms() + 10_000)
        harness.advance_clock(11_000)
        for result in (kept, doomed):
            assert result.cloid is not None
            assert (await venue.order_status(account, result.cloid)).status is OrderStatus.CANCELED

    async def test_update_leverage_applies_and_an_invalid_value_is_refused(self, harness: Harness) -> None:
        venue = harness.make_venue()
        account = await harness.new_account()
        await venue.update_leverage(account, COIN, 7, True)
        await ioc(harness, venue, account, D("0.1"))
        (pos,) = (await venue.account(account.address)).positions
        assert pos.leverage == 7
        maximum = next(i.max_leverage for i in await venue.instruments() if i.coin == COIN)
        with pytest.raises(Exception, match=harness.words["leverage"]):
            await venue.update_leverage(account, COIN, maximum + 1, True)

    async def test_an_agent_wallet_trades_for_its_master(self, harness: Harness) -> None:
        venue = harness.make_venue()
        requires(venue, "agent_wallets")
        account = await harness.new_agent_account(venue)
        result = await ioc(harness, venue, account, D("0.1"))
        assert result.status is OrderStatus.FILLED
        assert await position(venue, account.address) == D("0.1")
        assert result.cloid is not None
        assert (await venue.order_status(account, result.cloid)).status is OrderStatus.FILLED

    async def test_fills_between_is_the_history_cut_at_both_ends(self, harness: Harness) -> None:
        venue = harness.make_venue()
        leader = await harness.new_leader()
        await harness.leader_trade(leader, COIN, True, D("0.1"))
        await harness.leader_trade(leader, COIN, False, D("0.05"))
        before = venue.requests_made()
        truth = await wait_until(lambda: _two(venue.fills_since(leader, 0)), "both fills are listed")
        assert venue.requests_made() >= before  # a counter: it never goes back
        first, last = sorted(truth, key=lambda f: f.time_ms)
        everything = await venue.fills_between(leader, 0, YEAR_2100_MS)
        assert sorted(map(_fill_key, everything)) == sorted(map(_fill_key, truth))
        up_to_first = await venue.fills_between(leader, 0, first.time_ms)
        assert sorted(map(_fill_key, up_to_first)) == sorted(
            _fill_key(f) for f in truth if f.time_ms <= first.time_ms
        )
        from_last = await venue.fills_between(leader, last.time_ms, last.time_ms)
        assert sorted(map(_fill_key, from_last)) == sorted(
            _fill_key(f) for f in truth if f.time_ms == last.time_ms
        )
        assert await venue.fills_between(leader, last.time_ms + 1, last.time_ms + 60_000) == []

    async def test_funding_history_is_read_or_refused_in_the_venues_words(self, harness: Harness) -> None:
        venue = harness.make_venue()
        if not venue.capabilities.funding_history:
            with pytest.raises(NotImplementedError):
                await venue.funding(await harness.new_leader(), 0, YEAR_2100_MS)
            pytest.skip(f"{venue.capabilities.name} has no funding_history")
        leader = await harness.new_leader()
        refusal: VenueRequestError | None = None
        try:
            payments = await venue.funding(leader, 0, YEAR_2100_MS)
        except VenueRequestError as exc:  # the localnet does not serve userFunding: a refusal, typed
            refusal, payments = exc, []
        assert refusal is None or (refusal.status is not None and 400 <= refusal.status < 500)
        assert payments == sorted(payments, key=lambda p: p.time_ms)

    async def test_hourly_candles_are_read_in_order_or_refused(self, harness: Harness) -> None:
        # SPEC §10: σ comes from the venue's hourly candles; a venue without them says so
        venue = harness.make_venue()
        if not venue.capabilities.candles:
            with pytest.raises(NotImplementedError):
                await venue.hourly_candles(COIN, 0, YEAR_2100_MS)
            pytest.skip(f"{venue.capabilities.name} has no candles")
        leader, hour = await harness.new_leader(), 3_600_000
        start = harness.now_ms() - hour
        for _ in range(3):  # a trade in each of three hours
            await harness.leader_trade(leader, COIN, True, D("0.01"))
            harness.advance_clock(hour)
        candles = await venue.hourly_candles(COIN, start, harness.now_ms())
        assert len(candles) >= 3
        times = [c.time_ms for c in candles]
        assert times == sorted(set(times)) and all(t % hour == 0 for t in times)
        assert start - hour < times[0] and times[-1] <= harness.now_ms()
        for c in candles:
            assert 0 < c.low <= min(c.open, c.close) <= max(c.open, c.close) <= c.high
        assert await venue.hourly_candles(COIN, times[-1] + hour, times[-1] + 2 * hour) == []

    async def test_order_book_has_both_sides_around_the_mid(self, harness: Harness) -> None:
        venue = harness.make_venue()
        if not venue.capabilities.order_book:
            with pytest.raises(NotImplementedError):
                await venue.order_book(COIN)
            pytest.skip(f"{venue.capabilities.name} has no order_book")
        book = await venue.order_book(COIN)
        assert book is not None and book.coin == COIN and book.bids and book.asks
        mid = (await venue.mids())[COIN]
        assert book.bids[0].px <= mid <= book.asks[0].px
        assert all(a.px > b.px for a, b in itertools.pairwise(book.bids))

    async def test_account_roles_name_masters_agents_and_unknown_addresses(self, harness: Harness) -> None:
        venue = harness.make_venue()
        requires(venue, "agent_wallets")
        account = await harness.new_agent_account(venue)
        master = account.address.lower()
        agent = Account.from_key(account.signer_key).address.lower()
        assert await venue.account_role(master) == AccountRole("user")
        assert await venue.account_role(agent) == AccountRole("agent", master)
        assert (await venue.account_role(Account.create().address.lower())).role == "missing"
        (approval,) = await venue.agents(master)
        assert approval.address == agent and approval.name == "mirrorbot"

    async def test_a_venue_without_agent_wallets_refuses_role_reads(self, harness: Harness) -> None:
        venue = harness.make_venue()
        if venue.capabilities.agent_wallets:
            pytest.skip(f"{venue.capabilities.name} has agent_wallets")
        address = Account.create().address.lower()
        with pytest.raises(NotImplementedError):
            await venue.account_role(address)
        with pytest.raises(NotImplementedError):
            await venue.agents(address)

    # --- builder codes (SPEC §14) --------------------------------------------------------------------

    async def test_an_approved_builder_is_paid_on_fills_and_an_unapproved_one_refused(
        self, harness: Harness
    ) -> None:
        venue = harness.make_venue()
        requires(venue, "builder_codes")
        account = await harness.new_account()
        builder = (await harness.new_account("100")).address.lower()
        builder_equity = (await venue.account(builder)).equity
        assert await venue.max_builder_fee(account.address, builder) == 0
        px = await harness.limit_px(venue, COIN, True, D("0.01"))
        order = OrderRequest(
            COIN, True, D("0.1"), px, False, Tif.IOC, new_cloid(), builder=BuilderFee(builder, 10)
        )
        (refused,) = await venue.place(account, [order])
        assert refused.status is OrderStatus.REJECTED and harness.words["builder_fee"] in (
            refused.error or ""
        )
        assert await position(venue, account.address) == 0  # refused: nothing traded
        with pytest.raises(ValueError, match="tenths_bp"):  # above the venue's cap: nothing signed
            await venue.approve_builder_fee(
                account.signer_key, builder, venue.capabilities.max_builder_tenths_bp + 1
            )
        await venue.approve_builder_fee(account.signer_key, builder, 10)
        assert await venue.max_builder_fee(account.address, builder) == 10
        above = replace(order, cloid=new_cloid(), builder=BuilderFee(builder, 11))
        assert (await venue.place(account, [above]))[0].status is OrderStatus.REJECTED
        (paid,) = await venue.place(account, [replace(order, cloid=new_cloid())])
        assert paid.status is OrderStatus.FILLED and paid.avg_px is not None
        (fill,) = await venue.fills_since(account.address, 0)
        assert fill.builder_fee == (fill.px * fill.sz * 10 / 100_000).quantize(D("0.000001"))
        assert fill.builder_fee > 0 and fill.fee > fill.builder_fee  # the venue's fee includes it
        assert (await venue.account(builder)).equity == builder_equity + fill.builder_fee

    async def test_a_venue_without_builder_codes_refuses_builder_reads_and_approvals(
        self, harness: Harness
    ) -> None:
        venue = harness.make_venue()
        if venue.capabilities.builder_codes:
            pytest.skip(f"{venue.capabilities.name} has builder_codes (the test above)")
        assert venue.capabilities.max_builder_tenths_bp == 0
        account = await harness.new_account()
        builder = Account.create().address.lower()
        with pytest.raises(NotImplementedError):
            await venue.max_builder_fee(account.address, builder)
        with pytest.raises(NotImplementedError):
            await venue.approve_builder_fee(account.signer_key, builder, 10)

    async def test_a_vault_follower_trades_through_vault_address(self, harness: Harness) -> None:
        venue = harness.make_venue()
        requires(venue, "vaults")
        account = await harness.new_vault_account()
        assert account.vault_address is not None
        result = await ioc(harness, venue, account, D("0.1"))
        assert result.status is OrderStatus.FILLED
        assert await position(venue, account.vault_address) == D("0.1")

    # --- no answer: UNKNOWN, then a lookup by cloid -------------------------------------------------------

    async def test_a_lost_answer_is_unknown_and_the_lookup_finds_what_executed(
        self, harness: Harness
    ) -> None:
        venue = await harness.make_lossy_venue()
        account = await harness.new_account()
        px = await harness.limit_px(venue, COIN, True, D("0.01"))
        cloid = new_cloid()
        harness.lose_answers(1)
        (result,) = await venue.place(
            account, [OrderRequest(COIN, True, D("0.1"), px, False, Tif.IOC, cloid)]
        )
        assert result.status is OrderStatus.UNKNOWN and result.cloid == cloid
        status = await venue.order_status(account, cloid)
        assert (status.status, status.filled_sz) == (OrderStatus.FILLED, D("0.1"))
        assert await position(venue, account.address) == D("0.1")  # once: nothing was resent

    async def test_a_timeout_is_unknown_never_resent(self, harness: Harness) -> None:
        venue = harness.make_venue(timeout_s=0.2)
        account = await harness.new_account()
        px = await harness.limit_px(venue, COIN, True, D("0.01"))
        cloid = new_cloid()
        await harness.fault(latencyMs=500, scope="exchange")
        (result,) = await venue.place(
            account, [OrderRequest(COIN, True, D("0.1"), px, False, Tif.IOC, cloid)]
        )
        assert result.status is OrderStatus.UNKNOWN and result.cloid == cloid
        await harness.fault(clear=True)
        # Whatever the venue did with it, the lookup answers and nothing was placed twice.
        status = await venue.order_status(account, cloid)
        assert status.status in (OrderStatus.NOT_FOUND, OrderStatus.FILLED)
        assert await position(venue, account.address) == (
            D("0.1") if status.status is OrderStatus.FILLED else 0
        )

    async def test_a_5xx_is_unknown_and_not_found_means_safe_to_place_again(self, harness: Harness) -> None:
        venue = harness.make_venue()
        account = await harness.new_account()
        px = await harness.limit_px(venue, COIN, True, D("0.01"))
        order = OrderRequest(COIN, True, D("0.1"), px, False, Tif.IOC, new_cloid())
        await harness.fault(rate5xx=1, scope="exchange")
        (result,) = await venue.place(account, [order])
        assert result.status is OrderStatus.UNKNOWN
        assert order.cloid is not None
        assert (await venue.order_status(account, order.cloid)).status is OrderStatus.NOT_FOUND
        await harness.fault(clear=True)
        (again,) = await venue.place(account, [order])
        assert again.status is OrderStatus.FILLED
        assert await position(venue, account.address) == D("0.1")

    async def test_watch_yields_each_fill_once_across_a_dropped_stream(self, harness: Harness) -> None:
        # A long poll interval: the poller's round at the start only, so the stream's own backfill is tested.
        venue = harness.make_venue(poll_interval_s=3600)
        requires(venue, "websocket_fills")
        leader = await harness.new_leader()

        async def streaming() -> bool:
            return await harness.is_streaming(venue)

        async with collecting(venue, [leader]) as fills:
            await wait_until(streaming, "the stream is up")
            await harness.leader_trade(leader, COIN, True, D("0.3"))
            await wait_for_size(fills, COIN, D("0.3"))

            await harness.break_streams()
            await wait_until(lambda: not_(streaming), "the stream is down")
            await harness.leader_trade(leader, COIN, False, D("0.1"))  # while nobody listens
            await harness.leader_trade(leader, "SOL", True, D("1"))
            await harness.restore_streams()
            await wait_for_size(fills, "SOL", D("1"))
            await harness.leader_trade(leader, COIN, True, D("0.05"))  # live again
            await wait_for_size(fills, COIN, D("0.25"))

        truth = await venue.fills_since(leader, 0)
        assert len(identities(fills)) == len(set(identities(fills)))
        assert sorted(identities(fills), key=str) == sorted(identities(truth), key=str)
        assert {f.source for f in fills} == {leader}

    async def test_watch_covers_sources_beyond_the_stream_cap_by_polling(self, harness: Harness) -> None:
        venue = harness.make_venue()
        streamed, polled = await harness.new_leader(), await harness.new_leader()
        # Make the cap bind with two sources: the second is seen by the poller only.
        harness.limit_streams(venue, 1)
        async with collecting(venue, [streamed, polled]) as fills:
            await harness.leader_trade(polled, COIN, True, D("0.2"))
            await harness.leader_trade(streamed, COIN, False, D("0.1"))
            await wait_until(lambda: has_size(fills, polled, D("0.2")), "the polled source's first fills")
            await harness.leader_trade(polled, COIN, False, D("0.05"))  # seen as a change between two polls
            await wait_until(lambda: has_size(fills, polled, D("0.15")), "the polled source's next fills")
            await wait_until(lambda: has_size(fills, streamed, D("-0.1")), "the streamed source's fills")
        assert len(identities(fills)) == len(set(identities(fills)))
        truth = [*await venue.fills_since(polled, 0), *await venue.fills_since(streamed, 0)]
        assert sorted(identities(fills), key=str) == sorted(identities(truth), key=str)

    # --- trigger orders (stop-loss / take-profit): for venues whose capabilities say `trigger_orders`, a
    # trigger rests, is listed with its trigger by `open_orders`, is found and cancelled by cloid, and
    # fires (filling like a normal order) once the price is past it. A venue without the capability
    # refuses a trigger order rather than placing something else.

    async def test_a_trigger_rests_is_listed_with_its_trigger_and_is_cancelled_by_cloid(
        self, harness: Harness
    ) -> None:
        venue = harness.make_venue()
        requires(venue, "trigger_orders")
        account = await harness.new_account()
        size = await long_position(harness, venue, account)
        request = await stop_loss(harness, venue, account, size, D("0.2"))
        assert request.cloid is not None and request.trigger is not None

        (placed,) = await venue.place(account, [request])
        assert placed.status is OrderStatus.RESTING, placed
        (listed,) = [o for o in await venue.open_orders(account) if o.cloid == request.cloid]
        assert (listed.coin, listed.is_buy, listed.size, listed.reduce_only) == (COIN, False, size, True)
        assert listed.trigger == request.trigger
        assert (await venue.order_status(account, request.cloid)).status is OrderStatus.RESTING
        assert await position(venue, account.address) == size  # waiting: nothing traded

        assert await venue.cancel(account, COIN, request.cloid) is True
        assert (await venue.order_status(account, request.cloid)).status is OrderStatus.CANCELED
        assert request.cloid not in {o.cloid for o in await venue.open_orders(account)}
        assert await position(venue, account.address) == size

    async def test_a_trigger_past_its_price_fires_and_fills_like_an_order(self, harness: Harness) -> None:
        venue = harness.make_venue()
        requires(venue, "trigger_orders")
        account = await harness.new_account()
        size = await long_position(harness, venue, account)
        request = await stop_loss(harness, venue, account, size, D("-0.01"))  # the mid is already below it
        assert request.cloid is not None

        await venue.place(account, [request])

        async def closed() -> bool:
            return await position(venue, account.address) == 0

        await wait_until(closed, "the stop-loss closed the position")
        status = await venue.order_status(account, request.cloid)
        assert (status.status, status.filled_sz) == (OrderStatus.FILLED, size)
        assert request.cloid not in {o.cloid for o in await venue.open_orders(account)}

    async def test_a_venue_without_trigger_orders_refuses_them(self, harness: Harness) -> None:
        venue = harness.make_venue()
        if venue.capabilities.trigger_orders:
            pytest.skip(f"{venue.capabilities.name} has trigger_orders (the tests above)")
        account = await harness.new_account()
        request = await stop_loss(harness, venue, account, D("0.5"), D("0.2"))
        (result,) = await venue.place(account, [request])
        assert result.status is OrderStatus.REJECTED
        assert await position(venue, account.address) == 0
