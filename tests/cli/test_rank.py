"""`mirrorbot rank` offline (issue #17 acceptance): the real 500-fill recording plus the two synthetic
sources of tests/analytics/rank_sources.py, side by side — a stable table whose every score is checked
by hand below; the chart; bad input refused with exit 2 naming the field, nothing on stdout."""

from __future__ import annotations

import json
import statistics
from dataclasses import replace
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from bot.analytics.backtest import Backtest, Outcome
from bot.analytics.fetch import read_history
from bot.analytics.rank_report import NOT_ADVICE
from bot.analytics.roundtrips import lifecycles
from bot.analytics.service import backtest_inputs
from bot.analytics.stats import compute_stats
from bot.cli import app
from bot.domain import AccountState
from strategies.num import add, div, mul, sub
from tests.analytics.rank_sources import STEADY, STEADY_EQUITY, SWINGY, SWINGY_EQUITY, write
from tests.analytics.support import FILLS, TRADER, assert_png

D = Decimal
TRADER_EQUITY = "100000"

# The table, as printed (stable: the same bytes on every run). Rows best score first.
TABLE = """\
#  source       score   return  net PnL  max DD  DD>5%/30d  CV hold  CV gaps  spread bp  taker  fees  funding  cost bp  deferred
1  0x1111…1111  0.909  -0.01 %    -0.70  0.05 %       0.00     0.00     0.35        n/a   75 %  0.20     0.00     3.45      20 %
2  0xb7b6…17b2  0.652  -0.15 %  -152.59  0.17 %       0.00     0.73     1.21        n/a   48 %  0.00     0.00     0.00    83.8 %
3  0x2222…2222  0.292  -3.95 %   -20.57  5.84 %      60.00     0.50     0.41        n/a  100 %  0.57     0.00     5.00       0 %"""  # noqa: E501


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"MIRROR_HL_API_URL": "http://127.0.0.1:9"})


def _args(tmp_path: Path) -> list[str]:
    steady, swingy = write(tmp_path)
    return [
        *("rank", TRADER, STEADY, SWINGY),
        *("--fills", str(FILLS), "--fills", str(steady), "--fills", str(swingy)),
        *("--source-equity", TRADER_EQUITY, "--source-equity", STEADY_EQUITY),
        *("--source-equity", SWINGY_EQUITY),
    ]


def test_the_table_is_stable_and_says_it_is_not_advice(tmp_path: Path) -> None:
    first, again = run(*_args(tmp_path)), run(*_args(tmp_path))
    assert first.exit_code == 0, first.stderr
    assert first.stdout == again.stdout
    lines = first.stdout.splitlines()
    assert lines[0] == "Ranking 3 sources side by side" and lines[1] == NOT_ADVICE
    assert "\n".join(lines[3:7]) == TABLE
    assert "note: 0xb7b6…17b2: a recording has no funding: counted as 0" in first.stdout


def _trader_figures() -> dict[str, Decimal]:
    """The recording's own figures, each from the part `inspect` / `backtest` use (not from rank)."""
    history = read_history(FILLS, TRADER, days=None)
    equity = D(TRADER_EQUITY)
    online = replace(history, account=AccountState(TRADER, equity, (), history.end_ms))
    stats = compute_stats(online)
    params = backtest_inputs(equity=1000, source_equity=equity, depth="inf").params(history)
    replay = Backtest(history, history.markets, params).run()
    trips = lifecycles(history.fills, history.changes).trips
    holding = [t.holding_ms for t in trips if t.holding_ms is not None]
    times = sorted({c.time_ms for c in history.changes})
    gaps = [b - a for a, b in pairwise(times)]
    assert stats.net_pnl == D("-152.586132") and stats.fees == 0  # the recording's fees are all 0
    assert stats.drawdown_pct is not None
    return {
        "return": div(stats.net_pnl, sub(equity, stats.net_pnl)),
        "max_drawdown": stats.drawdown_pct,
        "holding_cv": D(statistics.pstdev(holding) / statistics.mean(holding)),  # floats: a cross-check
        "gap_cv": D(statistics.pstdev(gaps) / statistics.mean(gaps)),
        "deferred": div(D(replay.count(Outcome.DEFERRED)), D(len(replay.decisions))),
    }


def test_every_score_is_the_weighted_normalised_measures_worked_by_hand(tmp_path: Path) -> None:
    """Per measure, the best of the three sources scores 1, the worst 0, the third in proportion; the
    score is Σ weight × part / 0.9 (spread cost is n/a for all three: left out)."""
    result = run(*_args(tmp_path), "--json")
    assert result.exit_code == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    rows = {s["address"]: s for s in doc["sources"]}
    trader = _trader_figures()
    # STEADY and SWINGY by hand (tests/analytics/test_rank_hand.py); the recording from inspect/backtest
    ret = {
        STEADY: div(D("-0.7"), D("10000.7")),
        SWINGY: div(D("-20.57"), D("520.57")),
        TRADER: trader["return"],
    }
    dd = {
        STEADY: div(D("5.1"), D("10005.1")),
        SWINGY: div(D("30.425"), D("520.57")),
        TRADER: trader["max_drawdown"],
    }
    assert rows[TRADER]["return"] == f"{ret[TRADER]:.6f}" and rows[TRADER]["deferred"] == 254
    assert rows[TRADER]["decisions"] == 303 and trader["deferred"] == div(D(254), D(303))
    assert abs(D(rows[TRADER]["holding_time_cv"]) - trader["holding_cv"]) < D("1e-6")
    assert abs(D(rows[TRADER]["trade_gap_cv"]) - trader["gap_cv"]) < D("1e-6")

    def between(x: Decimal, best: Decimal, worst: Decimal) -> Decimal:
        return div(sub(x, worst), sub(best, worst))

    gap_steady, gap_swingy = D("0.353553390593273762"), D("0.408248290463863016")  # √2/4, √(8/3)/4
    parts = {
        STEADY: {
            "return": D(1),  # the best return (−0.007 %)
            "max_drawdown": D(1),  # the smallest drawdown
            "drawdown_frequency": D(1),  # 0, as the recording's
            "holding_cv": D(1),  # 0
            "gap_cv": D(1),  # the smallest
            "cost": between(D("3.451251078515962036"), D(0), D(5)),  # fees 0.2 / volume 579.5
            "deferred": between(D("0.2"), D(0), trader["deferred"]),
        },
        TRADER: {
            "return": between(ret[TRADER], ret[STEADY], ret[SWINGY]),
            "max_drawdown": between(dd[TRADER], dd[STEADY], dd[SWINGY]),
            "drawdown_frequency": D(1),
            "holding_cv": D(0),  # the largest
            "gap_cv": D(0),  # the largest
            "cost": D(1),  # no fees at all
            "deferred": D(0),  # the most deferred
        },
        SWINGY: {
            "return": D(0),
            "max_drawdown": D(0),
            "drawdown_frequency": D(0),  # 60 per 30 days
            "holding_cv": between(D("0.5"), D(0), trader["holding_cv"]),
            "gap_cv": between(gap_swingy, gap_steady, trader["gap_cv"]),
            "cost": D(0),  # 5 bp, the most
            "deferred": D(1),  # nothing deferred
        },
    }
    weights = {"return": "0.25", "max_drawdown": "0.20", "drawdown_frequency": "0.10", "holding_cv": "0.05"}
    weights |= {"gap_cv": "0.05", "cost": "0.05", "deferred": "0.20"}
    assert doc["used"] == list(weights) and doc["left_out"] == ["spread"]
    for address, mine in parts.items():
        for key, part in mine.items():
            assert abs(D(rows[address]["parts"][key]) - part) < D("1e-6"), (address, key)
        score = div(add(*(mul(D(weights[k]), p) for k, p in mine.items())), D("0.9"))
        assert abs(D(rows[address]["score"]) - score) < D("1e-6"), address
    assert [s["address"] for s in doc["sources"]] == [STEADY, TRADER, SWINGY]


def test_the_chart_is_a_png(tmp_path: Path) -> None:
    result = run(*_args(tmp_path), "--chart", str(tmp_path / "rank.png"))
    assert result.exit_code == 0, result.stderr
    assert_png(tmp_path / "rank.png")


A, B = "0x" + "aa" * 20, "0x" + "bb" * 20


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((A,), "addresses: 1 given (accepted: 2 to 10 distinct addresses (0x followed by 40 hex digits))"),
        (tuple(f"0x{n:040x}" for n in range(1, 12)), "addresses: 11 given"),
        ((A, A.upper().replace("0X", "0x")), "given twice"),
        ((A, "0x12"), "addresses: not an address: '0x12'"),
        ((A, B, "--fills", str(FILLS)), "fills: 1 files for 2 addresses (accepted: one per address)"),
        ((A, B, "--source-equity", "1", "--source-equity", "0"), "--source-equity: out of range: 0"),
        ((A, B, "--equity", "1e999"), "--equity: out of range"),
        ((A, B, "--days", "0"), "--days: out of range: 0"),
        ((A, B, "--chart", "x.jpg"), "--chart: expected a file name ending in .png"),
    ],
)
def test_bad_input_is_refused_naming_the_field(args: tuple[str, ...], message: str) -> None:
    result = run("rank", *args)
    assert result.exit_code == 2, result.stdout
    assert message in result.stderr and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
