"""Replies in Telegram HTML (bot/telegram/text.py): whatever a user or a venue wrote shows exactly as
written and never becomes markup; numbers are shown to the lot and to the cent."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.telegram.send import chunks
from bot.telegram.text import Html, as_html, b, code, fmt, join, plain, price, short_id, size, usd
from tests.telegram.fakebot import parse_html

FAST = settings(max_examples=150, deadline=None)
HOSTILE = st.lists(
    st.sampled_from([*"<>&;/\"'abcx #=\n", "<b>", "</b>", "&amp;", "&lt;", "<a href=x>", "</code>"]),
    max_size=30,
).map("".join)
ONE_LINE = HOSTILE.map(lambda s: s.replace("\n", " "))  # tags are per line (text._tag)


@FAST
@given(HOSTILE)
def test_plain_text_shows_exactly_as_written(value: str) -> None:
    assert parse_html(as_html(value)) == (value, [])


@FAST
@given(ONE_LINE, ONE_LINE)
def test_values_inside_markup_cannot_add_or_break_tags(coin: str, name: str) -> None:
    sent = fmt("<b>{}</b> copied by {}", coin, code(name))
    text, entities = parse_html(sent)
    assert text == f"{coin} copied by {name}"
    assert plain(sent) == text
    expected = [("b", 0, len(coin))] if coin else []
    expected += [("code", len(coin) + 11, len(name))] if name else []
    assert [(e["type"], e["offset"], e["length"]) for e in entities] == expected


@FAST
@given(st.lists(HOSTILE, min_size=1, max_size=40), st.integers(min_value=40, max_value=300))
def test_html_chunks_are_each_well_formed_and_lose_nothing(lines: list[str], limit: int) -> None:
    message = join([b(line) for line in lines])
    pieces = chunks(message, limit)
    assert all(isinstance(p, Html) and len(p) <= limit for p in pieces)
    seen = [parse_html(p)[0] for p in pieces]  # each piece parses on its own
    assert "".join("".join(seen).split()) == "".join(plain(message).split())


def test_sizes_are_shown_to_the_lot_and_usd_to_the_cent() -> None:
    target = Decimal("0.123456789012345678901234567890123456789012345678901234567891")
    assert size(target, 4) == "0.1235"
    assert size(target) == "0.123457"
    assert size(Decimal("2.50000"), 2, signed=True) == "+2.5"
    assert size(Decimal("-0.00001"), 3) == "0"
    assert usd(Decimal("1234.5678")) == "$1,234.57"
    assert usd(Decimal("-3.2")) == "-$3.20"
    assert usd(Decimal("3.2"), signed=True) == "+$3.20"
    assert price(Decimal("3456.789123")) == "3456.8"
    assert price(Decimal("0.000123456")) == "0.00012346"
    assert short_id("ab" * 32) == "ababababab"
    assert short_id("199232366216644") == "199232366216644"
