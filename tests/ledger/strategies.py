"""Hypothesis strategies shared by the ledger tests."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st


@st.composite
def exact_decimals(draw: st.DrawFn, max_digits: int = 40, max_places: int = 30) -> Decimal:
    """Finite decimals with up to `max_digits` significant digits and `max_places` decimal places,
    spelled in any way Python allows (trailing zeros, exponents, negative zero)."""
    digits = draw(st.integers(min_value=-(10**max_digits) + 1, max_value=10**max_digits - 1))
    places = draw(st.integers(min_value=0, max_value=max_places))
    value = Decimal(digits).scaleb(-places)
    # Re-spell it: add trailing zeros or switch to exponent notation without changing the value.
    spelling = draw(st.sampled_from(("plain", "zeros", "sci")))
    if spelling == "zeros":
        return Decimal(format(value, "f") + ("" if "." in format(value, "f") else ".") + "000")
    if spelling == "sci":
        return Decimal(format(value, "e"))
    return value


EDGE_DECIMALS = (
    Decimal("0.00000001"),
    Decimal("123456789012345678.123456789"),
    Decimal("-0"),
    Decimal("0E-30"),
    Decimal("1E+20"),
    Decimal("-3.14159265358979323846264338327950288419716939937510"),
    Decimal("99999999999999999999999999999999999999.9999999999"),
    Decimal("0.1"),
    Decimal("1.10"),
)
