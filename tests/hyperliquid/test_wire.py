"""Decimal wire helpers against the SDK's float-based `float_to_wire` / `order_request_to_order_wire`."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hyperliquid.utils import signing as sdk
from hyperliquid.utils.types import Cloid
from hypothesis import given
from hypothesis import strategies as st

from adapters.hyperliquid.wire import (
    cancel_action,
    cancel_by_cloid_action,
    decimal_to_wire,
    order_action,
    order_wire,
    update_leverage_action,
)

# Where a float carries a value with ≤ 8 decimals exactly enough for `f"{x:.8f}"` to give it back:
# |x| · 2⁻⁵³ < 0.5e-8, i.e. |x| < ~4.5e7 (prices and sizes live far below). Above that the SDK's string
# is an artefact of binary floats (1234567890123.45 → "1234567890123.44995117") and ours stays exact.
FLOAT_EXACT_BOUND = Decimal(45_000_000)

wire_values = st.decimals(
    min_value=0, max_value=FLOAT_EXACT_BOUND, places=8, allow_nan=False, allow_infinity=False
) | st.integers(min_value=0, max_value=2**53).map(Decimal)
# Same values spelled differently: trailing zeros, exponents.
respelled = wire_values.flatmap(
    lambda d: st.sampled_from([d, d.quantize(Decimal("1e-8")), d * Decimal("1.000"), Decimal(f"{d:e}")])
)


@given(value=respelled)
def test_decimal_to_wire_equals_float_to_wire(value: Decimal) -> None:
    assert decimal_to_wire(value) == sdk.float_to_wire(float(value))


@given(value=wire_values)
def test_wire_strings_are_normalised_and_exact(value: Decimal) -> None:
    text = decimal_to_wire(value)
    assert Decimal(text) == value
    assert "e" not in text.lower() and not text.startswith("-")
    if "." in text:
        fraction = text.split(".")[1]
        assert 0 < len(fraction) <= 8 and not fraction.endswith("0")


@given(
    mantissa=st.integers(min_value=1, max_value=10**6).filter(lambda m: m % 10 != 0),
    decimals=st.integers(min_value=9, max_value=12),
)
def test_more_than_eight_decimals_is_refused_like_the_sdk(mantissa: int, decimals: int) -> None:
    value = Decimal(mantissa).scaleb(-decimals)
    with pytest.raises(ValueError, match="more than 8 decimals"):
        decimal_to_wire(value, "px")
    with pytest.raises(ValueError, match="rounding"):
        sdk.float_to_wire(float(value))


def test_exactness_beyond_float_tolerance_is_refused() -> None:
    # The SDK's float check tolerates < 1e-12 and would send "0.1"; an exact Decimal says what it means.
    assert sdk.float_to_wire(float(Decimal("0.1000000000001"))) == "0.1"
    with pytest.raises(ValueError, match="sz needs more than 8 decimals"):
        decimal_to_wire(Decimal("0.1000000000001"), "sz")


def test_large_values_are_not_rounded_to_the_decimal_context() -> None:
    # Decimal.normalize() would round this 30-digit value to 28 digits.
    value = Decimal("123456789012345678901234567890.10000000")
    assert decimal_to_wire(value) == "123456789012345678901234567890.1"


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (Decimal("-1"), ValueError, "px must not be negative"),
        (Decimal("NaN"), ValueError, "px must be a finite number"),
        (Decimal("Infinity"), ValueError, "px must be a finite number"),
        (1.5, TypeError, "px must be a Decimal, got float"),
        ("1.5", TypeError, "px must be a Decimal, got str"),
    ],
)
def test_bad_values_are_refused_naming_the_field(value: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        decimal_to_wire(value, "px")


def test_zero_and_negative_zero_are_plain_zero() -> None:
    assert decimal_to_wire(Decimal("0E-12")) == "0"
    assert decimal_to_wire(Decimal("-0.000")) == "0"


cloids = st.binary(min_size=16, max_size=16).map(lambda b: "0x" + b.hex())


@given(
    asset=st.integers(min_value=0, max_value=200_000),
    is_buy=st.booleans(),
    px=wire_values,
    sz=wire_values,
    reduce_only=st.booleans(),
    tif=st.sampled_from(["Alo", "Ioc", "Gtc"]),
    cloid=st.none() | cloids,
)
def test_order_wire_equals_the_sdks(
    asset: int, is_buy: bool, px: Decimal, sz: Decimal, reduce_only: bool, tif: Any, cloid: str | None
) -> None:
    request = {
        "coin": "ANY",
        "is_buy": is_buy,
        "sz": float(sz),
        "limit_px": float(px),
        "order_type": {"limit": {"tif": tif}},
        "reduce_only": reduce_only,
        "cloid": None if cloid is None else Cloid(cloid),
    }
    theirs = sdk.order_wires_to_order_action([sdk.order_request_to_order_wire(request, asset)])
    ours = order_action([order_wire(asset, is_buy, px, sz, reduce_only, tif, cloid)])
    assert json.dumps(ours) == json.dumps(theirs)  # order matters: the action is msgpack-hashed


BAD_TIF: Any = "Fok"  # typed Any: these deliberately break the Literal types
BAD_GROUPING: Any = "other"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: order_wire(1, True, Decimal(1), Decimal(1), False, BAD_TIF),
            "tif must be one of Alo, Ioc, Gtc",
        ),
        (lambda: order_wire(-1, True, Decimal(1), Decimal(1), False, "Ioc"), "asset must be"),
        (lambda: order_wire(1, True, Decimal(1), Decimal(1), False, "Ioc", "0x12"), "cloid must be 0x"),
        (lambda: order_wire(1, True, Decimal(-1), Decimal(1), False, "Ioc"), "px must not be negative"),
        (lambda: order_wire(1, True, Decimal(1), Decimal("1e-9"), False, "Ioc"), "sz needs more than 8"),
        (lambda: order_action([]), "orders must not be empty"),
        (lambda: order_action([], BAD_GROUPING), "grouping must be one of"),
        (lambda: cancel_by_cloid_action([(1, "abc")]), "cloid must be 0x"),
        (lambda: cancel_action([(True, 5)]), "asset must be"),
        (lambda: update_leverage_action(1, 0), "leverage must be a positive integer"),
    ],
)
def test_bad_order_fields_are_named(call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
