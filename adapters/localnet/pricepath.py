"""The seeded random walk of the mids: each step moves every mid by a whole number of basis points drawn
uniformly in `[-step_bps, +step_bps]`, then rounds it to a valid price. Same seed, same path."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from decimal import Decimal

from adapters.localnet.instruments import InstrumentSpec
from adapters.localnet.rules import round_price


class PricePath:
    def __init__(self, seed: int | str) -> None:
        self._rng = random.Random(f"{seed}:prices")

    def step(self, mids: Mapping[str, Decimal], specs: Sequence[InstrumentSpec]) -> dict[str, Decimal]:
        moved: dict[str, Decimal] = {}
        for spec in specs:
            bps = self._rng.randint(-spec.step_bps, spec.step_bps)
            px = round_price(mids[spec.coin] * (10_000 + bps) / 10_000, spec.sz_decimals)
            moved[spec.coin] = px if px > 0 else mids[spec.coin]
        return moved
