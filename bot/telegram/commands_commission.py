"""Leader commission in the chat (SPEC §14): /commission shows or sets a follow's builder and rate (a
follow setting like /limits: a change goes through the group's approvals); /builder shows what the
account's master approved, and `/builder approve` takes the MASTER key once, in a private chat — the
message is deleted at once, the key signs `approveBuilderFee` and is dropped: never stored, logged or
echoed (commands_setup.on_text routes the key here)."""

from __future__ import annotations

import time

from bot.service import InvalidInput, NotFound, ServiceError, inputs
from bot.service.approvals import ChangeRequest
from bot.service.keystore import parse_private_key
from bot.service.settings import settings_from_json, shown_setting
from bot.telegram import render
from bot.telegram.changes import submit
from bot.telegram.commands_follow import resolve_source
from bot.telegram.gate import Access, command
from bot.telegram.parse import arguments
from bot.telegram.render_commission import approval, rate
from bot.telegram.room import Ask

COMMISSION_FORM = (
    "<address> [to=<builder address> rate=<tenths of a bp, 1 to 100>] | <address> off [on=<account>]"
)
BUILDER_FORM = "[approve] [on=<account>]"
_OFF = ("off", "none")


@command(
    "commission",
    Access.CHANGE,
    "/commission <address> [to=<builder> rate=<1..100>] [on=<account>] (off removes it)",
    "show or set a follow's leader commission (a builder paid on each copied fill)",
    "/commission 0x5e9e…a1b2 to=0x5e9e…a1b2 rate=10",
    detail="The builder (the source's address, or an operator's) is paid rate tenths of a basis point "
    "(10 = 0.01 %) of each copied fill, once your account's master approved it (/builder approve); "
    "without approval the copies go on, without it.",
)
async def commission(ask: Ask) -> None:
    positional, options = arguments(ask.args, 2, ("to", "rate", "on"), COMMISSION_FORM)
    on = options.pop("on", None)
    if not positional:
        raise InvalidInput("address", "missing", "the followed source's address")
    follower, source = await resolve_source(ask, positional[0], on)
    off = len(positional) == 2
    if off and positional[1].strip().lower() not in _OFF:
        raise InvalidInput("commission", f"unexpected {inputs.shown(positional[1])}", COMMISSION_FORM)
    if not off and not options:
        plan = await ask.room.service.ledger.current_plan(follower, source)
        fee = None if plan is None else settings_from_json(plan.settings).commission
        now = (
            "none"
            if fee is None
            else f"to {fee.address}, {shown_setting('commission_tenths_bp', fee.tenths_bp)}"
        )
        await ask.reply(
            f"Commission of {render.short(source)}: {now}.\n"
            f"Set: /commission {render.short(source)} to=<builder> rate=10 · approve: /builder approve"
        )
        return
    if off:
        if options:
            raise InvalidInput("commission", "off takes no to= or rate=", COMMISSION_FORM)
        args: dict[str, object] = {"commission_to": None, "commission_tenths_bp": None}
        summary = f"commission of {source}: off"
    else:
        for key in ("to", "rate"):
            if key not in options:
                raise InvalidInput(key, "missing: a commission needs both to= and rate=", COMMISSION_FORM)
        to = inputs.address(options["to"], "to")
        tenths = inputs.commission_rate(options["rate"], "rate")
        args = {"commission_to": to, "commission_tenths_bp": tenths}
        summary = f"commission of {source}: to {to}, {shown_setting('commission_tenths_bp', tenths)}"
    await submit(ask, ChangeRequest("follow.update", follower, source, args, summary))


@command(
    "builder",
    Access.READ,
    "/builder [approve] [on=<account>]",
    "the builder fees your account's master approved; approve them with the master key",
    "/builder approve",
    detail="approve: send the MASTER key once, in this private chat (deleted at once, used for one "
    "signature, never stored).",
)
async def builder(ask: Ask) -> None:
    positional, options = arguments(ask.args, 1, ("on",), BUILDER_FORM)
    follower = await ask.follower(options.get("on"))
    service = ask.room.service
    if not positional:
        await ask.reply(approval(await service.builder_status(ask.actor, follower)))
        return
    if positional[0].strip().lower() != "approve":
        raise InvalidInput("builder", f"unknown {inputs.shown(positional[0])}", "approve, or nothing")
    if not ask.private:
        raise InvalidInput(
            "builder", "a master key is only ever sent in a private chat", "/builder approve in private"
        )
    status = await service.builder_status(ask.actor, follower)  # refuses an account without builder codes
    if not status.builders:
        raise NotFound(f"no follow of {render.short(follower)} sets a commission: /commission first")
    ask.room.awaiting_master[ask.user_id] = (follower, time.monotonic() + ask.room.config.connect_ttl_s)
    asked = ", ".join(f"{b.builder} ({rate(b.asked)})" for b in status.builders)
    await ask.reply(
        f"Send the MASTER private key of {follower} to approve {asked}.\n"
        "I delete your message at once, sign that one approval with it and keep nothing. An agent key "
        "cannot approve a builder."
    )


async def approve_with_key(ask: Ask, key_text: str, follower: str) -> None:
    """The master key sent after `/builder approve` (its message already deleted): one signature."""
    word = inputs.key_in(key_text)
    try:
        if word is None:
            raise InvalidInput("key", "not a private key (input not shown)", "64 hex digits")
        parse_private_key(word)  # malformed: refused before anything else (input not shown)
        view = await ask.room.service.builder_approve(ask.actor, follower, word)
    except ServiceError as exc:
        await ask.reply(f"Not approved: {exc}")
        return
    await ask.reply(approval(view))
