"""Hypothesis properties of the engine (SPEC §2), run through the scenario runner of `mirrorbot simulate`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.normalise import changes_from_fills
from bot.simulate import FillReplay, ScenarioRun, parse_scenario
from strategies.model import Event, Market, Reason, Status
from strategies.num import is_valid_price, mul, q_lot, sign
from tests.normalise.histories import History, histories

D = Decimal
INSTRUMENTS = {"ETH": {"sz_decimals": 4, "max_leverage": 50}, "SOL": {"sz_decimals": 2, "max_leverage": 20}}
COINS = tuple(INSTRUMENTS)

sizes = st.integers(-400, 400).map(lambda n: str(D(n).scaleb(-1)))  # −40 … 40 by 0.1
mids = st.integers(50, 5000).map(str)
equities = st.integers(1, 2_000_000).map(str)
scalings = st.integers(0, 300)


@st.composite
def follows(draw: st.DrawFn) -> dict[str, Any]:
    strategy = draw(st.sampled_from(["mirror", "fixed_ratio", "fixed_notional"]))
    follow: dict[str, Any] = {
        "strategy": strategy,
        "scaling": {"*": draw(scalings)},
        "copy_current": draw(st.booleans()),
        "copy_increase_as_open": draw(st.booleans()),
        "reverse": draw(st.booleans()),
        "side": draw(st.sampled_from(["both", "long_only", "short_only"])),
        "slippage_cap": draw(st.sampled_from(["0.001", "0.01", "0.05"])),
    }
    if strategy == "fixed_ratio":
        follow["ratio"] = draw(st.sampled_from(["0.001", "0.013", "0.5"]))
    if strategy == "fixed_notional":
        follow["notional"] = draw(st.sampled_from(["5", "50", "800"]))
    if draw(st.booleans()):
        follow["max_notional_token"] = draw(st.sampled_from(["100", "2500"]))
        follow["max_notional_total"] = draw(st.sampled_from(["150", "4000"]))
    return follow


@st.composite
def steps(draw: st.DrawFn, *, partial_fills: bool) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(["source", "source", "source", "mids", "scaling", "equity", "pause", "reconcile"])
    )
    coin = draw(st.sampled_from(COINS))
    step: dict[str, Any]
    if kind == "source":
        step = {"source": {coin: draw(sizes)}}
        if partial_fills and draw(st.booleans()):
            step["fill"] = draw(st.sampled_from(["0", "0.3", "0.5"]))
    elif kind == "mids":
        step = {"mids": {coin: draw(mids)}}
    elif kind == "scaling":
        step = {"set_scaling": {draw(st.sampled_from([*COINS, "*"])): draw(scalings)}}
    elif kind == "equity":
        step = {draw(st.sampled_from(["source_equity", "follower_equity"])): draw(equities)}
    elif kind == "pause":
        step = {"pause": draw(st.booleans())}
    else:
        step = {"reconcile": True}
    return step


@st.composite
def scenarios(draw: st.DrawFn, *, partial_fills: bool = False) -> dict[str, Any]:
    first = {
        "source_equity": draw(equities),
        "follower_equity": draw(equities),
        "mids": {coin: draw(mids) for coin in COINS},
        "source": {coin: draw(sizes) for coin in COINS},
    }
    rest = draw(st.lists(steps(partial_fills=partial_fills), min_size=1, max_size=25))
    return {"instruments": INSTRUMENTS, "follow": draw(follows()), "steps": [first, *rest]}


def _run(doc: dict[str, Any], *, settled: bool) -> None:
    """Run a scenario step by step, checking every property after each step."""
    scenario = parse_scenario(doc)
    run = ScenarioRun(scenario)
    f = run.follower
    for step in scenario.steps:
        targets = {coin: pair.target for coin, pair in f.pairs.items()}
        positions = {coin: f.position(coin) for coin in COINS}
        lines = run.run_step(step)
        moves = step.source or step.mids or step.reconcile or step.follow or step.copy_current
        only_settings = not moves and step.pause is not False  # a resume re-examines every pair
        if step.index > 0 and only_settings:
            # a scaling, equity or pause change alone sends nothing
            assert all(line["order"] is None for line in lines), lines
        for d in run.decisions:
            before = targets.get(d.coin, D(0))
            if d.event is Event.DECREASE:
                assert abs(d.target) <= abs(before)
            if d.event is Event.INCREASE:
                assert abs(d.target) >= abs(before)
            if d.order is None:
                continue
            market = f.markets[d.coin]
            p_before, p_after = positions[d.coin], d.position + d.order.signed_size
            # lot and price rules, and the slippage cap
            assert d.order.size > 0 and d.order.size % market.lot == 0
            assert is_valid_price(d.order.limit_px, market.sz_decimals)
            mid, cap = f.mids[d.coin], run.config.slippage_cap
            if d.order.is_buy:
                assert d.order.limit_px <= mul(mid, 1 + cap)
            else:
                assert d.order.limit_px >= mul(mid, 1 - cap)
            # only a flip takes the follower across zero, in one order (with partial fills, the follower
            # may still hold the side an unfilled close left, and the next open then crosses zero too)
            if p_before != 0 and sign(p_after) == -sign(p_before):
                assert not d.order.reduce_only and sign(d.target) == sign(p_after)
                assert d.event is Event.FLIP or not settled
            if d.order.reduce_only:
                assert sign(p_after) in (0, sign(p_before)) and abs(p_after) < abs(p_before)
        if settled:
            for coin, pair in f.pairs.items():
                gap = abs(q_lot(pair.target, f.markets[coin].sz_decimals) - f.position(coin))
                if pair.status is not Status.TRACKING:
                    assert f.position(coin) == 0 and pair.target == 0
                elif gap != 0:
                    # q(τ) − p is 0, or deferred below the minimum (or withheld while paused)
                    assert f.paused or gap * f.mids[coin] < f.min_notional, (coin, pair, f.position(coin))


@settings(max_examples=300)
@given(scenarios())
def test_engine_properties_with_full_fills(doc: dict[str, Any]) -> None:
    _run(doc, settled=True)


@settings(max_examples=150)
@given(scenarios(partial_fills=True))
def test_engine_properties_with_partial_fills(doc: dict[str, Any]) -> None:
    _run(doc, settled=False)


@given(scenarios())
def test_a_scaling_or_equity_change_alone_sends_nothing_and_changes_no_target(doc: dict[str, Any]) -> None:
    run = ScenarioRun(parse_scenario(doc))
    for step in parse_scenario(doc).steps:
        run.run_step(step)
    before = {coin: (pair.ratio, pair.target) for coin, pair in run.follower.pairs.items()}
    extra = parse_scenario(
        {
            **doc,
            "steps": [
                doc["steps"][0],
                {"set_scaling": {"*": 7, "ETH": 250}, "source_equity": "3", "follower_equity": "9"},
            ],
        }
    ).steps[1]
    lines = run.run_step(extra)
    assert lines and all(
        line["order"] is None and line["reason"] in (Reason.APPLIES_AT_NEXT_OPEN, "not_following")
        for line in lines
    )
    assert {coin: (pair.ratio, pair.target) for coin, pair in run.follower.pairs.items()} == before


MARKETS = {"BTC": Market("BTC", 5, None), "ETH": Market("ETH", 4, None), "SOL": Market("SOL", 2, None)}


def _replay(history: History, fills: list[Any]) -> list[dict[str, object]]:
    changes = changes_from_fills("src", fills, initial=history.initial)
    return FillReplay(changes, MARKETS, equity=D(100000), source_equity=D(10000)).run()


@given(histories(), st.randoms(use_true_random=False))
def test_duplicated_or_reordered_fills_give_the_same_orders(history: History, rnd: Any) -> None:
    shuffled = list(history.fills)
    rnd.shuffle(shuffled)
    duplicated = shuffled + rnd.sample(shuffled, k=len(shuffled) // 2)
    rnd.shuffle(duplicated)
    assert _replay(history, duplicated) == _replay(history, history.fills)
