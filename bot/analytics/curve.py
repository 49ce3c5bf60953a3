"""Equity curves and drawdown (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from strategies.num import ZERO, add, div, mul, sub


@dataclass(frozen=True, slots=True)
class Point:
    time_ms: int
    value: Decimal


@dataclass(frozen=True, slots=True)
class Drawdown:
    """The largest fall from a running peak: `max_t (peak_t − value_t)`, `peak_t = max_{u ≤ t} value_u`."""

    amount: Decimal  # USD, ≥ 0
    peak: Decimal  # the peak the fall started from
    trough: Decimal
    peak_ms: int | None
    trough_ms: int | None


def cumulative(deltas: Iterable[tuple[int, Decimal]], start_ms: int) -> list[Point]:
    """A curve starting at 0 at `start_ms`, then one point per distinct time (deltas at one time
    summed; the starting 0 is kept even when a delta falls at `start_ms`)."""
    points = [Point(start_ms, ZERO)]
    total = ZERO
    for time_ms, delta in sorted(deltas, key=lambda d: d[0]):
        total = add(total, delta)
        if len(points) > 1 and points[-1].time_ms == time_ms:
            points[-1] = Point(time_ms, total)
        else:
            points.append(Point(time_ms, total))
    return points


def max_drawdown(points: Sequence[Point]) -> Drawdown:
    if not points:
        return Drawdown(ZERO, ZERO, ZERO, None, None)
    best = Drawdown(ZERO, points[0].value, points[0].value, points[0].time_ms, points[0].time_ms)
    peak = points[0]
    for point in points:
        if point.value > peak.value:
            peak = point
        fall = sub(peak.value, point.value)
        if fall > best.amount:
            best = Drawdown(fall, peak.value, point.value, peak.time_ms, point.time_ms)
    return best


def time_weighted_mean(points: Sequence[Point], end_ms: int) -> Decimal | None:
    """Mean of a step function (each value holds until the next point, the last until `end_ms`);
    the plain mean when the points span no time."""
    if not points:
        return None
    span = end_ms - points[0].time_ms
    if span <= 0:
        return div(add(*(p.value for p in points)), Decimal(len(points)))
    area = ZERO
    for point, after in zip(points, [*points[1:], Point(end_ms, ZERO)], strict=True):
        area = add(area, mul(point.value, Decimal(max(0, after.time_ms - point.time_ms))))
    return div(area, Decimal(span))
