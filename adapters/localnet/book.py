"""One market's order book: seeded synthetic liquidity around the mid plus users' resting orders.

The synthetic side is a ladder of `LEVELS` price levels each way, with finite size that grows with the
distance from the mid. Liquidity taken from it stays taken until the mid moves and the ladder is rebuilt
around the new mid, so a large IOC walks the book and partially fills.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from adapters.localnet.instruments import InstrumentSpec
from adapters.localnet.orders import Order
from adapters.localnet.rules import fmt, price_tick, round_price, round_size_down

LEVELS = 20  # per side, synthetic; also the depth `l2Book` shows, as the venue does


@dataclass(slots=True)
class Level:
    px: Decimal
    sz: Decimal


@dataclass(frozen=True, slots=True)
class Match:
    """A piece of a taker's fill: `maker` is the resting user order hit, None for synthetic liquidity."""

    px: Decimal
    sz: Decimal
    maker: Order | None


class CoinBook:
    def __init__(self, spec: InstrumentSpec) -> None:
        self.spec = spec
        self.bids: list[Level] = []  # synthetic, best first
        self.asks: list[Level] = []
        self.resting_bids: list[Order] = []  # users' resting limit orders, best price first, then oldest
        self.resting_asks: list[Order] = []

    # --- synthetic liquidity ---------------------------------------------------------------------------
    def recentre(self, mid: Decimal, rng: random.Random) -> None:
        self.bids = self._ladder(mid, rng, bid=True)
        self.asks = self._ladder(mid, rng, bid=False)

    def _ladder(self, mid: Decimal, rng: random.Random, *, bid: bool) -> list[Level]:
        spec = self.spec
        levels: list[Level] = []
        for i in range(LEVELS):
            offset = mid * spec.level_bps * (2 * i + 1) / 20_000  # the first level half a gap from the mid
            px = round_price(mid - offset if bid else mid + offset, spec.sz_decimals, up=not bid)
            if levels and (px >= levels[-1].px if bid else px <= levels[-1].px):
                tick = price_tick(levels[-1].px, spec.sz_decimals)
                px = levels[-1].px - tick if bid else levels[-1].px + tick
            if px <= 0:
                break
            scale = rng.randint(50, 150)  # ±50 % noise around a size that grows with depth
            notional = spec.level_usd * (4 + i) * scale / 400
            sz = max(round_size_down(notional / px, spec.sz_decimals), spec.lot)
            levels.append(Level(px, sz))
        return levels

    # --- users' resting orders -------------------------------------------------------------------------
    def add(self, order: Order) -> None:
        side = self.resting_bids if order.is_buy else self.resting_asks
        side.append(order)
        side.sort(key=lambda o: (-o.limit_px if o.is_buy else o.limit_px, o.oid))

    def remove(self, order: Order) -> None:
        side = self.resting_bids if order.is_buy else self.resting_asks
        if order in side:
            side.remove(order)

    def resting(self) -> list[Order]:
        return [*self.resting_bids, *self.resting_asks]

    # --- prices ----------------------------------------------------------------------------------------
    def best_bid(self) -> Decimal | None:
        prices = [lv.px for lv in self.bids[:1]] + [o.limit_px for o in self.resting_bids[:1]]
        return max(prices) if prices else None

    def best_ask(self) -> Decimal | None:
        prices = [lv.px for lv in self.asks[:1]] + [o.limit_px for o in self.resting_asks[:1]]
        return min(prices) if prices else None

    def crosses(self, is_buy: bool, limit_px: Decimal) -> bool:
        best = self.best_ask() if is_buy else self.best_bid()
        return best is not None and (limit_px >= best if is_buy else limit_px <= best)

    # --- matching --------------------------------------------------------------------------------------
    def walk(
        self,
        is_buy: bool,
        limit_px: Decimal,
        max_sz: Decimal,
        taker: str,
        maker_size: Callable[[Order], Decimal] | None = None,
    ) -> list[Match]:
        """The fills a taker gets, best price first (users' orders before synthetic size at a price),
        up to `max_sz` and never beyond `limit_px`. Pure: `take` applies them. A taker never trades
        against its own resting orders (they are skipped); `maker_size` may cap what a resting order
        offers (a reduce-only order offers at most its owner's position)."""
        levels = self.asks if is_buy else self.bids
        makers = self.resting_asks if is_buy else self.resting_bids
        size_of = maker_size or (lambda order: order.sz)
        sources: list[tuple[Decimal, int, int, Decimal, Order | None]] = [
            (lv.px, 1, i, lv.sz, None) for i, lv in enumerate(levels)
        ]
        sources += [(o.limit_px, 0, o.oid, size_of(o), o) for o in makers if o.user != taker]
        sources.sort(key=lambda s: (s[0] if is_buy else -s[0], s[1], s[2]))
        matches: list[Match] = []
        remaining = max_sz
        for px, _, _, available, maker in sources:
            if remaining <= 0 or (px > limit_px if is_buy else px < limit_px):
                break
            size = min(remaining, available)
            if size <= 0:
                continue
            matches.append(Match(px, size, maker))
            remaining -= size
        return matches

    def take(self, is_buy: bool, match: Match) -> None:
        """Remove a synthetic match's size from its level (users' orders are reduced by the exchange)."""
        if match.maker is not None:
            return
        levels = self.asks if is_buy else self.bids
        for level in levels:
            if level.px == match.px:
                level.sz -= match.sz
                if level.sz <= 0:
                    levels.remove(level)
                return

    # --- the venue's view ------------------------------------------------------------------------------
    def l2_levels(self) -> list[list[dict[str, Any]]]:
        return [
            self._aggregate(self.bids, self.resting_bids, bid=True),
            self._aggregate(self.asks, self.resting_asks, bid=False),
        ]

    @staticmethod
    def _aggregate(levels: list[Level], orders: list[Order], *, bid: bool) -> list[dict[str, Any]]:
        book: dict[Decimal, tuple[Decimal, int]] = {lv.px: (lv.sz, 1) for lv in levels}
        for order in orders:
            sz, n = book.get(order.limit_px, (Decimal(0), 0))
            book[order.limit_px] = (sz + order.sz, n + 1)
        prices = sorted(book, reverse=bid)[:LEVELS]
        return [{"px": fmt(px), "sz": fmt(book[px][0]), "n": book[px][1]} for px in prices]
