"""Commands and the gate every update passes: the authorisation decorator (freqtrade's idea), the
access rules of SPEC §8 and the translation of service refusals into answers.

Access: every command needs a member (an admin from MIRROR_TELEGRAM_ADMINS or an invited user);
everyone else is refused and the refusal is written to the AuditLog. `change` commands in a group
need one of the group's listed admins; `private` commands work only in a private chat; `admin`
commands only for the bot's admins.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from telegram import Update

from bot.ledger import LedgerError
from bot.service import InvalidInput, ServiceError, VenueUnreachable
from bot.telegram.room import Ask, Context, Handler

log = logging.getLogger(__name__)


class Access(StrEnum):
    OPEN = "open"  # any member, anywhere
    READ = "read"  # any member; in a group, reads the group's accounts
    CHANGE = "change"  # in a group: only the group's listed admins
    PRIVATE = "private"  # private chat only
    ADMIN = "admin"  # the bot's admins only


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    access: Access
    usage: str
    summary: str
    example: str
    run: Handler
    aliases: tuple[str, ...] = ()


COMMANDS: dict[str, Command] = {}


def command(
    name: str, access: Access, usage: str, summary: str, example: str, aliases: tuple[str, ...] = ()
) -> Callable[[Handler], Handler]:
    def register(run: Handler) -> Handler:
        COMMANDS[name] = Command(name, access, usage, summary, example, run, aliases)
        return run

    return register


async def admitted(ask: Ask, cmd: Command) -> bool:
    """Whether `ask` may run `cmd`; a refusal is answered and audited."""
    tenancy = ask.room.tenancy
    if not await tenancy.is_member(ask.user_id):
        await tenancy.refuse(ask.actor, f"/{cmd.name}: unknown user", {"chat": ask.chat_id})
        await ask.reply(
            f"Sorry, this bot is private. An admin can let you in with /invite {ask.user_id} "
            f"(your Telegram id is {ask.user_id})."
        )
        return False
    if cmd.access is Access.PRIVATE and not ask.private:
        await tenancy.refuse(ask.actor, f"/{cmd.name}: not in a private chat", {"chat": ask.chat_id})
        await ask.reply(f"/{cmd.name} works only in a private chat with me.")
        return False
    if cmd.access is Access.ADMIN and not tenancy.is_admin(ask.user_id):
        await tenancy.refuse(ask.actor, f"/{cmd.name}: not an admin", {"chat": ask.chat_id})
        await ask.reply(f"/{cmd.name} is for the bot's admins.")
        return False
    if (
        cmd.access is Access.CHANGE
        and not ask.private
        and not await tenancy.is_group_admin(ask.chat_id, ask.user_id)
    ):
        await tenancy.refuse(ask.actor, f"/{cmd.name}: not a group admin", {"chat": ask.chat_id})
        await ask.reply("Only this group's listed admins may change anything here (see /group).")
        return False
    return True


async def run_guarded(ask: Ask, cmd: Command) -> None:
    """Run a command for an admitted user; service refusals become answers."""
    try:
        await cmd.run(ask)
    except InvalidInput as exc:
        await ask.reply(f"{exc}\nUsage: {cmd.usage}\nExample: {cmd.example}")
    except VenueUnreachable as exc:
        await ask.reply(f"The venue did not answer: {exc}. Try again in a moment.")
    except ServiceError as exc:
        await ask.reply(str(exc))
    except LedgerError as exc:
        await ask.reply(f"The ledger refused: {exc}")


def handler(cmd: Command) -> Callable[[Update, Context], object]:
    """The python-telegram-bot callback for one command."""

    async def callback(update: Update, context: Context) -> None:
        if update.effective_user is None or update.effective_chat is None:
            return
        ask = Ask.of(update, context)
        if await admitted(ask, cmd):
            await run_guarded(ask, cmd)

    return callback


def help_text(name: str | None = None) -> str:
    if name:
        cmd = COMMANDS.get(name.lstrip("/").lower()) or next(
            (c for c in COMMANDS.values() if name.lstrip("/").lower() in c.aliases), None
        )
        if cmd is None:
            return f"No command /{name.lstrip('/')}. /help lists them all."
        aliases = f"\nAlso: {', '.join('/' + a for a in cmd.aliases)}" if cmd.aliases else ""
        where = {
            Access.PRIVATE: "\nPrivate chat only.",
            Access.ADMIN: "\nBot admins only.",
            Access.CHANGE: "\nIn a group: the group's listed admins only.",
        }.get(cmd.access, "")
        return f"/{cmd.name} — {cmd.summary}\nUsage: {cmd.usage}\nExample: {cmd.example}{aliases}{where}"
    lines = ["Commands (/help <command> for details and an example):"]
    lines += [f"/{c.name} — {c.summary}" for c in COMMANDS.values()]
    return "\n".join(lines)
