"""A follower account's own record (bot/analytics/account.py): UTC periods that tile time, and the
ledger's fills read as the analytics read fills."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.analytics.account import Period, period_pnl, period_start, period_starts, source_fills
from bot.ledger.models import Fill

MOMENTS = st.datetimes(
    min_value=datetime(2001, 1, 1), max_value=datetime(2099, 12, 1), timezones=st.just(UTC)
)


@settings(max_examples=200, deadline=None)
@given(now=MOMENTS, period=st.sampled_from(list(Period)), rows=st.integers(1, 30))
def test_periods_tile_time_back_from_now(now: datetime, period: Period, rows: int) -> None:
    starts = period_starts(now, period, rows)
    assert len(starts) == rows and starts[0] <= now
    for later, earlier in itertools.pairwise(starts):
        assert earlier < later
        assert period_start(later - timedelta(microseconds=1), period) == earlier  # no gap, no overlap
    for start in starts:
        assert period_start(start, period) == start and start.tzinfo is not None
        assert (start.hour, start.minute, start.second) == (0, 0, 0)
        if period is Period.WEEK:
            assert start.weekday() == 0  # Monday
        if period is Period.MONTH:
            assert start.day == 1


def _fill(n: int, side: str, size: str, at: datetime, start: str | None, pnl: str = "0") -> Fill:
    return Fill(
        id=n,
        venue="hyperliquid",
        account="0x" + "12" * 20,
        trade_id=str(n),
        coin="ETH",
        side=side,
        price=Decimal(2000),
        size=Decimal(size),
        fee=Decimal("0.5"),
        closed_pnl=Decimal(pnl),
        start_position=None if start is None else Decimal(start),
        time=at,
        oid=n,
    )


def test_a_fill_without_a_start_position_starts_where_the_fills_before_it_left_the_coin() -> None:
    t = datetime(2026, 12, 7, 1, tzinfo=UTC)
    fills = [
        _fill(2, "sell", "0.5", t + timedelta(minutes=1), None, pnl="5"),  # out of order on purpose
        _fill(1, "buy", "1", t, "0"),
        _fill(3, "sell", "0.5", t + timedelta(minutes=2), None, pnl="5"),
    ]
    assert [f.start_position for f in source_fills(fills)] == [0, 1, Decimal("0.5")]


def test_period_pnl_sums_each_fill_into_its_utc_day_and_leaves_out_older_ones() -> None:
    now = datetime(2026, 3, 1, 0, 30, tzinfo=UTC)  # just after midnight, on a month's first day
    fills = [
        _fill(1, "buy", "1", now - timedelta(minutes=31), "0"),  # 23:59 the day before
        _fill(2, "sell", "1", now - timedelta(minutes=1), "1", pnl="10"),  # today
        _fill(3, "sell", "1", now - timedelta(days=5), "1", pnl="99"),  # before the window
    ]
    rows = period_pnl(fills, Period.DAY, 2, now)
    assert [(r.start.date().isoformat(), r.realised, r.fees, r.fills) for r in rows] == [
        ("2026-03-01", Decimal(10), Decimal("0.5"), 1),
        ("2026-02-28", Decimal(0), Decimal("0.5"), 1),
    ]
    assert rows[0].net == Decimal("9.5")
