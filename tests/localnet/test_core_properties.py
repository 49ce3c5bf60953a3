"""Properties the issue asks for: book walking conserves size; account value = deposits + realised +
unrealised - fees after any sequence of orders and mid moves; same seed, same everything."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.localnet.book import CoinBook
from adapters.localnet.instruments import DEFAULT_INSTRUMENTS
from adapters.localnet.rules import round_price
from tests.localnet.core_helpers import ALICE, BOB, Net, limit_wire

COINS = ("BTC", "ETH", "SOL", "ARB", "DOGE", "HYPE")
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _sum(levels: list[dict[str, Any]], within: Any) -> Decimal:
    return sum((Decimal(lv["sz"]) for lv in levels if within(Decimal(lv["px"]))), Decimal(0))


@PROPERTY
@given(
    coin=st.sampled_from(COINS),
    is_buy=st.booleans(),
    depth=st.integers(min_value=0, max_value=19),
    lots=st.integers(min_value=1, max_value=10**9),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_book_walking_conserves_size(coin: str, is_buy: bool, depth: int, lots: int, seed: int) -> None:
    net = Net(seed=seed)
    net.ex.fund(ALICE, Decimal(10) ** 12)
    spec = next(s for s in DEFAULT_INSTRUMENTS if s.coin == coin)
    side = 1 if is_buy else 0
    before = net.book(coin)[side]
    limit = Decimal(before[min(depth, len(before) - 1)]["px"])
    size = (lots % (10**6) + 1) * spec.lot * (10 ** max(0, spec.sz_decimals - 2))
    if size * limit < 10:
        size = (Decimal(11) / limit).quantize(spec.lot) + spec.lot

    def within(px: Decimal) -> bool:
        return px <= limit if is_buy else px >= limit

    [status] = net.statuses(ALICE, [limit_wire(net.asset(coin), is_buy, float(size), float(limit), "Ioc")])
    filled = Decimal(status["filled"]["totalSz"]) if "filled" in status else Decimal(0)
    oid = status["filled"]["oid"] if "filled" in status else None
    record = net.info({"type": "historicalOrders", "user": ALICE})[0]
    unfilled = Decimal(record["order"]["sz"])
    assert filled + unfilled == size
    consumed = _sum(before, within) - _sum(net.book(coin)[side], within)
    assert consumed == filled
    fills = [f for f in net.info({"type": "userFills", "user": ALICE}) if f["oid"] == oid]
    assert sum((Decimal(f["sz"]) for f in fills), Decimal(0)) == filled
    assert filled == min(size, _sum(before, within))


@PROPERTY
@given(
    mid=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100_000), places=2),
    limit_bps=st.integers(min_value=-50, max_value=50),
    size=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**7), places=2),
    is_buy=st.booleans(),
)
def test_walk_matches_sum_to_at_most_the_request_and_respect_the_limit(
    mid: Decimal, limit_bps: int, size: Decimal, is_buy: bool
) -> None:
    spec = DEFAULT_INSTRUMENTS[2]  # SOL: 2 size decimals
    book = CoinBook(spec)
    mid = round_price(mid, spec.sz_decimals)
    book.recentre(mid, random.Random(1))
    limit = round_price(mid * (10_000 + limit_bps) / 10_000, spec.sz_decimals)
    matches = book.walk(is_buy, limit, size, ALICE)
    total = sum((m.sz for m in matches), Decimal(0))
    side = book.asks if is_buy else book.bids
    available = sum((lv.sz for lv in side if (lv.px <= limit if is_buy else lv.px >= limit)), Decimal(0))
    assert total == min(size, available)
    assert all((m.px <= limit if is_buy else m.px >= limit) and m.sz > 0 for m in matches)
    prices = [m.px for m in matches]
    assert prices == sorted(prices, reverse=not is_buy)


Step = tuple[str, Any]
order_steps = st.tuples(
    st.just("order"),
    st.tuples(
        st.sampled_from([ALICE, BOB]),
        st.sampled_from(["ETH", "SOL", "DOGE"]),
        st.booleans(),
        st.integers(min_value=1, max_value=400),  # size in units of $50 notional
        st.integers(min_value=-60, max_value=60),  # limit price offset from the mid, bps
        st.sampled_from(["Ioc", "Ioc", "Gtc", "Alo"]),
        st.sampled_from([False, False, False, True]),  # reduce only
    ),
)
steps = st.lists(
    st.one_of(
        order_steps,
        order_steps,
        order_steps,
        st.tuples(
            st.just("mid"),
            st.tuples(st.sampled_from(["ETH", "SOL", "DOGE"]), st.integers(min_value=-300, max_value=300)),
        ),
        st.tuples(st.just("step"), st.none()),
        st.tuples(
            st.just("leverage"),
            st.tuples(
                st.sampled_from([ALICE, BOB]), st.sampled_from([1, 2, 3]), st.booleans(), st.integers(1, 10)
            ),
        ),
    ),
    min_size=8,
    max_size=30,
)


def run(net: Net, plan: list[Step]) -> None:
    for kind, args in plan:
        if kind == "order":
            user, coin, is_buy, units, bps, tif, reduce_only = args
            spec = next(s for s in DEFAULT_INSTRUMENTS if s.coin == coin)
            mid = net.mid(coin)
            px = round_price(mid * (10_000 + bps) / 10_000, spec.sz_decimals)
            sz = max((Decimal(50) * units / mid).quantize(spec.lot), spec.lot)
            net.statuses(user, [limit_wire(net.asset(coin), is_buy, float(sz), float(px), tif, reduce_only)])
        elif kind == "mid":
            coin, bps = args
            net.ex.set_mids({coin: net.mid(coin) * (10_000 + bps) / 10_000})
        elif kind == "step":
            net.ex.step_prices()
        else:
            user, asset, is_cross, leverage = args
            net.act(
                user, {"type": "updateLeverage", "asset": asset, "isCross": is_cross, "leverage": leverage}
            )
        net.clock.now += 250


@PROPERTY
@given(plan=steps)
def test_account_value_is_deposits_plus_realised_plus_unrealised_minus_fees(plan: list[Step]) -> None:
    net = Net(seed=3)
    deposits = {ALICE: Decimal(50_000), BOB: Decimal(20_000)}
    for user, amount in deposits.items():
        net.ex.fund(user, amount)
    run(net, plan)
    for user, deposit in deposits.items():
        fills = net.info({"type": "userFills", "user": user})
        realised = sum((Decimal(f["closedPnl"]) for f in fills), Decimal(0))
        fees = sum((Decimal(f["fee"]) for f in fills), Decimal(0))
        state = net.state(user)
        unrealised = sum(
            (Decimal(row["position"]["unrealizedPnl"]) for row in state["assetPositions"]), Decimal(0)
        )
        assert Decimal(state["marginSummary"]["accountValue"]) == deposit + realised + unrealised - fees
        # and every position is exactly what its fills add up to
        for row in state["assetPositions"]:
            coin = row["position"]["coin"]
            signed = sum(
                (Decimal(f["sz"]) * (1 if f["side"] == "B" else -1) for f in fills if f["coin"] == coin),
                Decimal(0),
            )
            assert Decimal(row["position"]["szi"]) == signed


def _transcript(seed: int, plan: list[Step]) -> list[Any]:
    net = Net(seed=seed)
    net.ex.fund(ALICE, Decimal(50_000))
    net.ex.fund(BOB, Decimal(20_000))
    run(net, plan)
    requests = [
        {"type": "allMids"},
        {"type": "l2Book", "coin": "ETH"},
        {"type": "userFills", "user": ALICE},
        {"type": "historicalOrders", "user": BOB},
        {"type": "clearinghouseState", "user": ALICE},
    ]
    return [net.info(r) for r in requests] + [(e.channel, e.data) for e in net.events]


@settings(max_examples=15, deadline=None)
@given(plan=steps)
def test_same_seed_same_requests_same_clock_same_responses(plan: list[Step]) -> None:
    assert _transcript(11, plan) == _transcript(11, plan)


def test_the_seed_drives_the_book_the_path_and_the_ids() -> None:
    def sample(seed: int) -> tuple[Any, ...]:
        net = Net(seed=seed)
        net.ex.fund(ALICE, Decimal(10_000))
        status = net.order(ALICE, "ETH", True, 1, 3100, "Ioc")
        book = net.book("SOL")
        for _ in range(5):
            net.ex.step_prices()
        fill = net.info({"type": "userFills", "user": ALICE})[0]
        return book, net.ex.mids(), status, fill["tid"], fill["hash"]

    assert sample(5) == sample(5)
    other = sample(6)
    assert all(a != b for a, b in zip(sample(5), other, strict=True))


def _scanned_open_orders(net: Net, user: str) -> list[Any]:
    """A user's open orders as the core found them before #15: a scan of every order they placed."""
    state = net.ex._state
    return [order for order in state.user_orders[user] if order.is_open]


@PROPERTY
@given(plan=steps)
def test_the_open_order_index_is_the_scan_of_every_order(plan: list[Step]) -> None:
    net = Net(seed=5)
    net.ex.fund(ALICE, Decimal(50_000))
    net.ex.fund(BOB, Decimal(20_000))
    run(net, plan)
    for user in (ALICE, BOB):
        assert net.ex._state.open_orders(user) == _scanned_open_orders(net, user)


def test_the_open_order_index_keeps_a_triggered_order_that_rests_in_placement_order() -> None:
    # open -> triggered -> open again: it stays before an order placed after it, as in the scan
    net = Net(seed=5)
    net.ex.fund(ALICE, Decimal(50_000))
    net.order(ALICE, "ETH", True, 1, 3100, "Ioc")
    net.trigger(ALICE, "ETH", False, 1, 3150, 3100, "tp", market=False)
    net.order(ALICE, "ETH", True, 1, 2500, "Gtc")
    net.ex.set_mids({"ETH": Decimal(3120)})  # the take-profit fires and rests at 3150
    index = net.ex._state.open_orders(ALICE)
    assert [o.limit_px for o in index] == [Decimal(3150), Decimal(2500)]
    assert index == _scanned_open_orders(net, ALICE)
