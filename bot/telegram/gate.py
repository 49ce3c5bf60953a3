"""Commands and the gate every update passes: the authorisation decorator (freqtrade's idea), the
access rules of SPEC §8 and the translation of service refusals into answers.

Access: every command needs a member (an admin from MIRROR_TELEGRAM_ADMINS or an invited user);
everyone else is refused and the refusal is written to the AuditLog. `change` commands in a group
need one of the group's listed admins; `private` commands work only in a private chat; `admin`
commands only for the bot's admins.

A command whose arguments look like a private key is deleted from the chat before anything is said and
not run (`/why` first looks a 64-hex reference up as a decision id: see commands_read.why). Whatever a
handler raises, the user gets an answer: service refusals their message, anything else a one-line
apology (the failure is logged by type and place only: its message may quote the input).
"""

from __future__ import annotations

import contextlib
import logging
import traceback
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.error import TelegramError

from bot.ledger import LedgerError
from bot.service import InvalidInput, ServiceError, VenueUnreachable
from bot.service.inputs import looks_like_key, shown
from bot.telegram.room import Ask, Context, Handler
from bot.telegram.send import Throttled, send_text
from bot.telegram.text import Html, b, esc, join

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on my side (it is logged). Please try again, or see /help."
KEY_IN_COMMAND = (
    "I deleted your message: it contained something that looks like a private key, and I never take "
    "keys inside a command. Nothing was done. If it was a real key, treat it as leaked.\n"
    "To connect an account: /connect <address>, then paste the agent key on its own."
)


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
    most: int | None = None  # words it takes at most (None: it checks its arguments itself)
    detail: str = ""  # more than the one-line summary: shown by /help <command> only


COMMANDS: dict[str, Command] = {}


def command(
    name: str,
    access: Access,
    usage: str,
    summary: str,
    example: str,
    aliases: tuple[str, ...] = (),
    *,
    most: int | None = None,
    detail: str = "",
) -> Callable[[Handler], Handler]:
    """Register a command. `summary` is one line (the /help overview, Telegram's command menu); what
    else a user needs goes in `detail`, shown by /help <command>."""

    def register(run: Handler) -> Handler:
        COMMANDS[name] = Command(name, access, usage, summary, example, run, aliases, most, detail)
        return run

    return register


async def refuse_stranger(ask: Ask, what: str) -> None:
    """Audit and answer a stranger, with spare capacity only (never delays a member's answer)."""
    await ask.room.tenancy.refuse(ask.actor, what, {"chat": ask.chat_id})
    with contextlib.suppress(Throttled):
        await ask.reply(
            f"Sorry, this bot is private. An admin can let you in with /invite {ask.user_id} "
            f"(your Telegram id is {ask.user_id}).",
            spare=True,
        )


class Standing(StrEnum):
    MEMBER = "member"  # the bot's admins and invited users; in a group, also its listed admins
    READER = "reader"  # anyone else in a group with listed admins: its read-outs, nothing else
    STRANGER = "stranger"


async def standing(ask: Ask) -> Standing:
    """Who is asking. A group's listed admin is a member there without an invitation: they propose
    changes as they vote on them (docs/telegram.md, Groups)."""
    tenancy = ask.room.tenancy
    if await tenancy.is_member(ask.user_id):
        return Standing.MEMBER
    policy = None if ask.private else await tenancy.policy(ask.chat_id)
    if policy is None:
        return Standing.STRANGER
    return Standing.MEMBER if ask.user_id in policy.admins else Standing.READER


# What a group's reader may run: the group's read-outs, not the venue-heavy research (/inspect,
# /backtest) nor charts (rendering costs the bot's CPU), which stay with members.
READ_OUTS = ("status", "positions", "pnl", "profit", "daily", "weekly", "monthly", "history", "why", "health")
READER_COMMANDS = frozenset({"start", "help", "group", *READ_OUTS})


async def admitted(ask: Ask, cmd: Command, who: Standing | None = None) -> bool:
    """Whether `ask` may run `cmd`; a refusal is answered and audited. `who`: `standing(ask)` when
    already known."""
    tenancy = ask.room.tenancy
    who = who or await standing(ask)
    if who is Standing.STRANGER:
        await refuse_stranger(ask, f"/{cmd.name}: unknown user")
        return False
    if who is Standing.READER and cmd.name not in READER_COMMANDS:
        await tenancy.refuse(ask.actor, f"/{cmd.name}: a group's reader", {"chat": ask.chat_id})
        if cmd.access is Access.CHANGE:
            await ask.reply("Only this group's listed admins may change anything here (see /group).")
        else:
            shown = ", ".join(f"/{name}" for name in READ_OUTS)
            await ask.reply(f"/{cmd.name} is for the bot's members. Here you can read the group's {shown}.")
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
        if cmd.most is not None and len(ask.args) > cmd.most:
            raise InvalidInput("arguments", f"unexpected {shown(ask.args[cmd.most])}", "see the usage below")
        await cmd.run(ask)
    except InvalidInput as exc:
        await ask.reply(f"{exc}\nUsage: {cmd.usage}\nExample: {cmd.example}")
    except VenueUnreachable as exc:
        await ask.reply(f"The venue did not answer: {exc}. Try again in a moment.")
    except ServiceError as exc:
        await ask.reply(str(exc))
    except LedgerError as exc:
        await ask.reply(f"The ledger refused: {exc}")


PtbCallback = Callable[[Update, Context], Coroutine[Any, Any, None]]


def log_failure(where: str, exc: BaseException) -> None:
    """Log an unexpected failure by its type and the places it passed: never its message or the
    update (either may carry a pasted key)."""
    frames = traceback.extract_tb(exc.__traceback__)[-6:]
    path = " > ".join(f"{Path(f.filename).name}:{f.lineno}" for f in frames)
    log.error("telegram %s failed: %s at %s", where, type(exc).__name__, path)


def answering(where: str, callback: PtbCallback) -> PtbCallback:
    """`callback` that never fails silently: an unexpected exception is logged and answered with
    APOLOGY (no traceback, no internals)."""

    async def guarded(update: Update, context: Context) -> None:
        try:
            await callback(update, context)
        except Exception as exc:
            log_failure(where, exc)
            chat = update.effective_chat
            if chat is not None:
                with contextlib.suppress(TelegramError):
                    await send_text(context.bot, chat.id, APOLOGY)

    return guarded


async def key_in_command(ask: Ask, cmd: Command, member: bool, text: str) -> bool:
    """A command (its message's `text`) with something key-shaped in it: deleted before anything is
    said; for a member, not run and answered (True). `/why` from a member runs: it looks the 64 hex
    digits up as an id first."""
    if ask.message_id is None or not looks_like_key(text):
        return False
    if member and cmd.name == "why":
        return False
    await ask.delete_message()
    if not member:
        return False  # refused by `admitted`, which answers strangers
    what = f"/{cmd.name}: private key inside the command (deleted, not run)"
    await ask.room.tenancy.refuse(ask.actor, what, {"chat": ask.chat_id})
    await ask.reply(KEY_IN_COMMAND)
    return True


def handler(cmd: Command) -> PtbCallback:
    """The python-telegram-bot callback for one command."""

    async def callback(update: Update, context: Context) -> None:
        if update.effective_user is None or update.effective_chat is None:
            return
        ask = Ask.of(update, context)
        who = await standing(ask)
        message = update.effective_message
        text = (message.text or message.caption or "") if message is not None else ""
        if await key_in_command(ask, cmd, who is not Standing.STRANGER, text):
            return
        if await admitted(ask, cmd, who):
            await run_guarded(ask, cmd)

    return answering(f"/{cmd.name}", callback)


async def unknown_command(update: Update, context: Context) -> None:
    """A command no handler took (`/foo`, a typo): a key in it is deleted all the same; in a private
    chat it is answered (in a group it may be another bot's)."""
    message = update.effective_message
    if message is None or update.effective_user is None or update.effective_chat is None:
        return
    ask = Ask.of(update, context)
    text = message.text or message.caption or ""
    keyed = looks_like_key(text)
    if keyed:
        await ask.delete_message()
    if not await ask.room.tenancy.is_member(ask.user_id):
        if ask.private or keyed:
            await refuse_stranger(ask, "unknown command" + (" with a private key (deleted)" if keyed else ""))
        return
    if keyed:
        await ask.room.tenancy.refuse(ask.actor, "unknown command with a private key (deleted)")
        await ask.reply(KEY_IN_COMMAND)
    elif ask.private:
        await ask.reply(
            f"Unknown command {shown(text.split()[0] if text.split() else text)}. /help lists them."
        )


def help_text(name: str | None = None) -> str:
    """One command in detail (plain text), or the grouped overview (`Html`)."""
    if name:
        cmd = COMMANDS.get(name.lstrip("/").lower()) or next(
            (c for c in COMMANDS.values() if name.lstrip("/").lower() in c.aliases), None
        )
        if cmd is None:
            return f"No command {shown('/' + name.lstrip('/'))}. /help lists them all."
        aliases = f"\nAlso: {', '.join('/' + a for a in cmd.aliases)}" if cmd.aliases else ""
        where = {
            Access.PRIVATE: "\nPrivate chat only.",
            Access.ADMIN: "\nBot admins only.",
            Access.CHANGE: "\nIn a group: the group's listed admins only.",
        }.get(cmd.access, "")
        detail = f"\n{cmd.detail}" if cmd.detail else ""
        return (
            f"/{cmd.name} — {cmd.summary}{detail}\nUsage: {cmd.usage}\nExample: {cmd.example}{aliases}{where}"
        )
    return overview()


FIRST_STEPS = (
    "Start here: 1. /connect <your account address> (in a private chat with me), then paste the agent "
    "key I ask for · 2. /follow <source address> · 3. /status to see it copying · /stop is the kill switch."
)
# Sections of /help, in the order a new user needs them; a command in none is listed under "More".
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Get started", ("start", "connect", "follow", "status")),
    ("What is copied", ("unfollow", "scale", "copycurrent", "tokens", "limits", "strategy")),
    ("Stop and go", ("pause", "resume", "stop", "close")),
    (
        "What you hold and made",
        ("positions", "pnl", "profit", "daily", "weekly", "monthly", "history", "why"),
    ),
    ("Research a source", ("inspect", "backtest", "rank", "chart")),
    ("The bot", ("alerts", "health", "help", "disconnect")),
    ("Leader commission", ("commission", "builder")),
    ("Access and groups", ("invite", "revoke", "group")),
)


def overview() -> Html:
    """Every command, grouped, what to do first at the top (HTML: section names in bold)."""
    lines: list[str] = [b("Commands"), esc(FIRST_STEPS)]
    placed: set[str] = set()
    for title, names in (*SECTIONS, ("More", tuple(COMMANDS))):
        commands = [COMMANDS[n] for n in names if n in COMMANDS and n not in placed]
        if not commands:
            continue
        placed |= {c.name for c in commands}
        lines.append("")
        lines.append(b(title))
        lines += [esc(f"/{c.name} — {c.summary}") for c in commands]
    lines.append("")
    lines.append(esc("/help <command> for its usage and an example, e.g. /help follow"))
    return join(Html(line) for line in lines)
