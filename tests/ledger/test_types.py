"""Column types: canonical decimals, UTC-only timestamps, JSON without floats (no database needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.ledger.types import as_utc, canonical_decimal, decimal_text, dump_json, from_ms, load_json, to_ms
from tests.ledger.strategies import EDGE_DECIMALS, exact_decimals


@given(exact_decimals())
def test_canonical_decimal_keeps_the_value_and_has_one_spelling(value: Decimal) -> None:
    canon = canonical_decimal(value)
    assert canon == value
    assert canonical_decimal(canon) == canon
    sign, digits, exponent = canon.as_tuple()
    assert isinstance(exponent, int) and exponent <= 0  # never 1E+2 style
    assert exponent == 0 or digits[-1] != 0  # no trailing fractional zeros
    assert not (sign and canon == 0)  # no negative zero
    text = decimal_text(value)
    assert "E" not in text and text == format(canon, "f")
    assert Decimal(text) == value


@given(exact_decimals(), exact_decimals())
def test_equal_values_get_the_same_spelling(a: Decimal, b: Decimal) -> None:
    assert (decimal_text(a) == decimal_text(b)) == (a == b)


@pytest.mark.parametrize("value", EDGE_DECIMALS, ids=str)
def test_edge_decimals_are_canonical_without_rounding(value: Decimal) -> None:
    # 50-digit values must survive: no context precision (28 digits) is involved.
    assert canonical_decimal(value) == value
    assert len(decimal_text(value).replace("-", "").replace(".", "").lstrip("0")) <= 52


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal("sNaN")])
def test_non_finite_decimals_are_refused(bad: Decimal) -> None:
    with pytest.raises(ValueError, match="finite"):
        canonical_decimal(bad)


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError, match="float"):
        canonical_decimal(0.1)  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=2**45))
def test_epoch_milliseconds_round_trip_exactly(ms: int) -> None:
    moment = from_ms(ms)
    assert moment.tzinfo is UTC
    assert to_ms(moment) == ms


def test_naive_datetimes_are_refused_and_offsets_become_utc() -> None:
    with pytest.raises(ValueError, match="naive"):
        as_utc(datetime(2024, 1, 1, 12, 0))
    paris = datetime(2024, 1, 1, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    assert as_utc(paris) == datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert as_utc(paris).utcoffset() == timedelta(0)


@given(st.lists(exact_decimals(), max_size=5))
def test_json_keeps_decimals_exact_and_never_makes_floats(values: list[Decimal]) -> None:
    doc = {"values": values, "nested": {"px": values[:1]}}
    loaded = load_json(dump_json(doc))
    assert [Decimal(v) for v in loaded["values"]] == values
    assert all(isinstance(v, str) for v in loaded["values"])
    # A JSON number with a fraction (as a venue may send) loads as a Decimal, not a float.
    assert load_json('{"px": 0.1}') == {"px": Decimal("0.1")}
