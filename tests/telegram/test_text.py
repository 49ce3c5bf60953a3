"""Replies in Telegram HTML (bot/telegram/text.py): whatever a user or a venue wrote shows exactly as
written and never becomes markup; numbers are shown to the lot and to the cent."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.alerts import Alert, AlertKind
from bot.telegram import alert_text
from bot.telegram.send import chunks
from bot.telegram.text import Html, as_html, b, code, fmt, join, plain, price, short_id, size, usd
from tests.telegram.conftest import ADMIN, Bot
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
    assert short_id("ab" * 32) == "abababababab"
    assert short_id("199232366216644") == "199232366216644"


@FAST
@given(ONE_LINE, HOSTILE, ONE_LINE)
def test_an_alert_shows_hostile_venue_strings_as_written(coin: str, message: str, reason: str) -> None:
    alert = Alert(AlertKind.REJECTED, reason, message, follower="0x" + "ab" * 20, coin=coin or None)
    sent = alert_text.render(alert, alert_text.Facts(decision="cd" * 32))
    shown, entities = parse_html(sent)  # Telegram would accept it
    assert message in shown and (coin in shown) and shown.endswith("explain: /why cdcdcdcdcdcd")
    assert {e["type"] for e in entities} <= {"b", "code"}
    assert [shown[e["offset"] : e["offset"] + e["length"]] for e in entities if e["type"] == "code"] == [
        "/why cdcdcdcdcdcd"
    ]


HOSTILE_NAMES = ["<b>ETH</b>", "A&amp;B", "</code><a href='x'>click</a>", "1 < 2 > 0 & ;", "&#60;i&#62;"]


async def test_hostile_strings_reach_the_chat_as_written(bot: Bot) -> None:
    """Through the real python-telegram-bot and the fake Bot API, which refuses bad HTML as Telegram
    does: a pushed alert (to the admins: it names no account) and a command's refusal quoting input."""
    for name in HOSTILE_NAMES:
        mark = len(bot.api.calls)
        bot.alerts.publish(Alert(AlertKind.FAILURE, "feed", f"{name} stopped", coin=name))
        pushed = await bot.api.reply_to(ADMIN, f"{name} stopped", after=mark)
        assert pushed.text.startswith(f"[failure] {name}: {name} stopped")
        assert "<" not in "".join(e["type"] for e in pushed.entities if e["type"] not in ("b", "code"))
        word = name.replace(" ", "")
        assert f"/{word}" in await bot.ask(ADMIN, f"/help {word}", "No command")
    assert not [c for c in bot.api.calls if c.method.startswith("sendMessage") and "_result" not in c.params]


async def test_a_skip_names_its_decision_for_why(bot: Bot) -> None:
    """A skip (no order, no cloid) carries its decision's id: the alert ends with the /why to paste."""
    ident = "ef" * 32
    mark = len(bot.api.calls)
    bot.alerts.publish(
        Alert(AlertKind.FAILURE, "paused", "ETH: not copied (paused)", details={"decision": ident})
    )
    pushed = await bot.api.reply_to(ADMIN, "not copied", after=mark)
    assert pushed.text.endswith(f"explain: /why {ident[:12]}")


async def test_a_pushed_alert_never_carries_a_secret(bot: Bot) -> None:
    """A failure's message is an exception's or a venue's text: a key or an RPC URL's API key in it is
    masked before the chat sees it (bot/redaction.py, as the logs are), the rest kept."""
    key = "ab" * 32
    rpc = "https://arb-mainnet.g.alchemy.com/v2/k3yK3yK3yK3yK3yK3yK3yK3y"
    mark = len(bot.api.calls)
    told = f"copying ETH failed: {rpc} refused; signer 0x{key}"
    bot.alerts.publish(Alert(AlertKind.FAILURE, "ReadError", told, coin="ETH"))
    pushed = await bot.api.reply_to(ADMIN, "copying ETH failed", after=mark)
    assert key not in pushed.text and "k3yK3yK3yK3y" not in pushed.text
    assert "https://arb-mainnet.g.alchemy.com/v2/[REDACTED] refused; signer [REDACTED]" in pushed.text
