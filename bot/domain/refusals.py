"""What a venue's refusal is about, from its words: the refusal kinds (`Refusal`), the fragments that
classify them (`refusal_of`, used by `bot.faults.rejection_code` and the copier's unfilled-IOC test) and
`VenueWords`, the shape of a venue's wording.

Every venue of the house answers in Hyperliquid's words (`bot.domain.hyperliquid.HYPERLIQUID_WORDS`):
Hyperliquid's client passes the venue's own on, the paper venue (adapters/paper) answers in them, and
GMX words its refusals the same way (adapters/gmx, via `without_asset`), so this one classification serves
every venue, and bot/ reads it without importing an adapter. The localnet's own texts
(adapters/localnet/rules.py) stay separate on purpose: it is an independent double of the venue, and the
live comparisons in tests/paper and tests/hyperliquid/test_refusals.py check that both say the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


@dataclass(frozen=True, slots=True)
class VenueWords:
    """How the venue words its refusals (templates take `asset`, `min`, `bid`, `ask`, `address`)."""

    size: str
    price: str
    duplicate_cloid: str
    leverage: str
    min_value: str
    reduce_only: str
    ioc: str
    alo: str
    margin: str
    no_user: str
    builder_fee: str  # the order names a builder its user has not approved (at that rate)


class Refusal(StrEnum):
    """What a refusal (or our client's own "not sent") is about."""

    MARGIN = "margin"
    TICK = "tick"
    REDUCE_ONLY = "reduce_only"
    SIZE = "size"
    MIN_VALUE = "min_value"
    UNFILLED_IOC = "unfilled_ioc"  # an IOC that found no liquidity: nothing traded, not an error
    RATE_LIMITED = "rate_limited"  # our client's words (exchange.py `NotSent`): nothing executed
    UNREACHABLE = "unreachable"  # ditto
    BUILDER_FEE = "builder_fee"  # a builder not approved (at that rate): the order goes again without it


# Lower-cased fragments, matched anywhere: the venue appends `asset=N` and may reword the tail.
RATE_LIMITED_WORDS: Final = "(rate limited)"
CONNECTION_FAILED_WORDS: Final = "connection failed"
REFUSALS: Final[tuple[tuple[str, Refusal], ...]] = (
    ("insufficient margin", Refusal.MARGIN),
    ("invalid price", Refusal.TICK),
    ("tick size", Refusal.TICK),  # "Price must be divisible by tick size."
    ("reduce only order would increase position", Refusal.REDUCE_ONLY),
    ("invalid size", Refusal.SIZE),
    ("minimum value of", Refusal.MIN_VALUE),
    ("could not immediately match", Refusal.UNFILLED_IOC),
    (RATE_LIMITED_WORDS, Refusal.RATE_LIMITED),
    (CONNECTION_FAILED_WORDS, Refusal.UNREACHABLE),
    ("builder fee has not been approved", Refusal.BUILDER_FEE),
)


def refusal_of(error: str | None) -> Refusal | None:
    """What the venue's (or our client's) words refuse, None for words this table does not know."""
    text = (error or "").lower()
    return next((kind for fragment, kind in REFUSALS if fragment in text), None)


def without_asset(template: str) -> str:
    """A refusal as a venue without asset ids words it (GMX): no `. asset=N` tail, no final stop."""
    return template.removesuffix(". asset={asset}").removesuffix(".")
