"""Who may use the bot: members only, refusals audited; private-only commands; keys never left in a chat."""

from __future__ import annotations

from bot.ledger import Ledger
from tests.telegram.conftest import ADMIN, Bot

STRANGER = 4242
GROUP = -100555


async def _refusals(ledger: Ledger) -> list[dict[str, object]]:
    return [e.details for e in await ledger.audit_entries(limit=500) if e.action == "telegram.refused"]


async def test_an_unknown_user_is_refused_and_the_refusal_is_logged(bot: Bot, ledger: Ledger) -> None:
    text = await bot.ask(STRANGER, "/status", "private")
    assert str(STRANGER) in text  # tells them the id an admin needs to invite them
    refusals = await _refusals(ledger)
    assert any("/status: unknown user" in str(r["refused"]) for r in refusals)
    entries = [e for e in await ledger.audit_entries(limit=500) if e.action == "telegram.refused"]
    assert entries[-1].actor == f"telegram:{STRANGER}"


async def test_an_admin_invites_a_user_who_is_then_served(bot: Bot) -> None:
    assert "private" in await bot.ask(STRANGER, "/help", "private")
    assert "is private" in await bot.ask(STRANGER + 1, "/invite 5", "private")  # not even a member
    assert "can now use the bot" in await bot.ask(ADMIN, f"/invite {STRANGER}", "can now")
    assert "/follow" in await bot.ask(STRANGER, "/help", "Commands")
    assert "for the bot's admins" in await bot.ask(STRANGER, "/invite 77", "admins")  # members do not invite
    assert "no longer has access" in await bot.ask(ADMIN, f"/revoke {STRANGER}", "access")
    assert "private" in await bot.ask(STRANGER, "/help", "private")


async def test_connect_is_refused_in_a_group_and_a_key_posted_there_is_deleted(
    bot: Bot, ledger: Ledger
) -> None:
    text = await bot.ask(ADMIN, "/connect 0x" + "ab" * 20, "private chat", chat=GROUP, chat_type="supergroup")
    assert "only in a private chat" in text
    mark = len(bot.api.calls)
    key_message = bot.api.push_message(ADMIN, "0x" + "12" * 32, chat_id=GROUP, chat_type="supergroup")
    await bot.api.wait_for(lambda c: c.method == "deleteMessage", after=mark)
    assert (GROUP, key_message) in bot.api.deleted
    warning = await bot.api.reply_to(GROUP, "leaked", after=mark)
    assert "12" * 32 not in warning.text
    assert any("private key posted in a group" in str(r["refused"]) for r in await _refusals(ledger))


async def test_help_describes_each_command_with_usage_and_example(bot: Bot) -> None:
    overview = await bot.ask(ADMIN, "/help", "Commands")
    for name in (
        "start",
        "connect",
        "follow",
        "unfollow",
        "scale",
        "copycurrent",
        "tokens",
        "limits",
        "pause",
        "resume",
        "stop",
        "status",
        "positions",
        "pnl",
        "history",
        "why",
        "inspect",
        "alerts",
        "health",
    ):
        assert f"/{name} —" in overview
    detail = await bot.ask(ADMIN, "/help scale", "Usage")
    assert "/scale <address> <token|*> <percent>" in detail and "Example" in detail
    assert "/stop" in await bot.ask(ADMIN, "/help kill", "Usage")  # aliases resolve
