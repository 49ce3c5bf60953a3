"""The follower engine: Copy Current, filters, guards, pause, unfollow, re-assignment, orders."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from strategies.config import Filters, FollowConfig, Guards, SideFilter
from strategies.engine import AssignmentRefused, Follower
from strategies.fixed_notional import FixedNotionalSizing
from strategies.model import Change, Decision, Event, Market, Reason, Status
from strategies.num import is_valid_price

D = Decimal
MARKETS = {
    "ETH": Market("ETH", 4, 50),
    "SOL": Market("SOL", 2, 20),
    "BTC": Market("BTC", 5, 50),
}
MIDS = {"ETH": D(3000), "SOL": D(150), "BTC": D(60000)}


def follower(equity: str = "1000", source_equity: str = "100000", *sources: str) -> Follower:
    f = Follower(MARKETS, equity=D(equity))
    for coin, mid in MIDS.items():
        f.set_mid(coin, mid)
    for source in sources or ("A",):
        f.source_equity[source] = D(source_equity)
    return f


def filled(f: Follower, decision: Decision) -> Decision:
    """Fill the decision's order in full."""
    if decision.order is not None:
        f.set_position(decision.coin, f.position(decision.coin) + decision.order.signed_size)
    return decision


def move(f: Follower, coin: str, old: str, new: str, source: str = "A", **kw: Decimal) -> Decision:
    return filled(f, f.on_change(Change(source, coin, D(old), D(new), **kw)))


def start(f: Follower, config: FollowConfig | None = None, source: str = "A", **held: str) -> list[Decision]:
    for coin, size in held.items():
        f.observe_source(source, coin, size=D(size), entry_px=MIDS[coin])
    return [filled(f, d) for d in f.follow(source, config or FollowConfig())]


def test_copy_current_waits_while_the_mid_is_far_from_the_entry() -> None:
    f = follower("2000", "20000")
    config = FollowConfig(scaling={"*": D(150)}, copy_current=True, copy_current_max_deviation=D("0.02"))
    f.set_mid("SOL", D(160))  # 6.7 % above the source's entry of 150
    [_, sol, _] = start(f, config, SOL="-40")
    assert (sol.event, sol.order, sol.reason, sol.state.status) == (
        Event.FOLLOW,
        None,
        Reason.COPY_CURRENT_DEVIATION,
        Status.UNTRACKED,
    )
    # the source adds while we wait: still waiting, nothing copied
    assert move(f, "SOL", "-40", "-50").reason is Reason.COPY_CURRENT_DEVIATION
    f.set_mid("SOL", D(152))
    joined = filled(f, f.check("SOL", Event.MID))
    assert joined.event is Event.COPY_CURRENT
    assert joined.order is not None and (joined.order.side, joined.order.size) == ("sell", D("7.5"))


def test_copy_current_without_a_known_entry_waits_and_says_so() -> None:
    f = follower()
    f.observe_source("A", "ETH", size=D(10))
    config = FollowConfig(copy_current=True, copy_current_max_deviation=D("0.01"))
    [eth, *_] = f.follow("A", config)
    assert (eth.reason, eth.order) == (Reason.ENTRY_PRICE_UNKNOWN, None)


def test_switching_copy_current_on_joins_untracked_tokens() -> None:
    f = follower()
    start(f, ETH="10")
    assert f.pairs["ETH"].status is Status.UNTRACKED
    [joined] = f.update_config("A", FollowConfig(copy_current=True))
    assert joined.order is not None and joined.order.size == D("0.1") and joined.event is Event.COPY_CURRENT


def test_token_filters() -> None:
    f = follower()
    start(f, FollowConfig(filters=Filters(exclude=frozenset({"SOL"}))))
    assert "SOL" not in f.pairs
    assert move(f, "SOL", "0", "5").reason is Reason.TOKEN_EXCLUDED
    g = follower()
    decisions = start(g, FollowConfig(filters=Filters(include=frozenset({"BTC"}))))
    assert [d.coin for d in decisions] == ["BTC"]
    assert move(g, "ETH", "0", "5").reason is Reason.TOKEN_EXCLUDED


def test_long_only_skips_short_opens_and_a_flip_into_short_only_closes() -> None:
    f = follower()
    start(f, FollowConfig(filters=Filters(side=SideFilter.LONG_ONLY)))
    short = move(f, "ETH", "0", "-10")
    assert (short.order, short.reason, short.state.status) == (None, Reason.LONG_ONLY, Status.UNTRACKED)
    assert move(f, "ETH", "-10", "-20").reason is Reason.UNTRACKED
    assert move(f, "ETH", "-20", "10").order is not None  # flipping long counts as an open
    flip = move(f, "ETH", "10", "-10")
    assert flip.order is not None and (flip.order.side, flip.order.size, flip.order.reduce_only) == (
        "sell",
        D("0.1"),
        True,
    )
    assert (flip.reason, f.position("ETH"), flip.state.status) == (Reason.LONG_ONLY, D(0), Status.UNTRACKED)


def test_reverse_copy_takes_the_opposite_side() -> None:
    f = follower()
    start(f, FollowConfig(filters=Filters(reverse=True, side=SideFilter.SHORT_ONLY)))
    d = move(f, "ETH", "0", "10")
    assert d.order is not None and (d.order.side, d.target) == ("sell", D("-0.1"))
    assert move(f, "ETH", "10", "5").target == D("-0.05")


def test_source_leverage_filters() -> None:
    f = follower()
    start(f, FollowConfig(filters=Filters(min_source_leverage=D(3), max_source_leverage=D(10))))
    f.observe_source("A", "ETH", leverage=D(2))
    assert move(f, "ETH", "0", "10").reason is Reason.SOURCE_LEVERAGE_BELOW_MIN
    capped = move(f, "SOL", "0", "100", leverage=D(40))
    # 40x copied as if 10x: the ratio is a quarter
    assert (capped.ratio, capped.target, capped.reason) == (
        D("0.0025"),
        D("0.25"),
        Reason.SOURCE_LEVERAGE_CAPPED,
    )


def test_max_notional_per_token_lowers_the_target_and_decreases_scale_it() -> None:
    f = follower()
    start(f, FollowConfig(guards=Guards(max_notional_token=D(200))))
    d = move(f, "ETH", "0", "10")  # wants 0.1 ETH = $300
    assert d.order is not None and (d.target, d.order.size, d.reason) == (
        D("0.0666"),
        D("0.0666"),
        Reason.MAX_NOTIONAL_TOKEN,
    )
    assert move(f, "ETH", "10", "20").reason is Reason.MAX_NOTIONAL_TOKEN  # no room left: nothing sent
    assert f.pairs["ETH"].target == D("0.0666")
    assert move(f, "ETH", "20", "10").target == D("0.0333")  # −50 % of the capped target


def test_total_notional_and_leverage_caps_count_the_other_tokens() -> None:
    f = follower()
    start(f, FollowConfig(guards=Guards(max_notional_total=D(400))))
    move(f, "ETH", "0", "10")  # $300
    sol = move(f, "SOL", "0", "100")  # wants 1 SOL = $150, $100 left
    assert (sol.target, sol.reason) == (D("0.66"), Reason.MAX_NOTIONAL_TOTAL)
    g = follower()
    start(g, FollowConfig(guards=Guards(max_leverage=D("0.25"))))
    assert move(g, "ETH", "0", "10").target == D("0.0833")
    h = follower("100")
    start(h)
    big = move(h, "SOL", "0", "20000")  # wants 20 SOL = $3000 > 20x of $100
    assert (big.target, big.reason) == (D("13.33"), Reason.VENUE_MAX_LEVERAGE)


def test_price_deviation_guard_skips_growth_only() -> None:
    f = follower()
    start(f, FollowConfig(guards=Guards(max_price_deviation=D("0.01"))))
    skipped = move(f, "ETH", "0", "10", fill_px=D(2900))  # mid 3000 is 3.4 % worse for a buy
    assert (skipped.order, skipped.reason, skipped.state.status) == (
        None,
        Reason.PRICE_DEVIATION,
        Status.UNTRACKED,
    )
    move(f, "ETH", "10", "0")
    assert move(f, "ETH", "0", "10", fill_px=D(2980)).order is not None
    assert move(f, "ETH", "10", "20", fill_px=D(2000)).reason is Reason.PRICE_DEVIATION
    reduce = move(f, "ETH", "20", "5", fill_px=D(9000))  # reductions are never skipped
    assert reduce.order is not None and reduce.order.reduce_only


def test_pause_skips_new_exposure_but_mirrors_reductions() -> None:
    f = follower()
    start(f)
    move(f, "ETH", "0", "10")
    f.set_paused(True)
    inc = move(f, "ETH", "10", "20")
    assert (inc.order, inc.reason, inc.target) == (None, Reason.PAUSED, D("0.1"))
    dec = move(f, "ETH", "20", "10")
    assert dec.order is not None and dec.order.reduce_only and dec.target == D("0.05")
    opened = move(f, "SOL", "0", "100")
    assert (opened.reason, opened.state.status) == (Reason.PAUSED, Status.UNTRACKED)
    f.set_paused(False)
    assert move(f, "ETH", "10", "30").order is not None


def test_unfollow_close_and_keep() -> None:
    f = follower()
    start(f)
    move(f, "ETH", "0", "10")
    move(f, "SOL", "0", "100")
    closes = f.unfollow("A", close=True)
    assert {d.coin: (d.order.side, d.order.size, d.order.reduce_only) for d in closes if d.order} == {
        "ETH": ("sell", D("0.1"), True),
        "SOL": ("sell", D(1), True),
    }
    g = follower()
    start(g)
    move(g, "ETH", "0", "10")
    kept = g.unfollow("A", close=False)
    assert all(d.order is None and d.reason is Reason.DETACHED for d in kept)
    assert "ETH" not in g.pairs and g.position("ETH") == D("0.1")
    assert move(g, "ETH", "10", "0").reason is Reason.NOT_FOLLOWING


def test_reassigning_a_held_token_is_refused_naming_the_source() -> None:
    f = follower("1000", "100000", "A", "B")
    start(f, source="A")
    move(f, "ETH", "0", "10", source="A")
    only_eth = FollowConfig(filters=Filters(include=frozenset({"ETH"})))
    with pytest.raises(AssignmentRefused, match="ETH is already mirrored from A"):
        f.follow("B", only_eth)
    # an implicit follow leaves the token with A
    decisions = start(f, source="B")
    assert {d.coin: d.reason for d in decisions}["ETH"] is Reason.HELD_BY_OTHER_SOURCE
    assert move(f, "ETH", "0", "3", source="B").reason is Reason.HELD_BY_OTHER_SOURCE
    f.unfollow("B", close=False)
    # confirmed: A's position is closed first, then B takes the token
    released, eth = f.follow("B", only_eth, confirm_close=True)
    assert released.order is not None and released.order.reduce_only and released.source is None
    assert eth.source == "B" and f.pairs["ETH"].source == "B"


def test_reassigning_is_allowed_once_the_follower_is_flat() -> None:
    f = follower("1000", "100000", "A", "B")
    start(f, source="A")
    move(f, "ETH", "0", "10", source="A")
    move(f, "ETH", "10", "0", source="A")
    [eth] = f.follow("B", FollowConfig(filters=Filters(include=frozenset({"ETH"}))))
    assert eth.source == "B"


def test_orders_carry_a_capped_valid_ioc_price_and_reduce_only() -> None:
    f = follower()
    start(f, FollowConfig(slippage_cap=D("0.005")))
    f.set_mid("ETH", D("3001.37"))
    buy = move(f, "ETH", "0", "10")
    assert buy.order is not None and not buy.order.reduce_only
    assert buy.order.limit_px == D("3016.3")  # 3016.37 rounded down: never beyond the cap
    sell = move(f, "ETH", "10", "5")
    assert sell.order is not None and sell.order.reduce_only
    assert sell.order.limit_px == D("2986.4")  # 2986.36 rounded up
    assert is_valid_price(buy.order.limit_px, 4) and is_valid_price(sell.order.limit_px, 4)


def _tracking_sol(f: Follower, source_size: str, position: str) -> None:
    f.set_position("SOL", D(position))
    pair = replace(f.pairs["SOL"], status=Status.TRACKING, ratio=D("0.0001"), source_size=D(source_size))
    f.pairs["SOL"] = replace(pair, target=D(position))


def test_a_full_close_below_the_minimum_is_always_sent() -> None:
    f = follower("10")  # ρ = 0.0001
    start(f)
    _tracking_sol(f, "500", "0.05")  # $7.50
    close = move(f, "SOL", "500", "0")
    assert close.order is not None and (close.order.size, close.order.reduce_only) == (D("0.05"), True)
    assert close.reason is None and f.position("SOL") == 0


def test_a_flip_is_one_order_and_a_small_flip_still_closes_the_old_side() -> None:
    f = follower("10")  # ρ = 0.0001
    start(f)
    _tracking_sol(f, "500", "0.05")
    flip = move(f, "SOL", "500", "-300")  # τ = −0.03: one sell of 0.08 ($12)
    assert flip.order is not None and (flip.order.side, flip.order.size, flip.order.reduce_only) == (
        "sell",
        D("0.08"),
        False,
    )
    small = move(f, "SOL", "-300", "100")  # τ = 0.01, Δ = 0.04 ($6): close the −0.03, defer the new side
    assert small.order is not None and (small.order.side, small.order.size, small.order.reduce_only) == (
        "buy",
        D("0.03"),
        True,
    )
    assert (small.reason, f.position("SOL"), small.target) == (Reason.DEFERRED_MIN_NOTIONAL, D(0), D("0.01"))
    assert move(f, "SOL", "100", "0").reason is Reason.IN_SYNC


def test_fixed_notional_through_the_engine() -> None:
    f = follower()
    start(f, FollowConfig(sizing=FixedNotionalSizing(D(30))))
    d = move(f, "SOL", "0", "-1000")
    assert d.order is not None and (d.order.side, d.order.size) == ("sell", D("0.2"))


def test_tokens_a_new_version_stops_covering_are_closed_or_detached() -> None:
    narrowed = FollowConfig(filters=Filters(exclude=frozenset({"SOL"})))
    f = follower()
    start(f)
    move(f, "ETH", "0", "10")
    move(f, "SOL", "0", "100")
    (close,) = f.release_uncovered("A", narrowed, close=True)
    assert close.coin == "SOL" and close.order is not None
    assert (close.order.side, close.order.size, close.order.reduce_only) == ("sell", D(1), True)
    assert "SOL" not in f.pairs and f.pairs["ETH"].status is Status.TRACKING
    g = follower()
    start(g)
    move(g, "SOL", "0", "100")
    assert g.release_uncovered("A", narrowed, close=False) == []
    assert "SOL" not in g.pairs and g.position("SOL") == D(1)  # detached: held, no longer managed


def test_a_fired_trigger_leaves_the_pair_untracked_until_the_source_opens_again() -> None:
    f = follower()
    start(f)
    move(f, "ETH", "0", "10")
    f.set_position("ETH", D(0))  # the stop-loss closed it on the venue
    before = f.untrack("ETH")
    assert before is not None and before.status is Status.TRACKING and before.target == D("0.1")
    assert f.pairs["ETH"].status is Status.UNTRACKED and f.pairs["ETH"].target == 0
    assert f.untrack("ETH") is None  # nothing tracked any more
    assert move(f, "ETH", "10", "15").order is None  # an increase does not re-open it
    assert f.check("ETH").order is None
