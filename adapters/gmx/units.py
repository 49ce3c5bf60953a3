"""GMX's fixed-point units ↔ exact `Decimal`s. Never a float.

- USD amounts (sizeInUsd, sizeDeltaUsd, pnl) are integers at 1e30.
- Token amounts are integers at the token's decimals.
- A price is USD per smallest token unit at 1e30, i.e. `usd_price × 10^(30 − token_decimals)`.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Final

USD_DECIMALS: Final = 30


def from_units(value: int, decimals: int) -> Decimal:
    """`value / 10^decimals`, exact (a Decimal holds any integer; scaleb only moves the exponent)."""
    return Decimal(value).scaleb(-decimals)


def usd(value: int) -> Decimal:
    return from_units(value, USD_DECIMALS)


def price(value: int, token_decimals: int) -> Decimal:
    """A per-unit price at 1e30 → USD per whole token."""
    return from_units(value, USD_DECIMALS - token_decimals)


def to_units(amount: Decimal, decimals: int, *, rounding: str = ROUND_FLOOR) -> int:
    """`amount × 10^decimals` as an integer; rounded (default down) only when it does not fit."""
    return int(amount.scaleb(decimals).to_integral_value(rounding=rounding))


def to_usd(amount: Decimal, *, up: bool = False) -> int:
    return to_units(amount, USD_DECIMALS, rounding=ROUND_CEILING if up else ROUND_FLOOR)


def to_price(usd_price: Decimal, token_decimals: int, *, up: bool = False) -> int:
    return to_units(usd_price, USD_DECIMALS - token_decimals, rounding=ROUND_CEILING if up else ROUND_FLOOR)
