"""Candles per coin and interval, kept as prices move, for `/info candleSnapshot` and the `candle`
websocket subscription.

On the venue a candle is made of trades. The localnet's prices also move without trades (the seeded
walk, `setMids`), so a mid move is a price point too: it opens, extends or closes a candle without
adding volume; only trades add to `v` (base volume) and `n` (number of trades).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from adapters.localnet.rules import fmt

MINUTE = 60_000
# The venue's intervals. Fixed-length ones start on multiples of their length since the epoch (so "1w"
# starts on a Thursday 00:00 UTC, which may differ from the venue's week); "1M" is the calendar month.
INTERVAL_MS: dict[str, int] = {
    "1m": MINUTE,
    "3m": 3 * MINUTE,
    "5m": 5 * MINUTE,
    "15m": 15 * MINUTE,
    "30m": 30 * MINUTE,
    "1h": 60 * MINUTE,
    "2h": 120 * MINUTE,
    "4h": 240 * MINUTE,
    "8h": 480 * MINUTE,
    "12h": 720 * MINUTE,
    "1d": 1440 * MINUTE,
    "3d": 3 * 1440 * MINUTE,
    "1w": 7 * 1440 * MINUTE,
}
INTERVALS: tuple[str, ...] = (*INTERVAL_MS, "1M")
MAX_CANDLES = 5000  # kept per (coin, interval); the venue serves at most the latest 5000 too


def bucket(interval: str, now: int) -> tuple[int, int]:
    """(open time, close time) of the `interval` candle holding `now`; the close is the last millisecond."""
    length = INTERVAL_MS.get(interval)
    if length is not None:
        start = now - now % length
        return start, start + length - 1
    day = datetime.fromtimestamp(now / 1000, UTC)
    month_start = datetime(day.year, day.month, 1, tzinfo=UTC)
    next_month = datetime(day.year + day.month // 12, day.month % 12 + 1, 1, tzinfo=UTC)
    return int(month_start.timestamp() * 1000), int(next_month.timestamp() * 1000) - 1


@dataclass(slots=True)
class Candle:
    t: int
    close_t: int
    o: Decimal
    h: Decimal
    low: Decimal
    c: Decimal
    v: Decimal
    n: int

    def wire(self, coin: str, interval: str) -> dict[str, Any]:
        return {
            "t": self.t,
            "T": self.close_t,
            "s": coin,
            "i": interval,
            "o": fmt(self.o),
            "c": fmt(self.c),
            "h": fmt(self.h),
            "l": fmt(self.low),
            "v": fmt(self.v),
            "n": self.n,
        }


class Candles:
    def __init__(self) -> None:
        self._series: dict[tuple[str, str], deque[Candle]] = {}

    def add(self, coin: str, px: Decimal, now: int, sz: Decimal | None = None) -> None:
        """A price point: a trade of `sz`, or (sz None) a mid move."""
        for interval in INTERVALS:
            series = self._series.get((coin, interval))
            if series is None:
                series = self._series[(coin, interval)] = deque(maxlen=MAX_CANDLES)
            last = series[-1] if series else None
            if last is None or now > last.close_t:
                start, end = bucket(interval, now)
                last = Candle(start, end, px, px, px, px, Decimal(0), 0)
                series.append(last)
            else:
                last.h = max(last.h, px)
                last.low = min(last.low, px)
                last.c = px
            if sz is not None:
                last.v += sz
                last.n += 1

    def latest(self, coin: str, interval: str) -> dict[str, Any] | None:
        series = self._series.get((coin, interval))
        return series[-1].wire(coin, interval) if series else None

    def between(self, coin: str, interval: str, start: int, end: int) -> list[dict[str, Any]]:
        """The candles that open within [start, end], oldest first."""
        series = self._series.get((coin, interval), ())
        return [candle.wire(coin, interval) for candle in series if start <= candle.t <= end]
