"""Portfolio-allocation mode (SPEC §9): targets from the source's *current* weights, traded in bands.

`τ = s · ρ(now)` with `ρ(now) = (E_F / E_S) · k / 100`, never locked. The engine keeps the §2 state
machine (statuses, Copy Current, filters, guards) and asks this module three things:
- `AllocationSizing`: the sizing (opens and increases at today's ratio) and the follow's bands;
- `retarget`: a tracking pair's `τ` at today's ratio (decreases, equity moves, ticks);
- `gate`: whether a planned order goes now. Closes (`q(τ) = 0`) and flips (the sign of `q(τ)` opposes
  `p`) always go; any other order only when its drift `|q(τ) − p| · mid` reaches the band at a
  rebalance tick ("at least"), or exceeds the trigger between ticks (SPEC §9's words).
Pure: no clock (the runner's scheduler decides when a tick is), exact decimals only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from strategies.mirror import MirrorSizing
from strategies.model import Market, OrderPlan, PairState, Reason, Status
from strategies.num import HUNDRED, div, mag, mul, q_lot, sign, sub
from strategies.sizing import Sized, SizingInputs

DEFAULT_BAND_PCT = Decimal(1)  # % of the follower's equity: inside it a tick holds
DEFAULT_TRIGGER_PCT = Decimal(5)  # % of the follower's equity: beyond it a pair is rebalanced at once
DEFAULT_EVERY_S = 900  # seconds between rebalance ticks (15 min)

_MIRROR = MirrorSizing()


@dataclass(frozen=True, slots=True)
class AllocationSizing:
    band_pct: Decimal = DEFAULT_BAND_PCT
    trigger_pct: Decimal = DEFAULT_TRIGGER_PCT
    every_s: int = DEFAULT_EVERY_S  # read by the runner's scheduler, never by the engine

    name = "allocation"

    def ratio(self, inputs: SizingInputs) -> Decimal:
        """`ρ(now)`, the mirror's ratio formula (raises SizingUnavailable without a source equity)."""
        return _MIRROR.ratio(inputs)

    def open(self, size: Decimal, inputs: SizingInputs) -> Sized:
        ratio = self.ratio(inputs)
        return Sized(ratio, mul(ratio, size))

    def increase(
        self, ratio: Decimal, target: Decimal, old: Decimal, new: Decimal, inputs: SizingInputs
    ) -> Sized:
        now = self.ratio(inputs)  # the current ratio, never the one of the open
        return Sized(now, mul(now, new))

    def band(self, equity: Decimal, min_notional: Decimal) -> Decimal:
        """`max(min_notional, band_pct · E_F / 100)`: a tick trades a pair whose drift reaches it."""
        return max(min_notional, div(mul(self.band_pct, equity), HUNDRED))

    def trigger(self, equity: Decimal, min_notional: Decimal) -> Decimal:
        """Between ticks a pair is traded once its drift exceeds this (never below the band, so nothing
        is ever traded inside the band but a close or a flip)."""
        return max(self.band(equity, min_notional), div(mul(self.trigger_pct, equity), HUNDRED))


def retarget(pair: PairState, sizing: AllocationSizing, inputs: SizingInputs) -> PairState:
    """A tracking pair's target at today's ratio (`τ := ρ(now) · s`); any other pair as it is.
    Raises SizingUnavailable when `ρ(now)` cannot be computed."""
    if pair.status is not Status.TRACKING:
        return pair
    ratio = sizing.ratio(inputs)
    return replace(pair, ratio=ratio, target=mul(ratio, pair.source_size))


def drift(target: Decimal, position: Decimal, market: Market, mid: Decimal) -> Decimal:
    """`|q(τ) − p| · mid`, USD."""
    return mul(mag(sub(q_lot(target, market.sz_decimals), position)), mid)


def closes_or_flips(target: Decimal, position: Decimal, market: Market) -> bool:
    """`q(τ) = 0` with a position, or `q(τ)` on the other side of `p`: sent at once whatever the band."""
    q = q_lot(target, market.sz_decimals)
    return position != 0 and (q == 0 or sign(q) == -sign(position))


def gate(
    order: OrderPlan,
    *,
    target: Decimal,
    position: Decimal,
    market: Market,
    mid: Decimal,
    threshold: Decimal,
    waiting: Reason,
    strictly: bool = False,
) -> tuple[OrderPlan | None, Reason | None]:
    """The planned `order` if it may go now (its drift at least `threshold`, or above it `strictly`),
    else (None, `waiting`)."""
    if closes_or_flips(target, position, market):
        return order, None
    moved = drift(target, position, market, mid)
    if moved > threshold or (moved == threshold and not strictly):
        return order, None
    return None, waiting
