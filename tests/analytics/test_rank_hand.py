"""Every measure of `rank` on two synthetic sources (tests/analytics/rank_sources.py), against figures
worked out by hand from the definitions (docs/analytics.md, "rank"). Times in hours from T0.

    STEADY (ETH, equity at the end 10,000)           SWINGY (BTC, equity at the end 500)
      0 h  buy 0.045 @ 2000 from 0      fee 0.05 T      0 h  buy 0.01 @ 30000 from 0     fee 0.15  T
     24 h  sell 0.045 @ 2100 pnl +4.5   fee 0.05 M      2 h  sell 0.01 @ 27000 pnl −30   fee 0.135 T
     72 h  buy 0.1 @ 2000 from 0        fee 0.05 T      6 h  buy 0.01 @ 28000 from 0     fee 0.14  T
     96 h  sell 0.1 @ 1950 pnl −5       fee 0.05 T     12 h  sell 0.01 @ 29000 pnl +10   fee 0.145 T
    (T taker: crossed; M maker)
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from bot.analytics.curve import Point
from bot.analytics.fetch import read_history
from bot.analytics.history import make_history
from bot.analytics.rank import (
    CRITERIA,
    HISTORY_REACH,
    Measures,
    drawdown_count,
    measure,
    rank,
    spread,
    variation,
)
from bot.analytics.rank_report import NO_MID, RankReport, rank_figure, rank_inputs, rank_sources
from bot.analytics.stats import compute_stats
from bot.domain import Side, SourceFill
from strategies.num import CTX, add, div, mul
from tests.analytics.rank_sources import (
    HOUR,
    STEADY,
    STEADY_EQUITY,
    SWINGY,
    SWINGY_EQUITY,
    T0,
    write,
)

D = Decimal
DAY = 24 * HOUR


@pytest.fixture
def report(tmp_path: Path) -> RankReport:
    steady, swingy = write(tmp_path)
    checked = rank_inputs(
        [STEADY, SWINGY], fills_files=[steady, swingy], source_equities=[STEADY_EQUITY, SWINGY_EQUITY]
    )
    return asyncio.run(rank_sources(checked))


def _row(report: RankReport, address: str) -> Measures:
    return next(r.measures for r in report.ranking.rows if r.measures.address == address)


def test_steady_by_hand(report: RankReport) -> None:
    m = _row(report, STEADY)
    assert (m.start_ms, m.end_ms, m.fills) == (T0, T0 + 4 * DAY, 4)
    # net = +4.5 − 5 − 4 × 0.05; start equity = 10,000 − (−0.7)
    assert m.net_pnl == D("-0.7") and m.return_pct == div(D("-0.7"), D("10000.7"))
    # curve 0, −0.05 (0 h), 4.4 (24 h), 4.35 (72 h), −0.7 (96 h): peak 4.4, trough −0.7
    assert m.max_drawdown == D("5.1") and m.drawdown_pct == div(D("5.1"), D("10005.1"))
    assert (m.drawdowns, m.drawdown_frequency) == (0, D(0))  # 5.1 / 10,005.1 ≈ 0.05 %, far below 5 %
    assert m.holding_cv == 0  # both trips held 24 h
    # gaps 24, 48, 24 h: mean 32, σ = √((64 + 256 + 64) / 3) = √128 = 8√2, CV = √2 / 4
    assert m.gap_cv == div(CTX.sqrt(D(2)), D(4))
    assert m.taker_share == D("0.75") and m.spread_bp is None  # no mid at fill time in a recording
    # volume 90 + 94.5 + 200 + 195 = 579.5; fees 0.2, funding 0
    assert (m.fees, m.funding) == (D("0.2"), D(0)) and m.cost_bp == mul(div(D("0.2"), D("579.5")), D(10_000))
    # ρ = 1000 / 10000 = 0.1: follow ETH (unchanged), open 0.0045 → 0.004 ETH (lot 0.001) = $8 < $10
    # deferred, close to 0 with nothing held unchanged, open 0.01 ETH = $20 sent, close sent
    assert (m.decisions, m.deferred, m.deferred_share) == (5, 1, D("0.2"))


def test_swingy_by_hand(report: RankReport) -> None:
    m = _row(report, SWINGY)
    assert (m.start_ms, m.end_ms) == (T0, T0 + 12 * HOUR)
    # net = −30 + 10 − (0.15 + 0.135 + 0.14 + 0.145); start equity 500 + 20.57
    assert m.net_pnl == D("-20.57") and m.return_pct == div(D("-20.57"), D("520.57"))
    # curve 0, −0.15, −30.285, −30.425, −20.57: the peak is the starting 0
    assert m.max_drawdown == D("30.425") and m.drawdown_pct == div(D("30.425"), D("520.57"))
    # one drop over 5 % (30.285 / 520.57 ≈ 5.8 % at 2 h) in 12 h: 1 × 30 days / 0.5 day
    assert (m.drawdowns, m.drawdown_frequency) == (1, D(60))
    assert m.holding_cv == D("0.5")  # trips of 2 h and 6 h: mean 4, σ 2
    # gaps 2, 4, 6 h: mean 4, σ = √(8/3), CV = √(8/3) / 4
    assert m.gap_cv == div(CTX.sqrt(div(D(8), D(3))), D(4))
    assert m.taker_share == 1
    assert m.cost_bp == D(5)  # 0.57 / (300 + 270 + 280 + 290) × 10,000
    assert (m.decisions, m.deferred) == (5, 0)  # ρ = 2: 0.02 BTC ≈ $600 per copy, all sent


def test_two_sources_score_by_hand(report: RankReport) -> None:
    """With two sources each measure normalises to 1 (the better) or 0. STEADY is better in all but
    copyability (20 % deferred against 0 %); spread cost is n/a, so the weights used add up to 0.9."""
    ranking = report.ranking
    assert [c.key for c in ranking.left_out] == ["spread"]
    assert sum(c.weight for c in ranking.used) == D("0.9")
    first, second = ranking.rows
    assert first.measures.address == STEADY and second.measures.address == SWINGY
    assert first.parts == {
        "return": 1,
        "max_drawdown": 1,
        "drawdown_frequency": 1,
        "holding_cv": 1,
        "gap_cv": 1,
        "cost": 1,
        "deferred": 0,
    }
    assert all(second.parts[k] == (1 if k == "deferred" else 0) for k in first.parts)
    # (0.25 + 0.20 + 0.10 + 0.05 + 0.05 + 0.05) / 0.9 and 0.20 / 0.9, to 6 decimals
    assert (first.score, second.score) == (D("0.777778"), D("0.222222"))


def test_the_text_says_descriptive_not_advice_and_prints_the_weights(report: RankReport) -> None:
    text = report.text()
    assert "Descriptive, not advice" in text.splitlines()[1]
    assert "Score weights (of 0.90 used): return % 0.25 (higher is better)" in text
    assert "Left out of the score (not known for every source): spread cost bp 0.10" in text
    assert f"note: {NO_MID}" in text  # said once, for every source
    doc = report.to_json()
    assert doc["weights"]["return"] == "0.25" and doc["left_out"] == ["spread"]
    assert [s["score"] for s in doc["sources"]] == ["0.777778", "0.222222"]


def test_weights_add_up_to_one() -> None:
    assert sum(c.weight for c in CRITERIA) == 1
    assert len({c.key for c in CRITERIA}) == len(CRITERIA)


def test_drawdown_count_counts_each_drop_once_until_the_peak_is_regained() -> None:
    # base 1000: 0 → −60 (6 % of 1000: one) → −70 (same drop) → 0 (peak regained) → −40 (4 %: none)
    # → 100 (new peak) → 40 (60 / 1100 ≈ 5.45 %: two) → 45
    values = [0, -60, -70, 0, -40, 100, 40, 45]
    curve = [Point(T0 + i, D(v)) for i, v in enumerate(values)]
    assert drawdown_count(curve, D(1000)) == 2
    assert drawdown_count(curve, D(2000)) == 0  # 70 / 2000 = 3.5 %: no drop counts
    # exactly 5 % is not over 5 %
    assert drawdown_count([Point(T0, D(0)), Point(T0 + 1, D(-50))], D(1000)) == 0


def test_variation_by_hand() -> None:
    assert variation([D(2), D(6)]) == D("0.5")
    assert variation([D(3), D(3), D(3)]) == 0
    assert variation([D(1), D(2), D(3), D(4)]) == div(CTX.sqrt(D("1.25")), D("2.5"))
    assert variation([D(5)]) is None and variation([]) is None  # fewer than two values
    assert variation([D(-1), D(1)]) is None  # mean 0


def _fill(seconds: int, px: str, *, crossed: bool) -> SourceFill:
    return SourceFill(
        "ETH", D(px), D(1), Side.BUY, T0 + seconds * 1000, seconds, seconds, D(seconds), crossed=crossed
    )


def test_spread_cost_against_known_mids() -> None:
    """|2002 − 2000| / 2000 = 10 bp, |1997 − 1999| / 1999 ≈ 10.005 bp; the fill without a mid is left
    out of the mean; the taker share counts every fill."""
    history = make_history(STEADY, [_fill(0, "2002", crossed=True), _fill(1, "1997", crossed=False)])
    history = make_history(STEADY, [*history.fills, _fill(2, "2100", crossed=True)])
    mids = {T0: D(2000), T0 + 1000: D(1999)}
    bp, taker = spread(history, lambda coin, t: mids.get(t))
    assert bp == div(add(D(10), mul(div(D(2), D(1999)), D(10_000))), D(2))
    assert taker == div(D(2), D(3))
    assert spread(history, None) == (None, div(D(2), D(3)))


def test_without_equity_the_equity_measures_are_left_out_of_every_score(tmp_path: Path) -> None:
    steady, swingy = write(tmp_path)
    checked = rank_inputs([STEADY, SWINGY], fills_files=[steady, swingy])
    report = asyncio.run(rank_sources(checked))
    m = _row(report, STEADY)
    assert m.return_pct is None and m.drawdown_pct is None and m.drawdown_frequency is None
    assert m.deferred_share is None and m.max_drawdown == D("5.1")  # the USD figure needs no equity
    assert [c.key for c in report.ranking.left_out] == [
        "return",
        "max_drawdown",
        "drawdown_frequency",
        "spread",
        "deferred",
    ]
    assert "equity unknown (offline, none given)" in report.text()


def test_equal_sources_score_one() -> None:
    history = make_history(STEADY, [_fill(0, "2000", crossed=True)])
    row = measure(history, compute_stats(history), equity=D(1000), replay=None)
    twin = replace(row, address=SWINGY)
    ranking = rank([row, twin])
    assert [r.score for r in ranking.rows] == [1, 1]
    assert [r.measures.address for r in ranking.rows] == [STEADY, SWINGY]  # ties: by address


def test_a_history_at_the_venues_reach_is_said_to_be_cut(tmp_path: Path) -> None:
    """10,000 fills is all the venue keeps reachable: the window may reach further back, and the
    report says so; one fill fewer is not flagged."""
    fills = [_fill(i, "2000", crossed=True) for i in range(HISTORY_REACH)]
    history = make_history(STEADY, fills)
    assert measure(history, compute_stats(history), equity=None, replay=None).cut
    short = make_history(STEADY, fills[:-1])
    assert not measure(short, compute_stats(short), equity=None, replay=None).cut
    doc = [
        {"coin": "ETH", "px": "2000", "sz": "1", "side": "B", "time": T0 + i * 1000, "startPosition": str(i)}
        | {"dir": "Open Long", "closedPnl": "0", "hash": f"0x{i:064x}", "oid": i, "tid": i, "fee": "0"}
        | {"crossed": True}
        for i in range(HISTORY_REACH)
    ]
    busy = tmp_path / "busy.json"
    busy.write_text(json.dumps(doc))
    steady, _ = write(tmp_path)
    report = asyncio.run(rank_sources(rank_inputs([STEADY, SWINGY], fills_files=[busy, steady])))
    cut = {r.measures.address: r.measures.cut for r in report.ranking.rows}
    assert cut == {STEADY: True, SWINGY: False}
    assert (
        "note: 0x1111…1111: history cut: the venue keeps only the last 10,000 fills reachable"
        in report.text()
    )
    assert {s["address"]: s["history_cut"] for s in report.to_json()["sources"]} == cut


def test_offline_read_is_the_recordings_window(tmp_path: Path) -> None:
    steady, _ = write(tmp_path)
    history = read_history(steady, STEADY, days=None)
    assert (history.start_ms, history.end_ms) == (T0, T0 + 4 * DAY)


def test_the_docs_weights_table_is_the_code() -> None:
    text = (Path(__file__).parents[2] / "docs" / "analytics.md").read_text()
    section = text[text.index("### Composite score") :]
    rows = re.findall(r"^\| `([a-z_]+)` \| ([0-9.]+) \| (higher|lower) \|$", section, re.MULTILINE)
    code = [(c.key, str(c.weight), "higher" if c.higher_is_better else "lower") for c in CRITERIA]
    assert rows == code


def test_the_score_chart_reads_scores_on_its_x_axis_not_times(report: RankReport) -> None:
    """The score bars share the charts' figure: its x-axis is the score from 0 to 1, not a time axis
    (a date formatter there labels 0..1 as instants of 1970-01-01)."""
    figure = rank_figure(report)
    axes = figure.axes[0]
    FigureCanvasAgg(figure).draw()  # type: ignore[no-untyped-call]  # untyped in matplotlib's stubs
    labels = [t.get_text() for t in axes.get_xticklabels() if t.get_text()]
    assert labels and all(0 <= float(label) <= 1 for label in labels), labels
    assert axes.get_xlabel().startswith("composite score")
