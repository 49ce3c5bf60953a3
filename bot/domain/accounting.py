"""Position accounting, written once: what a fill does to a position (size, average entry, realised PnL,
flips) and an account's cash, fees and equity. Pure; used by the paper venue (adapters/paper) and by
analytics' backtest (bot/analytics/backtest.py).

The rounding rule:
- sums and products are exact (strategies.num's 60-digit context: venue numbers never need more);
- the one inexact step is the average entry of a position that was added to: a quotient rounded
  half-even at 60 significant digits;
- a `Book` with a `settle_step` (the paper venue: USDC's 0.000001, as the venue settles `closedPnl`)
  rounds each close's realised PnL, and each position's unrealised PnL, half-even to that step; without
  one (analytics) they stay exact;
- fees are taken as given: the caller rounds them as its venue charges them.

The localnet (adapters/localnet/accounts.py) keeps its own accounting on purpose: it is an independent
double of the venue, against which this one is compared, not a second copy of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from strategies.num import CTX, ZERO, add, div, mag, mul, sign, sub


@dataclass(frozen=True, slots=True)
class Holding:
    """An open position: `size` signed (+ long, − short, never 0), `entry_px` its average entry."""

    size: Decimal
    entry_px: Decimal


@dataclass(frozen=True, slots=True)
class FillEffect:
    """What one fill did: the position after it (None: flat), the size it closed, the PnL it realised
    (before fees: the venue's `closedPnl`)."""

    holding: Holding | None
    closed: Decimal
    realised_pnl: Decimal


def settle(amount: Decimal, step: Decimal | None) -> Decimal:
    """`amount` rounded half-even to `step` (None: exact)."""
    return amount if step is None else amount.quantize(step, rounding=ROUND_HALF_EVEN, context=CTX)


def apply_fill(
    holding: Holding | None, signed_size: Decimal, px: Decimal, *, step: Decimal | None = None
) -> FillEffect:
    """Move `holding` by a fill of `signed_size` (+ buy, − sell) at `px`. Adding averages the entry;
    reducing realises `closed × (px − entry)` on the closed part (sign of the position), rounded to
    `step`; a flip closes the whole position and opens the rest at `px`. A fill of size 0 does nothing."""
    if signed_size == 0:
        return FillEffect(holding, ZERO, ZERO)
    old = ZERO if holding is None else holding.size
    new = add(old, signed_size)
    if holding is None or sign(old) == sign(signed_size):  # open or add: average the entry
        cost = add(mul(mag(old), ZERO if holding is None else holding.entry_px), mul(mag(signed_size), px))
        return FillEffect(Holding(new, div(cost, mag(new))), ZERO, ZERO)
    closed = min(mag(old), mag(signed_size))
    pnl = settle(mul(closed, sub(px, holding.entry_px), Decimal(sign(old))), step)
    if new == 0:
        after = None
    elif sign(new) != sign(old):  # flipped: the rest opens at this price
        after = Holding(new, px)
    else:
        after = Holding(new, holding.entry_px)
    return FillEffect(after, closed, pnl)


@dataclass(slots=True)
class Book:
    """One account: its open positions, realised PnL (before fees), fees paid and traded volume.
    Cash is start equity + realised − fees; equity adds the unrealised PnL at the marks."""

    start_equity: Decimal
    settle_step: Decimal | None = None
    holdings: dict[str, Holding] = field(default_factory=dict)  # open positions only
    realised: Decimal = ZERO
    fees: Decimal = ZERO
    volume: Decimal = ZERO  # traded notional

    def size(self, coin: str) -> Decimal:
        holding = self.holdings.get(coin)
        return ZERO if holding is None else holding.size

    def trade(self, coin: str, signed_size: Decimal, px: Decimal, fee: Decimal) -> Decimal:
        """Apply one fill paying `fee`; the PnL it realised (the venue's `closedPnl` for it)."""
        effect = apply_fill(self.holdings.get(coin), signed_size, px, step=self.settle_step)
        if effect.holding is None:
            self.holdings.pop(coin, None)
        else:
            self.holdings[coin] = effect.holding
        self.realised = add(self.realised, effect.realised_pnl)
        self.fees = add(self.fees, fee)
        self.volume = add(self.volume, mul(mag(signed_size), px))
        return effect.realised_pnl

    @property
    def cash(self) -> Decimal:
        return add(self.start_equity, sub(self.realised, self.fees))

    def unrealised_of(self, coin: str, mark: Decimal) -> Decimal:
        """The open position's PnL at `mark` (0 when flat), rounded to the settle step."""
        holding = self.holdings.get(coin)
        if holding is None:
            return ZERO
        return settle(mul(holding.size, sub(mark, holding.entry_px)), self.settle_step)

    def unrealised(self, marks: Mapping[str, Decimal]) -> Decimal:
        """Every open position at its mark (a coin without one: at its entry, i.e. 0)."""
        return add(*(self.unrealised_of(c, marks.get(c, h.entry_px)) for c, h in self.holdings.items()))

    def pnl(self, marks: Mapping[str, Decimal]) -> Decimal:
        """Realised − fees + unrealised at `marks`."""
        return add(sub(self.realised, self.fees), self.unrealised(marks))

    def equity(self, marks: Mapping[str, Decimal]) -> Decimal:
        return add(self.start_equity, self.pnl(marks))
