"""Onboarding and membership: /start /help /connect (+ the pasted key) /invite /revoke /group."""

from __future__ import annotations

import asyncio
import contextlib
import time

from eth_account import Account
from telegram import Update
from telegram.error import TelegramError

from bot.service import InvalidInput, ServiceError, inputs
from bot.service.inputs import key_in, looks_like_key
from bot.service.keystore import parse_private_key
from bot.service.settings import settings_from_json
from bot.service.tenancy import Refused, group_owner, user_owner
from bot.telegram import render, text
from bot.telegram.gate import Access, command, help_text, refuse_stranger
from bot.telegram.keyboard import common_keyboard
from bot.telegram.parse import arguments, count
from bot.telegram.room import Ask, Context

WELCOME = """Welcome to mirrorbot: it copies another wallet's perp positions into your account, scaled
to your equity.

1. Create an agent (API) wallet on the venue for your account and approve it there.
2. /connect <your account address> — then paste the agent's private key when I ask (in this private
   chat; I delete the message at once and keep the key encrypted).
3. /follow <source address> [tokens] [scaling%] — e.g. /follow 0x… ETH,BTC 50
4. /status, /positions, /alerts. /stop is the kill switch.
/help lists every command."""
NOT_THE_MASTER_KEY = (
    "Not connected: that is your account's own (master) key, not an agent wallet's. I deleted it; an agent "
    "can trade but not withdraw. Make one on the venue (Hyperliquid: More → API → Generate, then "
    "Authorize, which approves it) and send its key."
)


@command("start", Access.OPEN, "/start", "onboarding: how to connect and follow", "/start", most=0)
async def start(ask: Ask) -> None:
    await ask.reply(WELCOME, common_keyboard() if ask.private else None)


@command(
    "help", Access.OPEN, "/help [command]", "every command, or one in detail", "/help follow", ("h",), most=1
)
async def help_(ask: Ask) -> None:
    shown = help_text(ask.args[0] if ask.args else None)
    await ask.reply(shown, common_keyboard() if ask.private and not ask.args else None)


@command(
    "connect",
    Access.PRIVATE,
    "/connect <account address> [vault=<vault or sub-account>] [label=<name>]",
    "register your follower account and its agent wallet (then paste the agent key)",
    "/connect 0x1234…abcd label=main",
)
async def connect(ask: Ask) -> None:
    positional, options = arguments(ask.args, 1, ("vault", "label"))
    if not positional:
        raise InvalidInput("address", "missing", "your account's (master) address, 0x + 40 hex digits")
    master = inputs.address(positional[0], "address")
    vault = inputs.address(options["vault"], "vault") if "vault" in options else None
    room = ask.room
    if room.config.keystore_password is None:
        await ask.reply("The operator has not set MIRROR_KEYSTORE_PASSWORD: keys cannot be stored yet.")
        return
    await room.tenancy.check_claimable(vault or master, ask.owner)
    room.awaiting_key[ask.user_id] = (
        master,
        vault,
        options.get("label"),
        time.monotonic() + room.config.connect_ttl_s,
    )
    await ask.reply(
        f"Now send the private key of the agent (API) wallet approved for {master}.\n"
        "I delete your message at once and store the key encrypted. Never send your account's own key: "
        "an agent wallet can trade but not withdraw."
    )


async def on_text(update: Update, context: Context) -> None:
    """Any plain message: a private key is deleted from the chat at once, wherever it was posted; in
    a private chat after /connect it is stored encrypted and the account registered."""
    message = update.effective_message
    text = (message.text or message.caption or "") if message is not None else ""
    if message is None or update.effective_user is None:
        return
    if not looks_like_key(text):
        await _hint(update, context)
        return
    ask = Ask.of(update, context)
    with contextlib.suppress(TelegramError):
        await message.delete()
    room = ask.room
    pending = room.awaiting_key.pop(ask.user_id, None)
    approving = room.awaiting_master.pop(ask.user_id, None)  # /builder approve: the master key, once
    if not ask.private:
        await room.tenancy.refuse(ask.actor, "private key posted in a group (deleted)", {"chat": ask.chat_id})
        await ask.reply(
            "I deleted a message that looked like a private key. Treat that key as leaked: revoke it."
        )
        return
    if not await room.tenancy.is_member(ask.user_id):
        await refuse_stranger(ask, "private key from an unknown user (deleted)")
        return
    if approving is not None and approving[1] >= time.monotonic():
        from bot.telegram.commands_commission import approve_with_key

        await approve_with_key(ask, text, approving[0])
        return
    if pending is None or pending[3] < time.monotonic():
        await ask.reply(
            "I deleted that message (it looked like a private key). Send /connect <address> first."
        )
        return
    await _register(ask, text, *pending[:3])


async def _hint(update: Update, context: Context) -> None:
    """Plain text in a private chat from a member: say what the bot understands (groups are noisy, and
    a stranger is not answered: they cost nothing)."""
    ask = Ask.of(update, context)
    if not ask.private or not await ask.room.tenancy.is_member(ask.user_id):
        return
    waiting = ask.room.awaiting_key.get(ask.user_id)
    if waiting is not None and waiting[3] >= time.monotonic():
        await ask.reply("That is not a private key (64 hex digits). Send the agent wallet's key, or /help.")
        return
    await ask.reply("I only understand commands: /help lists them (/start to begin).")


async def _register(ask: Ask, text: str, master: str, vault: str | None, label: str | None) -> None:
    room = ask.room
    password = room.config.keystore_password
    assert password is not None
    word = key_in(text)
    assert word is not None  # on_text only calls this for a message with a key in it
    try:
        key = parse_private_key(word)
    except ServiceError as exc:
        await ask.reply(str(exc))
        return
    agent = Account.from_key(key).address.lower()
    if agent == master:
        await room.tenancy.refuse(
            ask.actor, "connect: the master key sent as the agent (deleted)", {"account": master}
        )
        await ask.reply(NOT_THE_MASTER_KEY)
        return
    path = room.config.keystore_dir / f"{vault or master}-{agent}.json"
    created = not path.exists()
    try:
        if created:
            await room.service.keystore_import(ask.actor, path, word, password.get_secret_value())
        await room.tenancy.check_claimable(vault or master, ask.owner)  # still yours: replace its agent
        added = await room.service.account_add(ask.actor, master, path, label, vault, replace_agent=True)
        await room.tenancy.claim(ask.actor, added.account.address, ask.owner)
    except ServiceError as exc:
        if created:
            await asyncio.to_thread(path.unlink, True)
        # A keystore error names its file: the chat gets the file's name, never the server's path.
        await ask.reply(f"Not connected: {str(exc).replace(str(path), path.name)}")
        return
    checked = "checked on the venue" if added.venue_checked else "NOT checked (no venue answered)"
    replaced = f" (replaced agent {added.replaced})" if added.replaced else ""
    await ask.reply(
        f"Connected {added.account.address} ({added.account.kind}) with agent {agent}{replaced}, {checked}. "
        "The key is stored encrypted.\nNext: /follow <source address> [tokens] [scaling%]"
    )


@command(
    "disconnect",
    Access.PRIVATE,
    "/disconnect <account>",
    "stop using one of your accounts (its keystore file is kept; unfollow its sources first)",
    "/disconnect main",
    most=1,
)
async def disconnect(ask: Ask) -> None:
    if not ask.args:
        raise InvalidInput("account", "missing", "the address, a unique prefix or the label of your account")
    follower = await ask.follower(ask.args[0])
    room = ask.room
    plans = await room.service.ledger.current_plans(follower)
    following = [p.source for p in plans if settings_from_json(p.settings).active]
    if following:  # close or keep their positions first, through /unfollow's own question
        await ask.reply(
            f"{render.short(follower)} still follows {len(following)} source(s): unfollow first, "
            "choosing to close or keep the positions:\n"
            + "\n".join(f"/unfollow {s} on={follower}" for s in following)
        )
        return
    removed = await room.service.account_remove(ask.actor, follower)
    await ask.reply(
        f"Disconnected {removed.account.address}: no longer copied or controlled from here. Its agent "
        "key stays encrypted on the server; revoke the agent on the venue if you no longer use it."
    )


@command(
    "invite",
    Access.ADMIN,
    "/invite <user id>",
    "let a Telegram user use the bot",
    "/invite 123456789",
    most=1,
)
async def invite(ask: Ask) -> None:
    if not ask.args:
        raise InvalidInput("user", "missing", "a numeric Telegram user id")
    changed = await ask.room.tenancy.invite(ask.actor, ask.user_id, ask.args[0])
    if ask.room.doorman is not None:
        ask.room.doorman.admit(int(ask.args[0]))  # a valid id: `invite` checked it
    await ask.reply(f"User {ask.args[0]} {'can now use the bot' if changed else 'was already a member'}.")


@command(
    "revoke",
    Access.ADMIN,
    "/revoke <user id>",
    "take an invited user's access away",
    "/revoke 123456789",
    most=1,
)
async def revoke(ask: Ask) -> None:
    if not ask.args:
        raise InvalidInput("user", "missing", inputs.TELEGRAM_ID)
    user = inputs.telegram_user(ask.args[0], "user")
    changed = await ask.room.tenancy.revoke(ask.actor, ask.user_id, user)
    if ask.room.doorman is not None:
        ask.room.doorman.forget(user)
    await ask.reply(f"User {user} {'no longer has access' if changed else 'was not a member'}.")


@command(
    "group",
    Access.READ,
    "/group | /group admins <id,id,…> <k> | /group adopt <account>",
    "a group's admins and approvals (k of n); adopt hands one of your accounts to the group",
    "/group admins 111,222,333 2",
    most=3,
)
async def group(ask: Ask) -> None:
    tenancy = ask.room.tenancy
    if ask.private:
        await ask.reply("/group works in a group chat (a DAO treasury's group).")
        return
    policy = await tenancy.policy(ask.chat_id)
    if not ask.args:
        if policy is None:
            await ask.reply(
                "This group has no admins listed yet. A bot admin sets them: /group admins <ids> <k>"
            )
            return
        accounts = [render.short(a.address) for a in await tenancy.accounts_of(group_owner(ask.chat_id))]
        waiting = await ask.room.approvals.waiting(ask.chat_id)
        lines: list[object] = [
            text.fmt(
                "<b>Admins</b>: {}\nApprovals needed: {} of {}\nAccounts: {}",
                ", ".join(
                    f"{ask.room.name_of(a)} ({a})" if a in ask.room.names else str(a) for a in policy.admins
                ),
                policy.threshold,
                len(policy.admins),
                ", ".join(accounts) or "none (/group adopt <account>)",
            ),
            text.b(f"Pending changes ({len(waiting)})") if waiting else "Pending changes: none",
        ]
        lines += [render.pending(view, ask.room.name_of) for view in waiting]
        await ask.reply(text.join(lines, "\n\n" if waiting else "\n"))
        return
    sub = ask.args[0].lower()
    if sub == "admins":
        # Setting the policy the first time needs a bot admin; changing it, a listed admin of the group.
        allowed = tenancy.is_admin(ask.user_id) if policy is None else ask.user_id in policy.admins
        if not allowed:
            await tenancy.refuse(ask.actor, "group admins: not allowed", {"chat": ask.chat_id})
            raise Refused("only a bot admin (first time) or a listed group admin may set the group's admins")
        if len(ask.args) < 3:
            raise InvalidInput("arguments", "expected the admins' ids and k", "/group admins 111,222,333 2")
        ids = [i for i in ask.args[1].split(",") if i.strip()]
        new = await tenancy.set_policy(ask.actor, ask.chat_id, ids, count(ask.args[2], "k", len(ids) or 1))
        if ask.room.doorman is not None:
            ask.room.doorman.govern(ask.chat_id)  # its members read at once
            for admin in new.admins:
                ask.room.doorman.admit(admin)  # listed admins may vote at once (bot.telegram.intake)
        await ask.reply(
            f"Group admins: {', '.join(map(str, new.admins))}; {new.threshold} approval(s) per change."
        )
        return
    if sub == "adopt":
        if policy is None or ask.user_id not in policy.admins:
            await tenancy.refuse(ask.actor, "group adopt: not a group admin", {"chat": ask.chat_id})
            raise Refused("only this group's listed admins may hand it an account")
        if len(ask.args) < 2:
            raise InvalidInput("account", "missing", "the address of one of your accounts")
        mine = await tenancy.follower_for(user_owner(ask.user_id), ask.args[1])
        await tenancy.claim(ask.actor, mine, group_owner(ask.chat_id), transfer_from=user_owner(ask.user_id))
        await ask.reply(
            f"{mine} now belongs to this group: its follows change only with the group's approvals."
        )
        return
    raise InvalidInput("subcommand", f"unknown {inputs.shown(ask.args[0])}", "admins, adopt")
