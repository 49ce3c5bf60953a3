"""Telegram's limits: chunking under 4096, "message is not modified" tolerated, RetryAfter honoured."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.telegram.send import MAX_MESSAGE, chunks, edit_text, send_text
from tests.telegram.conftest import ADMIN, Bot


@given(
    st.lists(st.text(alphabet="ab \u00e9€", max_size=900), max_size=6).map("\n".join), st.integers(20, 400)
)
def test_chunks_fit_and_lose_nothing(text: str, limit: int) -> None:
    assume(text.strip())  # the bot never sends blank text (Telegram refuses it)
    pieces = chunks(text, limit)
    assert pieces and all(0 < len(p) <= limit for p in pieces)
    assert "".join("".join(pieces).split()) == "".join(text.split())  # every visible character, in order
    if len(text) <= limit:
        assert pieces == [text]


async def test_a_long_answer_arrives_in_chunks_with_the_keyboard_under_the_last(bot: Bot) -> None:
    text = "\n".join(f"line {i:05d} " + "x" * 90 for i in range(200))  # ~20,000 characters
    mark = len(bot.api.calls)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="x")]])
    await send_text(bot.handle.application.bot, ADMIN, text, markup)
    sent = [c for c in bot.api.calls[mark:] if c.method == "sendMessage"]
    assert len(sent) == 5  # lines of 101 characters + a break: 40 of them (4,079 characters) per message
    assert [bool(c.params.get("reply_markup")) for c in sent] == [False] * 4 + [True]
    assert all(len(c.text) <= MAX_MESSAGE for c in sent)
    assert "\n".join(c.text for c in sent) == text


async def test_an_unchanged_edit_is_no_error(bot: Bot) -> None:
    tg = bot.handle.application.bot
    message = await send_text(tg, ADMIN, "same text")
    assert await edit_text(tg, ADMIN, message.message_id, "new text") is True
    assert await edit_text(tg, ADMIN, message.message_id, "new text") is False  # "message is not modified"
    refused = [c for c in bot.api.calls if c.method == "editMessageText" and "_result" not in c.params]
    assert len(refused) == 1  # Telegram said "message is not modified"; the bot carried on


async def test_flood_control_waits_and_retries(bot: Bot) -> None:
    bot.api.retry_after["sendMessage"] = 1  # the next sendMessage is answered 429, retry_after 1
    limiter = bot.handle.room.limiter
    assert limiter is not None
    before = limiter.retries
    text = await bot.ask(ADMIN, "/help", "Commands")
    assert "/follow" in text
    assert [c.method for c in bot.api.calls if c.method.startswith("sendMessage")][-2:] == [
        "sendMessage:429",
        "sendMessage",
    ]
    assert limiter.retries == before + 1 and limiter.waited_s >= 1
