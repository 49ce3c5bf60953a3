"""Issue #19 item 9 at the input boundary: amounts with a k/m/b suffix (exact) and address references
(a prefix or the short form replies show)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.service import inputs
from bot.service.errors import InvalidInput

ADDRESS = "0x5e9ee1e3b3a1e6ec0c1b6c5b6f4b8a5c2d3e4f1b"


@settings(max_examples=60, deadline=None)
@given(
    whole=st.integers(min_value=0, max_value=10**5),
    cents=st.integers(min_value=0, max_value=99),
    suffix=st.sampled_from([("k", 3), ("m", 6), ("b", 9), ("K", 3), ("M", 6)]),
)
def test_a_suffix_moves_the_decimal_point_exactly(whole: int, cents: int, suffix: tuple[str, int]) -> None:
    text = f"{whole}.{cents:02d}{suffix[0]}"
    expected = Decimal(f"{whole}.{cents:02d}").scaleb(suffix[1])
    value = inputs.suffixed(text, "equity")
    assert isinstance(value, Decimal) and value == expected and "E" not in str(value)


def test_suffixed_examples_and_refusals() -> None:
    assert inputs.suffixed("10k", "equity") == Decimal(10000)
    assert str(inputs.suffixed("1.5m", "equity")) == "1500000"
    assert inputs.suffixed("2500", "equity") == "2500"  # unchanged: the reader that follows checks it
    assert inputs.suffixed("k", "equity") == "k"
    for bad in ("nank", "1e99k", "--1k", "1.2.3m"):
        with pytest.raises(InvalidInput, match=r"^equity: "):
            inputs.suffixed(bad, "equity")


def test_address_refs_match_what_replies_show() -> None:
    short = f"{ADDRESS[:6]}…{ADDRESS[-4:]}"
    for text in (ADDRESS, ADDRESS.upper().replace("0X", "0x"), ADDRESS[:8], short, short.replace("…", "...")):
        assert inputs.refers_to(inputs.address_ref(text, "source"), ADDRESS), text
    assert not inputs.refers_to(inputs.address_ref("0x5e9e…0000", "source"), ADDRESS)
    for bad in ("0x12", "5e9ee1", "0x5e9e…", "0xzzzz", "", "0x" + "1" * 41):
        with pytest.raises(InvalidInput, match=r"^source: not an address"):
            inputs.address_ref(bad, "source")
