"""Exact decimal arithmetic and the venue's quantisation rules (lot and price).

Targets and ratios are kept as `Decimal` under one wide context: every product and sum of venue numbers
(≤ ~20 significant digits each) is exact in 60 digits, and the only inexact operations are divisions
whose quotient does not terminate (e.g. `E_F / E_S = 1/3`), rounded 40+ orders of magnitude below a lot.
The process-wide decimal context (28 digits by default, and mutable by anyone) is never relied on.
"""

from __future__ import annotations

from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)

CTX = Context(prec=60, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)

PRICE_SIG_FIGS = 5
PERP_PRICE_DECIMALS = 6  # Hyperliquid perps: at most 6 - szDecimals decimals


def mul(*factors: Decimal) -> Decimal:
    out = ONE
    for f in factors:
        out = CTX.multiply(out, f)
    return out


def div(a: Decimal, b: Decimal) -> Decimal:
    return CTX.divide(a, b)


def add(*terms: Decimal) -> Decimal:
    out = ZERO
    for t in terms:
        out = CTX.add(out, t)
    return out


def sub(a: Decimal, b: Decimal) -> Decimal:
    return CTX.subtract(a, b)


def mag(x: Decimal) -> Decimal:
    """|x|, exactly: `abs()` and unary minus round to the thread's context (28 digits by default)."""
    return x.copy_abs()


def neg(x: Decimal) -> Decimal:
    """-x, exactly (see `mag`)."""
    return x.copy_negate()


def sign(x: Decimal) -> int:
    return (x > 0) - (x < 0)


def lot_of(sz_decimals: int) -> Decimal:
    return ONE.scaleb(-sz_decimals)


def q_lot(x: Decimal, sz_decimals: int) -> Decimal:
    """Round to the nearest lot, halves toward zero (SPEC §2 `q`)."""
    return x.quantize(lot_of(sz_decimals), rounding=ROUND_HALF_DOWN, context=CTX)


def floor_lot(x: Decimal, sz_decimals: int) -> Decimal:
    """Round toward zero to a whole lot: a capped size never ends above its cap."""
    return x.quantize(lot_of(sz_decimals), rounding=ROUND_DOWN, context=CTX)


def price_decimals(px: Decimal, sz_decimals: int) -> int:
    """Decimals a perp price may carry: ≤ 5 significant figures and ≤ 6 − szDecimals decimals.

    Integers are always valid, so the result is never negative.
    """
    by_sig_figs = PRICE_SIG_FIGS - 1 - px.adjusted()
    return max(0, min(PERP_PRICE_DECIMALS - sz_decimals, by_sig_figs))


def round_price(px: Decimal, sz_decimals: int, *, up: bool) -> Decimal:
    """Round a positive price to a valid venue price, up (toward +∞) or down.

    A carry (99.9995 → 100.000) only ever lands on a power of ten, which is valid once normalised; a
    price below the smallest tick rounds to that tick rather than to an invalid 0.
    """
    if px <= 0:
        raise ValueError(f"price must be positive, got {px}")
    tick = ONE.scaleb(-price_decimals(px, sz_decimals))
    out = px.quantize(tick, rounding=ROUND_CEILING if up else ROUND_FLOOR, context=CTX)
    return normalise(out if out > 0 else tick)


def is_valid_price(px: Decimal, sz_decimals: int) -> bool:
    if px <= 0:
        return False
    if px == px.to_integral_value():
        return True
    exponent = normalise(px).as_tuple().exponent
    assert isinstance(exponent, int)
    return -exponent <= price_decimals(px, sz_decimals)


def normalise(x: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation for integers (100, not 1E+2)."""
    if x == 0:
        return ZERO
    n = x.normalize(context=CTX)
    exponent = n.as_tuple().exponent
    assert isinstance(exponent, int)
    return n.quantize(ONE, context=CTX) if exponent > 0 else n


def plain(x: Decimal) -> str:
    """A decimal as a plain string: no trailing zeros, never exponent notation ("0.00001", "100")."""
    return format(normalise(x), "f")
