"""A source change as a stream entry and back: exact (Decimals keep their digits), and an entry that is
not a change is refused naming the field."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.bus.codec import BusChange, EntryError, decode, encode
from bot.domain import SourceChange

sizes = st.decimals(allow_nan=False, allow_infinity=False, places=None, min_value=-(10**12), max_value=10**12)
prices = st.none() | st.decimals(allow_nan=False, allow_infinity=False, min_value=0, max_value=10**9)
texts = st.text(min_size=1, max_size=60).filter(lambda t: "\x00" not in t)

CHANGE = BusChange(
    "hyperliquid",
    SourceChange(
        "0xAbC", "BTC", Decimal("0.10"), Decimal("-1.500"), 1765000000123, "fills:BTC:7:1", Decimal("97000.0")
    ),
)


def test_an_entry_is_strings_with_the_decimals_own_digits() -> None:
    fields = encode(CHANGE)
    assert fields == {
        "v": "1",
        "venue": "hyperliquid",
        "source": "0xAbC",
        "coin": "BTC",
        "old": "0.10",
        "new": "-1.500",
        "time_ms": "1765000000123",
        "event_id": "fills:BTC:7:1",
        "avg_px": "97000.0",
    }
    back = decode({k.encode(): v.encode() for k, v in fields.items()})  # as bytes too (no decoding client)
    assert back == CHANGE and str(back.change.new) == "-1.500"


@settings(max_examples=100, deadline=None)
@given(
    venue=texts,
    source=texts,
    coin=texts,
    old=sizes,
    new=sizes,
    time_ms=st.integers(min_value=0, max_value=2**62),
    event_id=texts,
    avg_px=prices,
)
def test_round_trip_is_exact(
    venue: str,
    source: str,
    coin: str,
    old: Decimal,
    new: Decimal,
    time_ms: int,
    event_id: str,
    avg_px: Decimal | None,
) -> None:
    item = BusChange(venue, SourceChange(source, coin, old, new, time_ms, event_id, avg_px))
    back = decode(encode(item))
    assert back == item
    # Equal is not enough for money: the same digits and exponent.
    assert (str(back.change.old), str(back.change.new)) == (str(old), str(new))
    assert str(back.change.avg_px) == str(avg_px)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"v": "2"}, "layout '2'"),
        ({"old": "1e"}, "'old' is not a decimal"),
        ({"new": "NaN"}, "'new' must be finite"),
        ({"time_ms": "-5"}, "'time_ms' is not a whole number"),
        ({"event_id": ""}, "'event_id' is missing"),
        ({"avg_px": "x"}, "'avg_px' is not a decimal"),
    ],
)
def test_an_entry_that_is_not_a_change_is_refused_naming_the_field(
    change: dict[str, str], field: str
) -> None:
    with pytest.raises(EntryError, match=field):
        decode({**encode(CHANGE), **change})
