"""`fixed_notional` (SPEC §3): each source open or increase is copied as a fixed USD amount.

The amount is `notional × k / 100` at today's mid, on the source's side; decreases cut the same
percentage as the source (shared state machine). The reported ratio is the effective `τ / s`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from strategies.model import Reason
from strategies.num import HUNDRED, add, div, mul, sign
from strategies.sizing import Sized, SizingInputs, SizingUnavailable


@dataclass(frozen=True, slots=True)
class FixedNotionalSizing:
    notional: Decimal  # USD per open / increase

    name = "fixed_notional"

    def _amount(self, direction: Decimal, inputs: SizingInputs) -> Decimal:
        if inputs.mid is None or inputs.mid <= 0:
            raise SizingUnavailable(Reason.NO_MID)
        return div(mul(self.notional, inputs.scaling, Decimal(sign(direction))), mul(inputs.mid, HUNDRED))

    def open(self, size: Decimal, inputs: SizingInputs) -> Sized:
        target = self._amount(size, inputs)
        return Sized(div(target, size), target)

    def increase(
        self, ratio: Decimal, target: Decimal, old: Decimal, new: Decimal, inputs: SizingInputs
    ) -> Sized:
        grown = add(target, self._amount(new, inputs))
        return Sized(div(grown, new), grown)
