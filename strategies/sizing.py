"""The strategy protocol: how big the follower's target is at an open and at an increase.

All strategies share one state machine (`strategies.mirror`) and one orders-from-targets step
(`strategies.orders`). Decreases cut the same percentage as the source and closes go to zero for every
strategy, so only the two sizing moments differ and only they are pluggable.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from strategies.model import Reason


@dataclass(frozen=True, slots=True)
class SizingInputs:
    """The moment's numbers a sizing may use (`now` in SPEC §2)."""

    follower_equity: Decimal
    source_equity: Decimal | None
    scaling: Decimal  # k, percent
    mid: Decimal | None


class SizingUnavailable(Exception):
    """The sizing cannot be computed now (e.g. no source equity yet); the engine skips with `reason`."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Sized:
    ratio: Decimal  # the ratio to lock (ρ₀) or, for notional sizing, the effective τ / s
    target: Decimal


class Sizing(Protocol):
    @property
    def name(self) -> str: ...

    def open(self, size: Decimal, inputs: SizingInputs) -> Sized:
        """An open (or the new side of a flip, or a Copy Current join) of signed source `size`."""
        ...

    def increase(
        self, ratio: Decimal, target: Decimal, old: Decimal, new: Decimal, inputs: SizingInputs
    ) -> Sized:
        """The source grew from `old` to `new` (same sign, |new| > |old|)."""
        ...
