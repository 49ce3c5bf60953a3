"""A simulated account: positions at average cost, realised PnL and fees, marked to market (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from strategies.num import ZERO, add, div, mag, mul, sign, sub


@dataclass(slots=True)
class Holding:
    size: Decimal = ZERO
    entry_px: Decimal = ZERO


@dataclass(slots=True)
class Account:
    start_equity: Decimal
    holdings: dict[str, Holding] = field(default_factory=dict)
    realised: Decimal = ZERO  # closed PnL, before fees (the venue's closedPnl)
    fees: Decimal = ZERO
    volume: Decimal = ZERO

    def size(self, coin: str) -> Decimal:
        holding = self.holdings.get(coin)
        return ZERO if holding is None else holding.size

    def trade(self, coin: str, signed_size: Decimal, px: Decimal, fee: Decimal) -> Decimal:
        """Apply one fill; returns the PnL it closed (the venue's `closedPnl` for it)."""
        h = self.holdings.setdefault(coin, Holding())
        self.fees = add(self.fees, fee)
        self.volume = add(self.volume, mul(mag(signed_size), px))
        closed_pnl = ZERO
        if h.size == 0 or sign(h.size) == sign(signed_size):
            total = add(h.size, signed_size)
            h.entry_px = div(add(mul(mag(h.size), h.entry_px), mul(mag(signed_size), px)), mag(total))
            h.size = total
            return closed_pnl
        closing = min(mag(signed_size), mag(h.size))
        closed_pnl = mul(closing, sub(px, h.entry_px), Decimal(sign(h.size)))
        self.realised = add(self.realised, closed_pnl)
        after = add(h.size, signed_size)
        if after == 0:
            h.size, h.entry_px = ZERO, ZERO
        elif sign(after) != sign(h.size):  # flipped: the rest opens at this price
            h.size, h.entry_px = after, px
        else:
            h.size = after
        return closed_pnl

    def unrealised(self, marks: Mapping[str, Decimal]) -> Decimal:
        return add(
            *(mul(h.size, sub(marks.get(c, h.entry_px), h.entry_px)) for c, h in self.holdings.items())
        )

    def pnl(self, marks: Mapping[str, Decimal]) -> Decimal:
        """Realised − fees + unrealised at `marks`."""
        return add(sub(self.realised, self.fees), self.unrealised(marks))

    def equity(self, marks: Mapping[str, Decimal]) -> Decimal:
        return add(self.start_equity, self.pnl(marks))
