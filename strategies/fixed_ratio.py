"""`fixed_ratio` (SPEC §3): follower size = source size × r, no equities.

The per-token scaling `k` still applies (`r × k / 100`, so the default 100 % leaves `r` as is), and the
ratio is locked at open like the mirror's, so a change of `r` or `k` never resizes an open position.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from strategies.num import HUNDRED, add, div, mul, sub
from strategies.sizing import Sized, SizingInputs


@dataclass(frozen=True, slots=True)
class FixedRatioSizing:
    ratio: Decimal  # r

    name = "fixed_ratio"

    def open(self, size: Decimal, inputs: SizingInputs) -> Sized:
        ratio = div(mul(self.ratio, inputs.scaling), HUNDRED)
        return Sized(ratio, mul(ratio, size))

    def increase(
        self, ratio: Decimal, target: Decimal, old: Decimal, new: Decimal, inputs: SizingInputs
    ) -> Sized:
        return Sized(ratio, add(target, mul(ratio, sub(new, old))))
