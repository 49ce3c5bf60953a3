"""The backtest's market: the price path seen through the copy delay, and a slippage model.

Price path: the only prices a fill history holds are the source's own fill prices. The price of a
coin at time t is the volume-weighted price of the source's last block of fills in that coin at or
before t. Our copy of a change at t is priced at `t + delay`: the source's next fills inside the
delay window move the price we get (a delay of 0 copies at the source's own price).

Slippage: a taker order walks a book modelled as uniform depth `D` USD per 1 % of price on each
side, starting `half_spread` away from the mid. Filling notional `N` moves the price by
`N / D` percent, so the average price is `mid · (1 ± (half_spread + N / (2 D) %))`. The IOC limit
(`mid · (1 ± slippage_cap)`, rounded as the venue wants) bounds how far the order may walk: past it
the rest is not filled (a partial fill, then the retry policy). `D = None` is an infinitely deep
book (only the half-spread is paid).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from bot.domain import SourceFill
from bot.domain.hyperliquid import TAKER_FEE
from strategies.num import ONE, ZERO, add, div, floor_lot, mag, mul, sub

PERCENT = Decimal("0.01")
HALF_PERCENT = Decimal("0.005")
DEFAULT_HALF_SPREAD = Decimal("0.0001")  # 1 basis point
DEFAULT_DEPTH_USD_PER_PCT = Decimal(250_000)
DEFAULT_TAKER_FEE = TAKER_FEE  # Hyperliquid's base-tier taker fee, 0.045 %
DEFAULT_DELAY_MS = 1000


class PricePath:
    """Per coin, the source's block prices (time-ordered)."""

    def __init__(self, fills: Iterable[SourceFill]) -> None:
        blocks: dict[str, dict[int, tuple[Decimal, Decimal]]] = defaultdict(dict)
        for fill in fills:
            notional, volume = blocks[fill.coin].get(fill.time_ms, (ZERO, ZERO))
            blocks[fill.coin][fill.time_ms] = (add(notional, mul(fill.px, fill.sz)), add(volume, fill.sz))
        self._times: dict[str, list[int]] = {}
        self._prices: dict[str, list[Decimal]] = {}
        for coin, by_time in blocks.items():
            ordered = sorted(by_time.items())
            self._times[coin] = [t for t, _ in ordered]
            self._prices[coin] = [div(n, v) for _, (n, v) in ordered]

    def at(self, coin: str, time_ms: int) -> Decimal | None:
        """The last block price at or before `time_ms`; None before the coin's first fill."""
        times = self._times.get(coin)
        if not times:
            return None
        i = bisect_right(times, time_ms)
        return self._prices[coin][i - 1] if i else None

    def first(self, coin: str) -> Decimal:
        return self._prices[coin][0]

    def marks(self, coins: Iterable[str], time_ms: int) -> dict[str, Decimal]:
        """Each coin's price at `time_ms` (its first price if it has not traded yet)."""
        return {c: self.at(c, time_ms) or self.first(c) for c in coins if c in self._times}


@dataclass(frozen=True, slots=True)
class Execution:
    size: Decimal  # filled, unsigned, whole lots
    avg_px: Decimal | None  # None when nothing filled
    mid: Decimal

    @property
    def notional(self) -> Decimal:
        return ZERO if self.avg_px is None else mul(self.size, self.avg_px)

    @property
    def slippage_cost(self) -> Decimal:
        """What the fill paid against the mid, USD (≥ 0)."""
        return ZERO if self.avg_px is None else mul(self.size, mag(sub(self.avg_px, self.mid)))


@dataclass(frozen=True, slots=True)
class SlippageModel:
    half_spread: Decimal = DEFAULT_HALF_SPREAD
    depth_usd_per_pct: Decimal | None = DEFAULT_DEPTH_USD_PER_PCT
    per_coin_depth: Mapping[str, Decimal] = field(default_factory=dict)

    def depth(self, coin: str) -> Decimal | None:
        return self.per_coin_depth.get(coin, self.depth_usd_per_pct)

    def execute(
        self, coin: str, *, is_buy: bool, size: Decimal, mid: Decimal, limit_px: Decimal, sz_decimals: int
    ) -> Execution:
        room = sub(div(limit_px, mid), ONE) if is_buy else sub(ONE, div(limit_px, mid))
        room = sub(room, self.half_spread)  # how far past the touch the limit lets the order walk
        if room < 0:
            return Execution(ZERO, None, mid)
        depth = self.depth(coin)
        filled = size
        if depth is not None:
            fillable = div(mul(depth, room), PERCENT)  # USD of book between the touch and the limit
            if mul(size, mid) > fillable:
                filled = floor_lot(div(fillable, mid), sz_decimals)
        if filled <= 0:
            return Execution(ZERO, None, mid)
        impact = ZERO if depth is None else div(mul(filled, mid, HALF_PERCENT), depth)
        move = add(self.half_spread, impact)
        avg_px = mul(mid, add(ONE, move)) if is_buy else mul(mid, sub(ONE, move))
        return Execution(filled, avg_px, mid)
