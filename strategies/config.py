"""A follow's settings as the engine sees them: sizing, scaling, Copy Current, filters, guards.

Fractions are fractions (`0.01` = 1 %); only the scaling `k` is a percentage, as in SPEC §1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from strategies.mirror import MirrorSizing
from strategies.model import Reason
from strategies.num import HUNDRED, ONE, div, mul, neg
from strategies.sizing import Sizing
from strategies.volatility import VolTarget

DEFAULT_SCALING = HUNDRED  # the default of defaults (SPEC §1)
ALL_TOKENS = "*"


class SideFilter(StrEnum):
    BOTH = "both"
    LONG_ONLY = "long_only"
    SHORT_ONLY = "short_only"


@dataclass(frozen=True, slots=True)
class Filters:
    include: frozenset[str] | None = None  # None = every token
    exclude: frozenset[str] = frozenset()
    side: SideFilter = SideFilter.BOTH  # applies to the follower's side (after reverse)
    reverse: bool = False
    min_source_leverage: Decimal | None = None  # skip positions the source runs below this leverage
    max_source_leverage: Decimal | None = None  # above it, copy as if the source used this leverage

    def covers(self, coin: str) -> bool:
        return coin not in self.exclude and (self.include is None or coin in self.include)

    def effective(self, size: Decimal) -> Decimal:
        """The size to mirror: the source's, or its opposite under reverse copy."""
        return neg(size) if self.reverse else size

    def blocks_open(self, follower_size: Decimal, source_leverage: Decimal | None) -> Reason | None:
        """Whether an open of the follower's side `follower_size` (signed) is filtered out."""
        if self.side is SideFilter.LONG_ONLY and follower_size < 0:
            return Reason.LONG_ONLY
        if self.side is SideFilter.SHORT_ONLY and follower_size > 0:
            return Reason.SHORT_ONLY
        if (
            self.min_source_leverage is not None
            and source_leverage is not None
            and source_leverage < self.min_source_leverage
        ):
            return Reason.SOURCE_LEVERAGE_BELOW_MIN
        return None

    def leverage_factor(self, source_leverage: Decimal | None) -> Decimal:
        """`max / L` when the source's leverage `L` is above the maximum to copy, else 1."""
        cap = self.max_source_leverage
        if cap is None or source_leverage is None or source_leverage <= cap:
            return ONE
        return div(cap, source_leverage)


@dataclass(frozen=True, slots=True)
class Guards:
    """Pre-trade guards that need no account history (SPEC §4). None = off."""

    max_notional_token: Decimal | None = None  # USD
    max_notional_total: Decimal | None = None  # USD, over every token of the follower
    max_leverage: Decimal | None = None  # total notional / follower equity
    max_price_deviation: Decimal | None = None  # skip growth when the mid is this much worse than the fill


def _frozen(mapping: Mapping[str, Decimal]) -> Mapping[str, Decimal]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class FollowConfig:
    sizing: Sizing = field(default_factory=MirrorSizing)
    scaling: Mapping[str, Decimal] = field(default_factory=lambda: _frozen({}))  # per token, "*" = default
    copy_current: bool = False
    copy_current_max_deviation: Decimal | None = None  # fraction of the source's entry price
    copy_increase_as_open: bool = False
    filters: Filters = Filters()
    guards: Guards = Guards()
    slippage_cap: Decimal = Decimal("0.01")
    vol: VolTarget | None = None  # volatility scaling (SPEC §10): off when None

    def __post_init__(self) -> None:
        object.__setattr__(self, "scaling", _frozen(self.scaling))

    def k(self, coin: str) -> Decimal:
        """The scaling for `coin`: its own, else the follow's `*` default, else 100."""
        return self.scaling.get(coin, self.scaling.get(ALL_TOKENS, DEFAULT_SCALING))

    def with_scaling(self, token: str, k: Decimal) -> FollowConfig:
        return replace(self, scaling={**self.scaling, token: k})

    def effective_k(self, coin: str, source_leverage: Decimal | None) -> Decimal:
        """`k`, lowered by the maximum-source-leverage filter (it acts as a scaling at the open)."""
        return mul(self.k(coin), self.filters.leverage_factor(source_leverage))
