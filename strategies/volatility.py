"""Volatility scaling (SPEC §10) as pure rules: σ from hourly closes, and the multiplier `m` a follow's
`vol_target_pct` puts on its ratio.

`σ` = the sample standard deviation of the hourly log returns × √8760 × 100 (annualised percent), kept
to 0.01. `m = clamp(vol_target_pct / σ, vol_mult_min, vol_mult_max)`, rounded *down* to 0.0001 before
the clamp's upper bound is applied, so `m` never exceeds `vol_mult_max`; an unknown `σ` gives
`vol_mult_min` (recorded as `vol_unknown`). Decision: docs/decisions/volatility.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from itertools import pairwise

from strategies.num import CTX, HUNDRED, ONE, ZERO, add, div, mul, sub

HOURS_PER_YEAR = Decimal(8760)
WINDOW_HOURS = 7 * 24  # the last 7 days of hourly candles
MIN_RETURNS = 24  # fewer hourly returns than a day's: σ is unknown (a new listing, a gap in the history)
SIGMA_STEP = Decimal("0.01")
MULT_STEP = Decimal("0.0001")
MULT_MIN = Decimal("0.25")
MULT_MAX = ONE


@dataclass(frozen=True, slots=True)
class VolTarget:
    """A follow's volatility settings (`vol_target_pct` set: scaling is on)."""

    target_pct: Decimal  # annualised %, > 0
    mult_min: Decimal = MULT_MIN
    mult_max: Decimal = MULT_MAX
    skip_above_pct: Decimal | None = None  # σ above it: no new exposure, reason `volatility`


@dataclass(frozen=True, slots=True)
class VolReading:
    """What a decision records: σ (None: unknown) and the multiplier applied to the ratio."""

    sigma: Decimal | None
    mult: Decimal

    @property
    def unknown(self) -> bool:
        return self.sigma is None


def sigma_pct(closes: Sequence[Decimal]) -> Decimal | None:
    """Annualised volatility in percent of hourly `closes` (oldest first); None with fewer than
    MIN_RETURNS returns or a non-positive close."""
    if len(closes) < MIN_RETURNS + 1 or any(c <= 0 for c in closes):
        return None
    returns = [CTX.ln(div(b, a)) for a, b in pairwise(closes)]
    n = Decimal(len(returns))
    mean = div(add(*returns), n)
    variance = div(add(*(mul(sub(r, mean), sub(r, mean)) for r in returns)), sub(n, ONE))
    sigma = mul(CTX.sqrt(mul(variance, HOURS_PER_YEAR)), HUNDRED)
    return sigma.quantize(SIGMA_STEP, rounding=ROUND_HALF_EVEN, context=CTX)


def multiplier(vol: VolTarget, sigma: Decimal | None) -> VolReading:
    """`m` for σ now (σ unknown or 0 … 0 is treated as unknown: no division by it)."""
    if sigma is None or sigma <= ZERO:
        return VolReading(None, vol.mult_min)
    raw = div(vol.target_pct, sigma).quantize(MULT_STEP, rounding=ROUND_DOWN, context=CTX)
    return VolReading(sigma, min(max(raw, vol.mult_min), vol.mult_max))


def too_volatile(vol: VolTarget, sigma: Decimal | None) -> bool:
    """σ above `vol_skip_above_pct`: no new exposure (an unknown σ is not known to be above it)."""
    return vol.skip_above_pct is not None and sigma is not None and sigma > vol.skip_above_pct
