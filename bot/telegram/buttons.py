"""Inline-button presses: choices (confirm / cancel / close or keep / source pickers), refresh buttons on
/status and /positions, and group approvals. Every press passes the same gate as a command."""

from __future__ import annotations

import contextlib

from telegram import Update
from telegram.error import TelegramError

from bot.service import ServiceError
from bot.service.approvals import ChangeRequest
from bot.service.tenancy import Refused
from bot.telegram import render
from bot.telegram.changes import APPROVE, apply_approved, approval_keyboard, run
from bot.telegram.choices import PREFIX as CHOICE
from bot.telegram.commands_read import REFRESH
from bot.telegram.gate import COMMANDS, Access, admitted, run_guarded
from bot.telegram.room import Ask, Context, Picked

UNKNOWN = "unknown button"
MAX_ID_DIGITS = 18  # change ids are database ids


async def on_button(update: Update, context: Context) -> None:
    query = update.callback_query
    if query is None or query.data is None or update.effective_user is None or update.effective_chat is None:
        return
    ask = Ask.of(update, context)
    data = query.data
    note: str | None = None
    try:
        if data.startswith(CHOICE):
            note = await _choice(ask, data)
        elif data.startswith(REFRESH) and data.removeprefix(REFRESH) in COMMANDS:
            cmd = COMMANDS[data.removeprefix(REFRESH)]
            if await admitted(ask, cmd):
                await run_guarded(ask, cmd)
        elif data.startswith(APPROVE):
            note = await _vote(ask, data)
        else:
            note = UNKNOWN
    finally:
        with contextlib.suppress(TelegramError):
            await query.answer(note)


async def _choice(ask: Ask, data: str) -> str | None:
    state, choice = ask.room.choices.take(data, ask.user_id)
    if state == "expired":
        await ask.reply("This question expired: send the command again.")
        return "expired"
    if state == "not yours" or choice is None:
        return "not your question"
    if choice.value is None:
        await ask.reply("Cancelled.")
        return None
    value = choice.value
    if isinstance(value, Picked):
        cmd = COMMANDS[value.command]
        ask.args = value.arguments()
        if await admitted(ask, cmd):
            await run_guarded(ask, cmd)
        return None
    assert isinstance(value, ChangeRequest)
    change_cmd = COMMANDS["follow"]  # any `change` command: the same access rule applies
    assert change_cmd.access is Access.CHANGE
    if await admitted(ask, change_cmd):
        try:
            await run(ask, value)
        except ServiceError as exc:
            await ask.reply(str(exc))
    return None


async def _vote(ask: Ask, data: str) -> str | None:
    change, _, vote = data.removeprefix(APPROVE).partition(":")
    if not (change.isascii() and change.isdigit() and len(change) <= MAX_ID_DIGITS and vote in ("y", "n")):
        return UNKNOWN  # not a button the bot made (a forged or garbled press)
    room = ask.room
    if not await room.tenancy.is_member(ask.user_id) and not await room.tenancy.is_group_admin(
        ask.chat_id, ask.user_id
    ):
        await room.tenancy.refuse(ask.actor, "approval: unknown user", {"chat": ask.chat_id})
        return "not allowed"
    try:
        view = await room.approvals.vote(ask.actor, ask.chat_id, int(change), ask.user_id, vote == "y")
    except ServiceError as exc:
        if isinstance(exc, Refused):
            await room.tenancy.refuse(ask.actor, f"approval: {exc}", {"chat": ask.chat_id, "change": change})
        return str(exc)[:190]
    if view.ready:
        await ask.reply(render.pending(view, room.name_of))
        result = await apply_approved(ask, view.id)
        view = await room.approvals.view(view.id)
        await ask.reply(render.pending(view, room.name_of) if view.result else result)
        return "approved and applied"
    await ask.reply(render.pending(view, room.name_of), approval_keyboard(view))
    return "vote recorded"
