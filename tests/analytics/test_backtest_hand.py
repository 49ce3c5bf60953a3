"""The backtest on a three-fill history, against figures worked out by hand (docs/analytics.md).

Source (tests/analytics/histories.py SIMPLE_FILLS): buy 10 ETH @ 2000 at 0 s, buy 5 @ 2010 at 0.5 s,
sell 15 @ 2100 at 5 s. Follower: E_F 1,000, E_S 100,000 → ρ = 0.01; ETH lot 0.0001; delay 1 s;
taker fee 0.05 %; half-spread 0.1 %; depth 100,000 USD per 1 %; slippage cap 1 %.
"""

from __future__ import annotations

from decimal import Decimal

from bot.analytics.backtest import Backtest, BacktestParams, BacktestResult, Outcome
from bot.analytics.history import make_history
from bot.analytics.market import SlippageModel
from bot.service.settings import settings_from_json
from strategies.model import Market
from strategies.num import CTX
from tests.analytics.histories import SIMPLE_FILLS, SOURCE, T0

D = Decimal
ETH = {"ETH": Market("ETH", 4)}


def _run(equity: str = "1000", options: dict[str, object] | None = None) -> BacktestResult:
    params = BacktestParams(
        source_equity=D(100_000),
        follower_equity=D(equity),
        config=settings_from_json({"copy_current": True, **(options or {})}).config,
        taker_fee=D("0.0005"),
        delay_ms=1000,
        slippage=SlippageModel(D("0.001"), D(100_000)),
    )
    return Backtest(make_history(SOURCE, SIMPLE_FILLS), ETH, params).run()


def test_each_copy_is_priced_after_the_delay_with_slippage_and_fees() -> None:
    r = _run()
    follow, opened, added, closed = r.decisions
    assert (follow.event, follow.outcome) == ("follow", Outcome.UNCHANGED)  # the source was flat
    # open: the price 1 s later is the 0.5 s fill's, 2010; 0.1 ETH walks 201 USD of book
    assert (opened.mid, opened.side, opened.ordered, opened.filled) == (D(2010), "buy", D("0.1"), D("0.1"))
    assert opened.avg_px == D(2010) * (D(1) + D("0.001") + D("0.1") * D(2010) * D("0.005") / D(100_000))
    assert opened.avg_px == D("2012.0302005")
    assert opened.fee == D("0.1") * D("2012.0302005") * D("0.0005")
    # increase by 5 at the locked ratio: 0.05 more, still priced at 2010 (no fill between 1.5 s and 0.5 s)
    assert (added.mid, added.ordered) == (D(2010), D("0.05"))
    assert added.avg_px == D(2010) * (D("1.001") + D("0.05") * D(2010) * D("0.005") / D(100_000))
    # close: priced at the close's own fill (2100, the last one before 6 s), selling walks down
    assert (closed.mid, closed.side, closed.ordered) == (D(2100), "sell", D("0.15"))
    assert closed.avg_px == D(2100) * (D(1) - D("0.001") - D("0.15") * D(2100) * D("0.005") / D(100_000))
    assert closed.avg_px == D("2097.866925")
    assert all(d.attempts == 1 and not d.out_of_sync for d in (opened, added, closed))


def test_pnl_fees_slippage_and_tracking_error() -> None:
    r = _run()
    open_px, add_px, close_px = D("2012.0302005"), D("2012.02010025"), D("2097.866925")
    realised = D("0.15") * close_px - D("0.1") * open_px - D("0.05") * add_px
    assert r.follower_realised == realised == D("12.8760136875")
    fees = (D("0.1") * open_px + D("0.05") * add_px + D("0.15") * close_px) * D("0.0005")
    assert r.follower_fees == fees
    assert r.follower_pnl == realised - fees
    slippage = D("0.1") * (open_px - 2010) + D("0.05") * (add_px - 2010) + D("0.15") * (2100 - close_px)
    assert r.follower_slippage == slippage == D("0.6239863125")
    assert r.follower_volume == D("0.1") * open_px + D("0.05") * add_px + D("0.15") * close_px
    # the source: −20000 − 10050 + 31500 over the window; the ideal follower is 1 % of it
    assert (r.source_pnl, r.source_realised, r.ideal_pnl) == (D(1450), D(1450), D("14.5"))
    # F − I at 0 s (marks 2000), 0.5 s (marks 2010) and 5 s (flat)
    fee_open = D("0.1") * open_px * D("0.0005")
    fee_add = D("0.05") * add_px * D("0.0005")
    entry = (D("0.1") * open_px + D("0.05") * add_px) / D("0.15")
    gaps = [
        -fee_open + D("0.1") * (2000 - open_px) - 0,
        -(fee_open + fee_add) + D("0.15") * (2010 - entry) - D("0.01") * (-30050 + 15 * 2010),
        realised - fees - D("14.5"),
    ]
    measured = [f.value - i.value for f, i in zip(r.follower_curve, r.ideal_curve, strict=True)]
    assert all(abs(m - g) < D("1e-20") for m, g in zip(measured, gaps, strict=True)), (measured, gaps)
    rms = CTX.sqrt(CTX.divide(sum((CTX.multiply(g, g) for g in gaps), D(0)), D(3)))
    assert abs(r.tracking_error - rms) < D("1e-20")
    assert r.max_tracking_gap == max(abs(g) for g in gaps) == abs(gaps[2])
    assert r.end_positions == ()
    assert [p.time_ms - T0 for p in r.follower_curve] == [0, 500, 5000]


def test_below_the_minimum_the_increase_is_deferred_and_the_close_still_sent() -> None:
    # E_F 50 → ρ 0.0005: open 0.005 ETH ($10.05); +5 → τ 0.0075, Δ 0.0025 ETH ($5.03) deferred;
    # the close takes the follower from 0.005 to 0 (reduce-only to zero: always sent)
    r = _run("50")
    _, opened, added, closed = r.decisions
    assert (opened.outcome, opened.ordered) == (Outcome.SENT, D("0.005"))
    assert (added.outcome, added.reason, added.ordered, added.filled) == (
        Outcome.DEFERRED,
        "deferred_min_notional",
        D(0),
        D(0),
    )
    assert (closed.outcome, closed.ordered, closed.filled) == (Outcome.SENT, D("0.005"), D("0.005"))
    assert r.count(Outcome.DEFERRED) == 1 and r.reasons(Outcome.DEFERRED) == {"deferred_min_notional": 1}
    assert r.end_positions == ()


def test_a_guard_of_the_follow_skips_growth_with_its_reason() -> None:
    # the copy of the open sees 2010 against the source's 2000: 0.5 % worse, above a 0.1 % guard
    r = _run(options={"max_price_deviation": "0.001"})
    _, opened, added, closed = r.decisions
    assert (opened.outcome, opened.reason) == (Outcome.SKIPPED, "price_deviation")
    # a skipped open leaves the pair untracked: the engine then ignores the add and the close
    assert [(d.outcome, d.reason) for d in (added, closed)] == [(Outcome.SKIPPED, "untracked")] * 2
    assert r.reasons(Outcome.SKIPPED) == {"price_deviation": 1, "untracked": 2}
    assert r.follower_pnl == 0 and r.follower_volume == 0 and r.end_positions == ()


def test_a_thin_book_fills_in_part_then_retries_then_reports_out_of_sync() -> None:
    # depth 1,000 USD per 1 %: between the touch (+0.1 %) and the limit (+1 %) lie 900 USD of book,
    # 0.4477 ETH at 2010 per attempt; the open of 10 ETH (ρ = 1) gets three attempts (one + two
    # retries at the same price, the book refilled), then the pair is reported out of sync
    fillable = D(1000) * D("0.009") / D("0.01")
    thin = BacktestParams(
        source_equity=D(1000),  # ρ = 1: the open is 10 ETH, 20,100 USD
        follower_equity=D(1000),
        taker_fee=D(0),
        delay_ms=1000,
        slippage=SlippageModel(D("0.001"), D(1000)),
    )
    r = Backtest(make_history(SOURCE, SIMPLE_FILLS), ETH, thin).run()
    assert r.decisions[1].ordered * 2010 > fillable
    opened = r.decisions[1]
    per_attempt = CTX.divide(fillable, D(2010)).quantize(D("0.0001"), rounding="ROUND_DOWN")
    assert (opened.ordered, opened.attempts, opened.out_of_sync) == (D(10), 3, True)
    assert opened.filled == 3 * per_attempt
    assert r.partial_fills >= 1 and r.out_of_sync >= 1
