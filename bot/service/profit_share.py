"""The leader's profit share over a high-water mark (SPEC §14), as a report: nothing is transferred.

Per follow, its copied fills' net P&L (closed P&L minus every fee, builder fees included) is summed per
UTC period (day, ISO week from Monday, calendar month). The high-water mark starts at 0 (the follow's
start) and is the highest cumulative net P&L at the end of any earlier period; a period's new profit is
how far its closing cumulative P&L rises above that mark (never below 0), and the share due is that new
profit times the rate. So a loss must be earned back before a share is due again. Realized P&L only:
an open position's unrealized P&L counts once it is closed. docs/commission.md has worked examples.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

PERIODS = ("day", "week", "month")
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class SharePeriod:
    start: datetime  # the period's first instant, UTC
    pnl: Decimal  # the period's net P&L (closed P&L − fees)
    builder_fees: Decimal  # paid to builders in the period (part of the fees; already paid on-venue)
    cumulative: Decimal  # net P&L from the follow's first fill to the period's end
    high_water_mark: Decimal  # before this period
    new_profit: Decimal  # max(0, cumulative − high_water_mark)
    share: Decimal  # new_profit × rate: what the report says is due


def period_start(time: datetime, period: str) -> datetime:
    """The start (UTC midnight) of the day, ISO week (Monday) or calendar month holding `time`."""
    day = time.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    raise ValueError(f"period: {period!r} (accepted: {', '.join(PERIODS)})")


def by_period(
    fills: Iterable[tuple[datetime, Decimal, Decimal]], period: str
) -> list[tuple[datetime, Decimal, Decimal]]:
    """(time, net P&L, builder fee) of each fill → (period start, net P&L, builder fees) per period with
    fills, oldest first."""
    sums: dict[datetime, tuple[Decimal, Decimal]] = {}
    for time, pnl, builder in fills:
        start = period_start(time, period)
        have = sums.get(start, (_ZERO, _ZERO))
        sums[start] = (have[0] + pnl, have[1] + builder)
    return [(start, pnl, builder) for start, (pnl, builder) in sorted(sums.items())]


def high_water_mark_shares(
    periods: Sequence[tuple[datetime, Decimal, Decimal]], rate: Decimal
) -> tuple[SharePeriod, ...]:
    """Each period's share of new profits over the high-water mark (`rate` a fraction, 0.2 = 20 %)."""
    rows: list[SharePeriod] = []
    cumulative = mark = _ZERO
    for start, pnl, builder in periods:
        cumulative += pnl
        new_profit = max(_ZERO, cumulative - mark)
        rows.append(SharePeriod(start, pnl, builder, cumulative, mark, new_profit, new_profit * rate))
        mark = max(mark, cumulative)
    return tuple(rows)
