"""A private key typed inside a command never stays in the chat (issue #14, item 4): the message is
deleted before any reply, whatever the command and whoever sent it; the key is never echoed, written
to the audit log or logged (at INFO; python-telegram-bot's DEBUG dump of raw updates goes through
bot/logs.py's redaction). A 64-hex `/why` reference is looked up as a decision id first
(docs/telegram.md)."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from adapters.localnet.server import LocalnetThread
from bot.cli import app as cli
from bot.config import Settings
from bot.ledger import Ledger
from bot.ledger.repository import instruction_values
from tests.telegram.conftest import ADMIN, Bot
from tests.telegram.fakebot import Call
from tests.telegram.support import connect

KEY = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
ADDRESS = "0x" + "ab" * 20
STRANGER = 4343
ANSWERS = ("sendMessage", "editMessageText", "sendPhoto")


async def _audit_text(ledger: Ledger) -> str:
    return " ".join(f"{e.action} {e.details}" for e in await ledger.audit_entries(limit=1000))


async def _deleted_before_any_reply(bot: Bot, chat: int, text: str, user: int | None = None) -> Call:
    """Send `text`; the first answer after it, which must come after the message's deletion."""
    mark = len(bot.api.calls)
    message = bot.api.push_message(user or chat, text, chat_id=chat)
    answer = await bot.api.wait_for(lambda c: c.method in ANSWERS and c.chat_id == chat, after=mark)
    deletion = next(
        (i for i, c in enumerate(bot.api.calls[mark:], mark) if c.method == "deleteMessage"), None
    )
    assert (chat, message) in bot.api.deleted, f"{text[:30]}… was not deleted"
    assert deletion is not None and deletion < bot.api.calls.index(answer)
    return answer


@pytest.mark.parametrize(
    "text",
    [
        f"/connect {ADDRESS} 0x{KEY}",
        f"/connect {ADDRESS} label=0x{KEY}",
        f"/follow 0x{KEY}",
        f"/follow {ADDRESS} ETH 50 {KEY.upper()}",
        f"/why 0x{KEY}",
        f"/why {KEY}",
        f"/why instruction:{KEY}",
        f"/help {KEY}",
        f"/scale {ADDRESS} ETH 50 key={KEY}",
        f"/nosuchcommand {KEY}",
        f"/follow0x{KEY}",
    ],
)
async def test_a_key_inside_any_command_is_deleted_first_never_echoed_recorded_or_logged(
    bot: Bot, ledger: Ledger, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    caplog.set_level(logging.INFO)
    mark = len(bot.api.calls)
    answer = await _deleted_before_any_reply(bot, ADMIN, text)
    assert "private key" in answer.text
    said = " ".join(c.text for c in bot.api.calls[mark:]).lower()
    assert KEY not in said
    assert KEY not in (await _audit_text(ledger)).lower()
    assert KEY not in caplog.text.lower()
    assert ADMIN not in bot.handle.room.awaiting_key  # /connect did not run


async def test_a_strangers_key_is_deleted_too(bot: Bot, ledger: Ledger) -> None:
    answer = await _deleted_before_any_reply(bot, STRANGER, f"/start 0x{KEY}")
    assert "private" in answer.text and KEY not in answer.text
    assert KEY not in (await _audit_text(ledger)).lower()


async def test_why_with_a_known_decision_id_is_answered_and_kept(
    bot: Bot, ledger: Ledger, localnet: LocalnetThread
) -> None:
    master, _ = await connect(bot, localnet, ADMIN, "why-id")
    decision = await ledger.record_instruction(
        instruction_values(
            follower=master.address.lower(),
            source="0x" + "5e" * 20,
            coin="ETH",
            source_event_id="ev-why-1",
            strategy="mirror",
            target_before=Decimal(0),
            target_after=Decimal("0.5"),
            delta=Decimal("0.5"),
        )
    )
    ident = decision.row.id
    assert len(ident) == 64  # the ambiguous shape
    mark = len(bot.api.calls)
    message = bot.api.push_message(ADMIN, f"/why {ident}")
    answer = await bot.api.reply_to(ADMIN, ident[:12], after=mark)
    assert "ETH" in answer.text
    assert (ADMIN, message) not in bot.api.deleted  # a decision id is no secret
    assert ident in await _audit_text(ledger)


async def test_the_cli_why_never_echoes_or_records_a_key_shaped_reference(
    settings: Settings, ledger: Ledger
) -> None:
    env = {"MIRROR_DATABASE_URL": settings.db_url, "MIRROR_DATA_DIR": str(settings.data_dir)}
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["why", KEY], env=env)
    assert result.exit_code == 1
    assert KEY not in result.stdout + result.stderr and "looks like a private key" in result.stdout
    assert KEY not in (await _audit_text(ledger)).lower()
    other = await asyncio.to_thread(CliRunner().invoke, cli, ["why", "12345"], env=env)
    assert "Nothing in the ledger matches '12345'" in other.stdout  # other references are echoed
