"""The high-water-mark profit share (SPEC §14; docs/commission.md), on hand-computed cases, and its
periods."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.service.profit_share import by_period, high_water_mark_shares, period_start

D = Decimal


def at(day: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


def shares(pnls: list[str], rate: str) -> list[tuple[Decimal, Decimal, Decimal, Decimal]]:
    periods = [(at(i + 1), D(p), D(0)) for i, p in enumerate(pnls)]
    return [
        (r.cumulative, r.high_water_mark, r.new_profit, r.share)
        for r in high_water_mark_shares(periods, D(rate))
    ]


def test_a_loss_is_earned_back_before_a_share_is_due_again() -> None:
    # 20 %: +100 → 20 due; −50 → nothing (cumulative 50 under the mark 100); +80 → cumulative 130,
    # 30 above the mark → 6 due; +30 → 160, 30 above the new mark 130 → 6 due.
    assert shares(["100", "-50", "80", "30"], "0.2") == [
        (D(100), D(0), D(100), D(20)),
        (D(50), D(100), D(0), D(0)),
        (D(130), D(100), D(30), D(6)),
        (D(160), D(130), D(30), D(6)),
    ]


def test_a_first_loss_is_under_the_starting_mark_of_zero() -> None:
    # 10 %: −40 → nothing; +60 → cumulative 20, above the starting mark 0 by 20 → 2 due (not 6).
    assert shares(["-40", "60"], "0.1") == [(D(-40), D(0), D(0), D(0)), (D(20), D(0), D(20), D(2))]


def test_exact_decimals_are_kept() -> None:
    # 15 % of 0.333333 new profit.
    assert shares(["0.333333"], "0.15") == [(D("0.333333"), D(0), D("0.333333"), D("0.04999995"))]


def test_periods_are_utc_days_iso_weeks_and_calendar_months() -> None:
    wednesday = datetime(2026, 3, 4, 23, 30, tzinfo=UTC)
    assert period_start(wednesday, "day") == datetime(2026, 3, 4, tzinfo=UTC)
    assert period_start(wednesday, "week") == datetime(2026, 3, 2, tzinfo=UTC)  # Monday
    assert period_start(wednesday, "month") == datetime(2026, 3, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="period"):
        period_start(wednesday, "year")
    fills = [(at(3), D(10), D("0.1")), (at(1, 4), D(-4), D(0)), (at(20), D(5), D("0.2"))]
    assert by_period(fills, "month") == [
        (datetime(2026, 3, 1, tzinfo=UTC), D(15), D("0.3")),
        (datetime(2026, 4, 1, tzinfo=UTC), D(-4), D(0)),
    ]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-1000, 1000), max_size=12), st.integers(0, 100))
def test_the_shares_add_up_to_the_rate_times_the_highest_cumulative_profit(pnls: list[int], pct: int) -> None:
    rate = D(pct) / 100
    rows = high_water_mark_shares([(at(1), D(p), D(0)) for p in pnls], rate)
    best = max([D(0), *(r.cumulative for r in rows)])
    assert sum((r.share for r in rows), D(0)) == best * rate  # each gain above the mark is shared once
    assert all(r.new_profit >= 0 and r.share >= 0 for r in rows)


def test_the_report_reads_as_the_docs_worked_example() -> None:
    from bot.service.commission import CommissionReport, FollowShare
    from bot.telegram.render_commission import report

    periods = high_water_mark_shares(
        [(at(1, m), D(p), D("0.5")) for m, p in ((1, 100), (2, -50), (3, 80), (4, 30))], D("0.2")
    )
    view = CommissionReport("month", D(20), (FollowShare("0x" + "f" * 40, "0x" + "5" * 40, None, periods),))
    text = report(view)
    assert (
        "20 % of new profits over the high-water mark, per month" in text and "nothing is transferred" in text
    )
    assert "$32.00 due in all" in text
    assert "2026-03-01: P&L $80.00 (builder fees $0.50), cumulative $130.00, mark $100.00" in text
