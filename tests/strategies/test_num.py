"""Quantisation: lots (nearest, halves toward zero), venue prices, plain decimal strings."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies.num import div, is_valid_price, plain, price_decimals, q_lot, round_price


@pytest.mark.parametrize(
    ("value", "sz_decimals", "expected"),
    [
        ("0.00015", 4, "0.0001"),  # a half goes toward zero
        ("-0.00015", 4, "-0.0001"),
        ("0.000150001", 4, "0.0002"),
        ("0.072", 2, "0.07"),
        ("0.075", 2, "0.07"),
        ("0.0751", 2, "0.08"),
        ("2.5", 0, "2"),
        ("-2.5", 0, "-2"),
    ],
)
def test_q_rounds_to_the_nearest_lot_halves_toward_zero(value: str, sz_decimals: int, expected: str) -> None:
    assert q_lot(Decimal(value), sz_decimals) == Decimal(expected)


@pytest.mark.parametrize(
    ("px", "sz_decimals", "up", "expected"),
    [
        ("3030", 4, False, "3030"),
        ("3030.3", 4, False, "3030.3"),  # 5 significant figures
        ("3030.37", 4, True, "3030.4"),
        ("1.234567", 2, True, "1.2346"),  # ≤ 6 − 2 = 4 decimals
        ("0.01234567", 0, False, "0.012345"),  # ≤ 6 decimals, 5 significant figures
        ("0.01234567", 3, False, "0.012"),  # ≤ 3 decimals
        ("123456.7", 0, False, "123456"),  # integers are always valid
        ("123456.7", 0, True, "123457"),
        ("99.9996", 1, True, "100"),  # a carry lands on a power of ten
        ("0.0000001", 0, False, "0.000001"),  # never 0: the smallest tick
    ],
)
def test_round_price(px: str, sz_decimals: int, up: bool, expected: str) -> None:
    out = round_price(Decimal(px), sz_decimals, up=up)
    assert str(out) == expected
    assert is_valid_price(out, sz_decimals)


prices = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("10000000"), places=8)


@given(px=prices, sz_decimals=st.integers(0, 5), up=st.booleans())
def test_round_price_is_valid_and_next_to_the_input(px: Decimal, sz_decimals: int, up: bool) -> None:
    out = round_price(px, sz_decimals, up=up)
    assert is_valid_price(out, sz_decimals)
    tick = Decimal(1).scaleb(-price_decimals(px, sz_decimals))
    if up or px < tick:  # below the smallest tick, a price rounds up to it rather than to 0
        assert px <= out < px + tick
    else:
        assert px - tick < out <= px


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1E-5", "0.00001"),
        ("1E+2", "100"),
        ("0.1000", "0.1"),
        ("-0", "0"),
        ("120.00", "120"),
        ("-0.050", "-0.05"),
    ],
)
def test_plain_has_no_exponent_and_no_trailing_zeros(value: str, expected: str) -> None:
    assert plain(Decimal(value)) == expected


def test_division_is_exact_when_the_quotient_terminates_and_wide_otherwise() -> None:
    assert div(Decimal(1000), Decimal(100000)) == Decimal("0.01")
    third = div(Decimal(1), Decimal(3))
    assert len(third.as_tuple().digits) == 60
