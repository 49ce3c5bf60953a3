"""Candles per coin and interval, kept as prices move, for `/info candleSnapshot` and the `candle`
websocket subscription.

On the venue a candle is made of trades. The localnet's prices also move without trades (the seeded
walk, `setMids`), so a mid move is a price point too: it opens, extends or closes a candle without
adding volume; only trades add to `v` (base volume) and `n` (number of trades).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from itertools import takewhile
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


# Kept series, from which every interval is built: an interval is made of the candles of the longest
# kept one that divides it (so a price point updates three candles, not fourteen: the order path).
BASE_OF: dict[str, str] = {
    "1m": "1m",
    "3m": "1m",
    "5m": "1m",
    "15m": "1m",
    "30m": "1m",
    "1h": "1h",
    "2h": "1h",
    "4h": "1h",
    "8h": "1h",
    "12h": "1h",
    "1d": "1d",
    "3d": "1d",
    "1w": "1d",
    "1M": "1d",
}
BASES: tuple[str, ...] = ("1m", "1h", "1d")
# enough base candles for MAX_CANDLES of the longest interval built from each
KEPT = {"1m": MAX_CANDLES * 30, "1h": MAX_CANDLES * 12, "1d": MAX_CANDLES * 31}


class Candles:
    def __init__(self) -> None:
        self._series: dict[str, tuple[deque[Candle], ...]] = {}  # coin -> one series per BASES

    def add(self, coin: str, px: Decimal, now: int, sz: Decimal | None = None) -> None:
        """A price point: a trade of `sz`, or (sz None) a mid move."""
        series = self._series.get(coin)
        if series is None:
            series = self._series[coin] = tuple(deque(maxlen=KEPT[base]) for base in BASES)
        for base, candles in zip(BASES, series, strict=True):
            last = candles[-1] if candles else None
            if last is None or now > last.close_t:
                start, end = bucket(base, now)
                last = Candle(start, end, px, px, px, px, Decimal(0), 0)
                candles.append(last)
            else:
                if px > last.h:
                    last.h = px
                elif px < last.low:
                    last.low = px
                last.c = px
            if sz is not None:
                last.v += sz
                last.n += 1

    def _built(self, coin: str, interval: str, start: int, end: int) -> list[Candle]:
        """The `interval` candles of `coin` that open within [start, end], oldest first, merged from
        its base series."""
        series = self._series.get(coin)
        if series is None:
            return []
        base = BASE_OF[interval]
        first = bucket(interval, start)[0] if start > 0 else 0
        candles = [c for c in series[BASES.index(base)] if first <= c.t <= end]
        if interval == base:
            return [c for c in candles if c.t >= start]
        built: list[Candle] = []
        for candle in candles:
            opens, closes = bucket(interval, candle.t)
            last = built[-1] if built else None
            if last is None or last.t != opens:
                built.append(replace(candle, t=opens, close_t=closes))  # a copy: the base stays as is
            else:
                last.h, last.low, last.c = max(last.h, candle.h), min(last.low, candle.low), candle.c
                last.v += candle.v
                last.n += candle.n
        return [c for c in built if c.t >= start]

    def latest(self, coin: str, interval: str) -> dict[str, Any] | None:
        series = self._series.get(coin)
        if series is None:
            return None
        base = BASE_OF[interval]
        candles = series[BASES.index(base)]
        if interval == base:
            return candles[-1].wire(coin, interval) if candles else None
        start, _ = bucket(interval, candles[-1].t)
        tail = list(takewhile(lambda c: c.t >= start, reversed(candles)))[::-1]  # the last one's base candles
        merged = self._merge(tail, interval)
        return merged.wire(coin, interval)

    @staticmethod
    def _merge(candles: list[Candle], interval: str) -> Candle:
        start, end = bucket(interval, candles[0].t)
        return Candle(
            start,
            end,
            candles[0].o,
            max(c.h for c in candles),
            min(c.low for c in candles),
            candles[-1].c,
            sum((c.v for c in candles), Decimal(0)),
            sum(c.n for c in candles),
        )

    def between(self, coin: str, interval: str, start: int, end: int) -> list[dict[str, Any]]:
        """The candles that open within [start, end], oldest first (at most the latest MAX_CANDLES)."""
        built = self._built(coin, interval, start, end)
        return [candle.wire(coin, interval) for candle in built[-MAX_CANDLES:]]
