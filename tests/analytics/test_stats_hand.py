"""Every statistic of `inspect` on a hand-written history, against figures worked out by hand from the
definitions (docs/analytics.md). The history (tests/analytics/histories.py, times in seconds):

    ETH   0 s  buy 1 @ 2000 from 0       fee 0.9                 open long (trip A)
    BTC  30 s  sell 0.1 @ 30000 from 0.2  pnl −20   fee 1.35      trip C was open before the window
    ETH  60 s  buy 1 @ 2100 from 1       fee 0.945
    ETH 120 s  sell 1 @ 2200 from 2      pnl +150  fee 0.99
    ETH 180 s  sell 3 @ 2000 from 1      pnl −50   fee 2.7       flip: A closes, short B opens
    BTC 240 s  sell 0.1 @ 29000 from 0.1 pnl −120  fee 1.305     C closes
    ETH 300 s  buy 2 @ 1900 from −2      pnl +200  fee 1.71      B closes
    funding: ETH +1.5 at 90 s, BTC −0.5 at 200 s; today's equity (online case) 10,000
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from bot.analytics.history import FundingEvent, History, make_history
from bot.analytics.roundtrips import lifecycles
from bot.analytics.stats import SourceStats, compute_stats
from bot.domain import AccountState
from strategies.num import CTX
from tests.analytics.histories import HAND_FILLS, SOURCE, T0

D = Decimal


def _history(*, online: bool) -> History:
    funding = [FundingEvent(T0 + 90_000, "ETH", D("1.5")), FundingEvent(T0 + 200_000, "BTC", D("-0.5"))]
    history = make_history(SOURCE, HAND_FILLS, funding=funding)
    if online:
        history = replace(history, account=AccountState(SOURCE, D(10_000), (), T0 + 300_000))
    return history


@pytest.fixture
def stats() -> SourceStats:
    return compute_stats(_history(online=False))


@pytest.fixture
def online() -> SourceStats:
    return compute_stats(_history(online=True))


def test_money(stats: SourceStats) -> None:
    assert stats.realised_pnl == D(0 + 150 - 50 + 200 - 20 - 120) == D(160)
    assert stats.fees == D("0.9") + D("0.945") + D("0.99") + D("2.7") + D("1.71") + D("1.35") + D("1.305")
    assert stats.fees == D("9.9")
    assert stats.funding == D(1)
    assert stats.net_pnl == D("151.1")


def test_activity(stats: SourceStats) -> None:
    assert (stats.fills, stats.orders, stats.changes) == (7, 7, 7)
    assert stats.start_ms == T0 and stats.end_ms == T0 + 300_000  # offline: first to last fill
    assert stats.changes_per_day == D(7) * D(86_400_000) / D(300_000) == D(2016)
    eth, btc = {c.coin: c for c in stats.coins}["ETH"], {c.coin: c for c in stats.coins}["BTC"]
    assert (eth.fills, eth.volume, eth.realised_pnl, eth.funding, eth.round_trips) == (
        5,
        D(2000 + 2100 + 2200 + 6000 + 3800),
        D(300),
        D("1.5"),
        2,
    )
    assert (btc.fills, btc.volume, btc.realised_pnl, btc.fees, btc.funding, btc.round_trips) == (
        2,
        D(3000 + 2900),
        D(-140),
        D("2.655"),
        D("-0.5"),
        1,
    )
    assert stats.end_positions == ()


def test_round_trips_and_their_pnl() -> None:
    history = _history(online=False)
    trips = sorted(lifecycles(history.fills, history.changes).trips, key=lambda t: (t.coin, t.open_ms or 0))
    # BTC trip C: opened before the window; ETH trip A (long), trip B (short, opened by the flip)
    c, a, b = trips
    assert (c.coin, c.side, c.open_ms, c.close_ms) == ("BTC", 1, None, T0 + 240_000)
    assert (c.closed_pnl, c.fees, c.net_pnl) == (D(-140), D("2.655"), D("-142.655"))
    assert (a.side, a.open_ms, a.close_ms, a.closed_pnl) == (1, T0, T0 + 180_000, D(100))
    # the flip's fee 2.7 splits |old| : |new| = 1 : 2 → 0.9 to A, 1.8 to B
    assert a.fees == D("0.9") + D("0.945") + D("0.99") + D("0.9")
    assert (b.side, b.open_ms, b.close_ms) == (-1, T0 + 180_000, T0 + 300_000)
    assert (b.closed_pnl, b.fees) == (D(200), D("3.51"))


def test_win_rates_profit_factor_holding(stats: SourceStats) -> None:
    assert (stats.round_trips, stats.complete_round_trips, stats.winning_round_trips) == (3, 2, 2)
    assert stats.win_rate == CTX.divide(D(2), D(3))
    # closing fills: 120 s (+150 − 0.99), 180 s (−50 − 2.7/3), 300 s (+200 − 1.71), 30 s, 240 s (losses)
    assert (stats.closing_fills, stats.winning_closing_fills, stats.closing_fill_win_rate) == (5, 2, D("0.4"))
    wins = D("96.265") + D("196.49")
    assert (stats.gross_profit, stats.gross_loss) == (wins, D("142.655"))
    assert stats.profit_factor == CTX.divide(wins, D("142.655"))
    assert stats.avg_holding_ms == D(150_000)  # (180 s + 120 s) / 2; trip C's open is unknown


def test_equity_curve_and_drawdown(stats: SourceStats) -> None:
    values = [(p.time_ms - T0, p.value) for p in stats.curve]
    assert values == [
        (0, D(0)),
        (0, D("-0.9")),
        (30_000, D("-22.25")),
        (60_000, D("-23.195")),
        (90_000, D("-21.695")),
        (120_000, D("127.315")),
        (180_000, D("74.615")),
        (200_000, D("74.115")),
        (240_000, D("-47.19")),
        (300_000, D("151.1")),
    ]
    dd = stats.drawdown
    assert (dd.amount, dd.peak, dd.trough) == (D("174.505"), D("127.315"), D("-47.19"))
    assert (dd.peak_ms, dd.trough_ms) == (T0 + 120_000, T0 + 240_000)
    assert stats.drawdown_pct is None  # offline: equity unknown


def test_notional_offline(stats: SourceStats) -> None:
    # gross notional after each change: 8000 (0 s), 5000 (30), 7200 (60), 5200 (120), 7000 (180),
    # 4000 (240), 0 (300)
    assert stats.max_notional == D(8000)
    area = 8000 * 30 + 5000 * 30 + 7200 * 60 + 5200 * 60 + 7000 * 60 + 4000 * 60
    assert stats.avg_notional == D(area) / D(300)
    assert stats.avg_leverage is None and stats.max_leverage is None
    assert "offline" in stats.leverage_note


def test_leverage_and_drawdown_pct_online(online: SourceStats) -> None:
    # equity at t = 10,000 − (151.1 − curve(t))
    curve = ("-0.9", "-22.25", "-23.195", "127.315", "74.615", "-47.19")
    equity = [D(10_000) - (D("151.1") - D(v)) for v in curve]
    gross = [D(8000), D(5000), D(7200), D(5200), D(7000), D(4000)]
    held = [30, 30, 60, 60, 60, 60]
    levels = [CTX.divide(g, e) for g, e in zip(gross, equity, strict=True)]
    assert online.max_leverage == levels[0] == CTX.divide(D(8000), D("9848.0"))
    mean = CTX.divide(sum((CTX.multiply(lv, D(s)) for lv, s in zip(levels, held, strict=True)), D(0)), D(300))
    assert online.avg_leverage is not None and abs(online.avg_leverage - mean) < D("1e-25")
    # start equity 10,000 − 151.1 = 9848.9; at the peak 9848.9 + 127.315
    assert online.drawdown_pct == CTX.divide(D("174.505"), D("9976.215"))
    assert online.equity == D(10_000)


def test_a_window_cuts_the_history() -> None:
    # only the last 100 s: ETH 240..300 s has one fill (the close of the short), BTC one (its close)
    cut = compute_stats(make_history(SOURCE, HAND_FILLS, start_ms=T0 + 200_000, end_ms=T0 + 300_000))
    assert (cut.fills, cut.realised_pnl, cut.round_trips, cut.complete_round_trips) == (2, D(80), 2, 0)
    assert cut.win_rate == D("0.5") and cut.avg_holding_ms is None


def test_spot_fills_are_left_out() -> None:
    spot = [replace(HAND_FILLS[0], coin="@107"), replace(HAND_FILLS[0], coin="PURR/USDC", oid=99)]
    assert compute_stats(make_history(SOURCE, [*HAND_FILLS, *spot])).fills == len(HAND_FILLS)
