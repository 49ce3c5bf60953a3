"""`PaperVenue` on a real localnet read through the real `HyperliquidVenue`: fills at the live mid,
the venue's rules in the venue's own words (compared with what the venue answers a real account),
positions, PnL and equity per paper account, resting orders, persistence."""

from __future__ import annotations

import dataclasses
import itertools
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.hyperliquid.exchange import ExchangeRefused
from adapters.paper import PaperAccount, PaperRefused, PaperVenue, direction
from bot.domain import OrderRequest, OrderResult, OrderStatus, Side, Tif, TradingAccount
from tests.paper.conftest import Net, paper_address

D = Decimal
_cloids = itertools.count(1)


def cloid() -> str:
    return f"0x{next(_cloids):032x}"


def order(
    coin: str,
    is_buy: bool,
    size: str,
    px: Decimal | str,
    *,
    reduce_only: bool = False,
    tif: Tif = Tif.IOC,
    with_cloid: bool = True,
) -> OrderRequest:
    return OrderRequest(coin, is_buy, D(size), D(px), reduce_only, tif, cloid() if with_cloid else None)


def open_paper(paper: PaperVenue, equity: str = "10000") -> TradingAccount:
    address = paper_address()
    paper.open_account(address, D(equity))
    return TradingAccount(address, signer_key="")  # paper accounts sign nothing


async def place(paper: PaperVenue, account: TradingAccount, request: OrderRequest) -> OrderResult:
    (result,) = await paper.place(account, [request])
    return result


def fee(paper: PaperVenue, size: str, px: Decimal) -> Decimal:
    return (D(size) * px * paper.fee_rate).quantize(D("0.000001"), ROUND_HALF_UP)


async def test_an_ioc_fills_in_full_at_the_live_mid_and_only_on_paper(net: Net, paper: PaperVenue) -> None:
    mid = await net.set_mid("ETH", "3012.5")
    account = open_paper(paper, "1000")
    request = order("ETH", True, "0.1", "3050")
    result = await place(paper, account, request)
    assert (result.status, result.filled_sz, result.avg_px, result.cloid) == (
        OrderStatus.FILLED,
        D("0.1"),
        mid,
        request.cloid,
    )
    state = await paper.account(account.address)
    (position,) = state.positions
    assert (position.coin, position.size, position.entry_px) == ("ETH", D("0.1"), mid)
    assert position.unrealized_pnl == 0
    assert state.equity == D("1000") - fee(paper, "0.1", mid)
    real = await net.venue.account(account.address)
    assert real.positions == () and real.equity == 0  # nothing reached the venue


async def test_paper_fills_are_read_like_the_venues(net: Net, paper: PaperVenue) -> None:
    first = await net.set_mid("ETH", "3000")
    account = open_paper(paper)
    opened = await place(paper, account, order("ETH", False, "0.2", "2970"))
    second = await net.set_mid("ETH", "2900")
    flipped = await place(paper, account, order("ETH", True, "0.5", "2930"))
    fills = await paper.fills_since(account.address, 0)
    assert [(f.oid, f.px, f.sz, f.side, f.start_position, f.dir) for f in fills] == [
        (opened.oid, first, D("0.2"), Side.SELL, D(0), "Open Short"),
        (flipped.oid, second, D("0.5"), Side.BUY, D("-0.2"), "Short > Long"),
    ]
    assert fills[1].closed_pnl == D("0.2") * (first - second)
    assert all(f.source == account.address and f.tid is not None and f.fee > 0 for f in fills)
    assert len({f.tid for f in fills} | {opened.oid, flipped.oid}) == 4  # ids never shared
    assert await paper.fills_since(account.address, fills[1].time_ms + 1) == []
    assert await net.venue.fills_since(account.address, 0) == []  # the venue saw nothing


@pytest.mark.parametrize(
    ("old", "new", "word"),
    [
        ("0", "1", "Open Long"),
        ("1", "2", "Open Long"),
        ("2", "1", "Close Long"),
        ("1", "0", "Close Long"),
        ("0", "-1", "Open Short"),
        ("-1", "0", "Close Short"),
        ("1", "-1", "Long > Short"),
        ("-1", "1", "Short > Long"),
    ],
)
def test_fill_directions_are_the_venues_words(old: str, new: str, word: str) -> None:
    assert direction(D(old), D(new)) == word


async def test_a_limit_the_mid_does_not_reach_fills_nothing(net: Net, paper: PaperVenue) -> None:
    await net.set_mid("ETH", "3000")
    account = open_paper(paper)
    result = await place(paper, account, order("ETH", True, "0.1", "2999.9"))
    assert result.status is OrderStatus.REJECTED and result.filled_sz == 0
    sell = await place(paper, account, order("ETH", False, "0.1", "3000"))  # at the mid: fills
    assert (sell.status, sell.filled_sz) == (OrderStatus.FILLED, D("0.1"))
    assert (await paper.account(account.address)).size("ETH") == D("-0.1")


# Orders the venue refuses, each placed by a real account on the venue and by a paper account of the
# same equity: the paper must refuse them in exactly the venue's words.
REFUSED = {
    "off the lot": ("ETH", True, "0.00001", "3030", False, Tif.IOC),
    "off the tick": ("ETH", True, "0.1", "3030.123", False, Tif.IOC),
    "below the minimum value": ("ETH", True, "0.003", "3030", False, Tif.IOC),
    "reduce-only with no position": ("ETH", False, "0.1", "2970", True, Tif.IOC),
    "an IOC that cannot match": ("SOL", True, "1", "140", False, Tif.IOC),
    "beyond the margin": ("BTC", True, "5", "61000", False, Tif.IOC),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
async def test_refusals_are_worded_as_the_venue_words_them(net: Net, paper: PaperVenue, case: str) -> None:
    await net.control({"type": "setMids", "mids": {"ETH": "3000", "SOL": "150", "BTC": "60000"}})
    coin, is_buy, size, px, reduce_only, tif = REFUSED[case]
    request = OrderRequest(coin, is_buy, D(size), D(px), reduce_only, tif, cloid())
    (real,) = await net.venue.place(await net.funded_account("10000"), [request])
    simulated = await place(paper, open_paper(paper, "10000"), dataclasses.replace(request, cloid=cloid()))
    assert real.status is OrderStatus.REJECTED and real.error, real
    assert (simulated.status, simulated.error) == (OrderStatus.REJECTED, real.error)


async def test_a_reused_cloid_is_refused_as_the_venue_does(net: Net, paper: PaperVenue) -> None:
    await net.set_mid("ETH", "3000")
    request = order("ETH", True, "0.01", "3030")
    real_account = await net.funded_account()
    await net.venue.place(real_account, [request])
    (real,) = await net.venue.place(real_account, [request])
    account = open_paper(paper)
    assert (await place(paper, account, request)).status is OrderStatus.FILLED
    again = await place(paper, account, request)
    assert (again.status, again.error) == (OrderStatus.REJECTED, real.error)
    assert (await paper.account(account.address)).size("ETH") == D("0.01")


async def test_reduce_only_fills_at_most_the_position_and_a_whole_close_is_never_too_small(
    net: Net, paper: PaperVenue
) -> None:
    await net.set_mid("ETH", "3000")
    account = open_paper(paper)
    await place(paper, account, order("ETH", True, "0.004", "3030"))  # $12
    await net.set_mid("ETH", "2000")  # now worth $8
    too_small = await place(paper, account, order("ETH", False, "0.002", "1980", reduce_only=True))
    assert too_small.error is not None and too_small.error.startswith("Order must have minimum value of $10")
    plain_sell = await place(paper, account, order("ETH", False, "0.004", "1980"))
    assert plain_sell.status is OrderStatus.REJECTED  # not reduce-only: the minimum applies
    close = await place(paper, account, order("ETH", False, "0.5", "1980", reduce_only=True))
    assert (close.status, close.filled_sz) == (OrderStatus.FILLED, D("0.004"))
    assert (await paper.account(account.address)).positions == ()


async def test_a_flip_realises_the_closed_part_and_reopens_at_the_fill(net: Net, paper: PaperVenue) -> None:
    first = await net.set_mid("ETH", "3000")
    account = open_paper(paper, "5000")
    await place(paper, account, order("ETH", True, "0.2", "3030"))
    second = await net.set_mid("ETH", "3100")
    flip = await place(paper, account, order("ETH", False, "0.5", "3069"))
    assert (flip.status, flip.filled_sz) == (OrderStatus.FILLED, D("0.5"))
    third = await net.set_mid("ETH", "3000")
    state = await paper.account(account.address)
    (position,) = state.positions
    assert (position.size, position.entry_px) == (D("-0.3"), second)
    assert position.unrealized_pnl == D("-0.3") * (third - second)
    realised = D("0.2") * (second - first)
    fees = fee(paper, "0.2", first) + fee(paper, "0.5", second)
    assert state.equity == D("5000") + realised + position.unrealized_pnl - fees
    book = paper.paper_account(account.address)
    assert book is not None and (book.realised, book.fees) == (realised, fees)


async def test_a_gtc_rests_fills_at_its_limit_when_the_mid_crosses_and_can_be_cancelled(
    net: Net, paper: PaperVenue
) -> None:
    await net.set_mid("ETH", "3000")
    account = open_paper(paper)
    resting = order("ETH", True, "0.1", "2950", tif=Tif.GTC)
    placed = await place(paper, account, resting)
    assert placed.status is OrderStatus.RESTING and placed.oid is not None
    assert resting.cloid is not None
    assert (await paper.order_status(account, resting.cloid)).status is OrderStatus.RESTING
    await net.set_mid("ETH", "2940")
    done = await paper.order_status(account, resting.cloid)
    assert (done.status, done.filled_sz, done.avg_px, done.oid) == (
        OrderStatus.FILLED,
        D("0.1"),
        D(2950),
        placed.oid,
    )
    assert await paper.cancel(account, "ETH", resting.cloid) is False  # filled: nothing to cancel

    other = order("ETH", False, "0.1", "3100", tif=Tif.GTC)
    assert other.cloid is not None
    assert (await place(paper, account, other)).status is OrderStatus.RESTING
    assert await paper.cancel(account, "ETH", other.cloid) is True
    assert (await paper.order_status(account, other.cloid)).status is OrderStatus.CANCELED
    assert await paper.cancel(account, "ETH", other.cloid) is False
    await net.set_mid("ETH", "3200")
    assert (await paper.account(account.address)).size("ETH") == D("0.1")  # the cancelled one never fills


async def test_a_post_only_order_that_would_cross_is_refused(net: Net, paper: PaperVenue) -> None:
    await net.set_mid("ETH", "3000")
    result = await place(paper, open_paper(paper), order("ETH", True, "0.1", "3010", tif=Tif.ALO))
    assert result.error is not None
    assert result.error.startswith("Post only order would have immediately matched, bbo was 3000@3000.")


async def test_unknown_cloids_and_unknown_accounts(net: Net, paper: PaperVenue) -> None:
    account = open_paper(paper)
    assert (await paper.order_status(account, cloid())).status is OrderStatus.NOT_FOUND
    stranger = TradingAccount(paper_address(), signer_key="")
    (result,) = await paper.place(stranger, [order("ETH", True, "0.1", "3030")])
    assert result.status is OrderStatus.REJECTED
    assert result.error == f"User or API Wallet {stranger.address.lower()} does not exist."
    with pytest.raises(PaperRefused, match="does not exist"):
        await paper.order_status(stranger, cloid())
    with pytest.raises(ValueError, match="already open"):
        paper.open_account(account.address.upper().replace("0X", "0x"), D(1))
    with pytest.raises(ValueError, match=r"coin: 'NOPE' is not listed; the venue lists .*ETH"):
        await paper.place(account, [order("NOPE", True, "1", "1")])
    # The venue it reads from refuses the coin in the same words, before signing anything.
    with pytest.raises(ValueError, match=r"coin: 'NOPE' is not listed; the venue lists .*ETH"):
        await net.venue.place(stranger, [order("NOPE", True, "1", "1")])


async def test_leverage_is_validated_as_on_the_venue_and_sets_the_margin(net: Net, paper: PaperVenue) -> None:
    await net.set_mid("ETH", "3000")
    account = open_paper(paper, "1000")
    with pytest.raises(ExchangeRefused) as real:
        await net.venue.update_leverage(await net.funded_account(), "ETH", 26, True)  # ETH's maximum is 25
    with pytest.raises(PaperRefused) as simulated:
        await paper.update_leverage(account, "ETH", 26, True)
    assert str(simulated.value) == str(real.value)
    await paper.update_leverage(account, "ETH", 5, True)
    too_big = await place(paper, account, order("ETH", True, "2", "3030"))  # $6,000 at 5x needs $1,200
    assert too_big.error is not None and too_big.error.startswith("Insufficient margin")
    await paper.update_leverage(account, "ETH", 20, True)  # at 20x: $300
    assert (await place(paper, account, order("ETH", True, "2", "3030"))).status is OrderStatus.FILLED
    (position,) = (await paper.account(account.address)).positions
    assert position.leverage == 20


async def test_reads_are_the_real_venues(net: Net, paper: PaperVenue) -> None:
    await net.set_mid("ETH", "3000")
    leader = await net.funded_account("50000")
    (traded,) = await net.venue.place(leader, [order("ETH", True, "0.3", "3030")])
    assert traded.status is OrderStatus.FILLED
    assert await paper.instruments() == await net.venue.instruments()
    assert await paper.mids() == await net.venue.mids()
    mirrored, real = await paper.account(leader.address), await net.venue.account(leader.address)
    assert dataclasses.replace(mirrored, time_ms=0) == dataclasses.replace(real, time_ms=0)
    assert mirrored.size("ETH") == D("0.3")
    assert await paper.fills_since(leader.address, 0) == await net.venue.fills_since(leader.address, 0)
    # Trigger orders are not simulated (bot/pipeline/protect.py skips them on paper).
    assert paper.capabilities == dataclasses.replace(
        net.venue.capabilities,
        two_step_execution=False,
        trigger_orders=False,
        builder_codes=False,  # paper orders never reach the venue: no builder is paid
        max_builder_tenths_bp=0,
    )
    assert paper.min_notional == net.venue.capabilities.min_notional


async def test_a_minimum_value_of_our_own(net: Net) -> None:
    await net.set_mid("ETH", "3000")
    paper = PaperVenue(net.venue, min_notional=D(50))
    result = await place(paper, open_paper(paper), order("ETH", True, "0.01", "3030"))  # $30
    assert result.error is not None and result.error.startswith("Order must have minimum value of $50.")


async def test_a_restarted_paper_venue_finds_its_accounts_and_orders(net: Net, tmp_path: Path) -> None:
    path = tmp_path / "paper.json"
    await net.set_mid("ETH", "3000")
    first = PaperVenue(net.venue, state_path=path)
    account = open_paper(first, "2500")
    filled = order("ETH", True, "0.1", "3030")
    resting = order("ETH", False, "0.05", "3300", tif=Tif.GTC, with_cloid=False)
    rests = order("ETH", True, "0.05", "2900", tif=Tif.GTC)
    for request in (filled, resting, rests):
        await place(first, account, request)
    before = await first.account(account.address)

    again = PaperVenue(net.venue, state_path=path, accounts={account.address: D("999")})  # already open
    after = await again.account(account.address)
    assert dataclasses.replace(after, time_ms=0) == dataclasses.replace(before, time_ms=0)
    assert filled.cloid is not None and rests.cloid is not None
    assert await again.order_status(account, filled.cloid) == await first.order_status(account, filled.cloid)
    await net.set_mid("ETH", "3400")  # the cloid-less resting sell fills after the restart too
    assert (await again.account(account.address)).size("ETH") == D("0.05")
    assert await again.cancel(account, "ETH", rests.cloid) is True
    newer = await place(again, account, order("ETH", True, "0.01", "3500"))
    fills = await first.fills_since(account.address, 0)
    assert newer.oid is not None and newer.oid > max(f.tid or 0 for f in fills)  # ids never reused
    assert (await again.fills_since(account.address, 0))[: len(fills)] == fills


# --- the accounting, property-tested (no venue needed) ------------------------------------------------


@given(
    fills=st.lists(
        st.tuples(st.integers(-500, 500).filter(bool), st.integers(1, 100_000), st.integers(0, 500)),
        min_size=1,
        max_size=25,
    ),
    mark=st.integers(1, 100_000),
)
def test_equity_is_start_plus_cash_flows_plus_marked_position(
    fills: list[tuple[int, int, int]], mark: int
) -> None:
    account = PaperAccount(D(1000), address="0xpaper")
    cash_flow = size = D(0)
    for lots, ticks, fee_cents in fills:
        signed, px, charged = D(lots) / 100, D(ticks) / 10, D(fee_cents) / 100
        account.trade("SOL", signed, px, charged)
        cash_flow -= signed * px + charged
        size += signed
    mid = D(mark) / 10
    assert account.size("SOL") == size
    # Realised and unrealised PnL are each rounded to the micro-dollar, never more.
    tolerance = D("0.000001") * (len(fills) + 1)
    assert abs(account.equity({"SOL": mid}) - (D(1000) + cash_flow + size * mid)) <= tolerance
