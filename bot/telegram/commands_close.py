"""/close <coin>: close one mirrored position (freqtrade's /forceexit), as a change like any other.

The close is a new version of the follow that stops copying the coin with `release=close`: the running
pipeline applies it as it applies /tokens exclude, /unfollow close and /stop (the engine sets the
pair's target to 0 and the order path sends a reduce-only IOC order). There is no second order path.

Decision (docs/telegram.md): the coin is excluded from that follow afterwards. Copying it on would
re-open the position at the source's next change of that coin (the target follows the source), which
is not what "close" means to a person; `/tokens <source> include <coin>` copies it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.domain import Instrument
from bot.service import InvalidInput, NotFound, inputs, venue_reads
from bot.service.approvals import ChangeRequest
from bot.service.settings import settings_from_json
from bot.telegram import render, text
from bot.telegram.changes import submit
from bot.telegram.choices import Choice
from bot.telegram.commands_follow import on_option, token_change
from bot.telegram.gate import Access, command
from bot.telegram.parse import arguments
from bot.telegram.room import Ask, Pending, Picked

MAX_OFFERED = 12  # coin buttons in the picker


@dataclass(frozen=True, slots=True)
class Held:
    """One position of one of the owner's accounts, and the follow that copies it (None: not managed)."""

    follower: str
    coin: str
    size: Decimal
    mid: Decimal | None
    source: str | None
    sz_decimals: int | None
    alone: bool = False  # the follow copies this coin only: closing it ends the follow

    def size_text(self) -> str:
        return text.size(self.size, self.sz_decimals, signed=True)


async def held_positions(ask: Ask, on: str | None) -> list[Held]:
    """The positions of the owner's accounts (of account `on` when given) as the venue reports them now,
    each with the active follow whose tokens cover it."""
    followers = [await ask.follower(on)] if on is not None else await ask.followers()
    if not followers:
        raise NotFound("you have no follower account yet: /connect one first")
    service = ask.room.service
    plans = [
        (plan.follower, plan.source, settings_from_json(plan.settings))
        for plan in await service.ledger.current_plans()
        if plan.follower in followers and settings_from_json(plan.settings).active
    ]
    # One source at a time per coin (SPEC §2): the active follow whose tokens cover a coin copies it.
    states = await service.follower_states(followers)
    listed: dict[str, Instrument] = {}
    mids: dict[str, Decimal] = {}
    if service.default_venue is not None:
        listed = await venue_reads.instruments(service.default_venue)
        mids = await venue_reads.mids(service.default_venue)
    out: list[Held] = []
    for follower in followers:
        active = [(s, settings.config.filters) for f, s, settings in plans if f == follower]
        for position in sorted(states[follower].positions, key=lambda p: p.coin):
            if position.size == 0:
                continue
            coin = position.coin
            source, filters = next(((s, f) for s, f in active if f.covers(coin)), (None, None))
            alone = filters is not None and filters.include is not None and set(filters.include) <= {coin}
            decimals = listed[coin].sz_decimals if coin in listed else None
            out.append(Held(follower, coin, position.size, mids.get(coin), source, decimals, alone))
    return out


def _one(held: list[Held], coin: str) -> Held:
    """The position in `coin` to close, or a refusal that says which one and why."""
    found = [h for h in held if h.coin.upper() == coin.upper()]
    if not found:
        raise NotFound(f"you hold no {coin} position (/positions lists them)")
    if len({h.follower for h in found}) > 1:
        accounts = ", ".join(render.short(h.follower) for h in found)
        raise InvalidInput("account", f"several of your accounts hold {coin}", f"on=… one of {accounts}")
    one = found[0]
    if one.source is None:
        raise NotFound(
            f"{one.coin} on {render.short(one.follower)} is not copied from any source (the bot does not "
            "manage it): close it on the venue"
        )
    return one


async def _offer(ask: Ask, held: list[Held], on: str | None) -> None:
    managed = [h for h in held if h.source is not None][:MAX_OFFERED]
    if not managed:
        raise NotFound("nothing to close: none of your positions is copied from a source (/positions)")
    several = len({h.follower for h in managed}) > 1
    choices: list[Choice[Pending]] = [
        Choice(
            f"{h.coin} {h.size_text()}" + (f" on {render.short(h.follower)}" if several else ""),
            Picked("close", tuple(on_option(h.follower if several else on)), h.coin),
        )
        for h in managed
    ]
    choices.append(Choice("Cancel", None))
    markup = ask.room.choices.offer(ask.user_id, ask.chat_id, choices, columns=2)
    await ask.reply("/close: which position?", markup)


@command(
    "close",
    Access.CHANGE,
    "/close [coin] [on=<account>]",
    "close one mirrored position now (a reduce-only market order) and stop copying that coin from its "
    "source; asks to confirm. Without a coin: buttons",
    "/close ETH",
    ("forceexit", "fx"),
)
async def close(ask: Ask) -> None:
    positional, options = arguments(ask.args, 1, ("on",), "[coin] [on=<account>]")
    on = options.get("on")
    coin = inputs.token(positional[0], "coin") if positional else None  # refused before the venue is asked
    held = await held_positions(ask, on)
    if coin is None:
        await _offer(ask, held, on)
        return
    one = _one(held, coin)
    assert one.source is not None
    source, follower = one.source, one.follower
    value = "" if one.mid is None else f", about {text.usd(abs(one.size) * one.mid)}"
    what = f"CLOSE your {one.coin} position ({one.size_text()} {one.coin}{value}) on {render.short(follower)}"
    if one.alone:
        request = ChangeRequest(
            "follow.remove", follower, source, {"close": True}, f"close {one.coin}: unfollow {source}"
        )
        danger = (
            f"{what} with a reduce-only market order. {one.coin} is the only token copied from "
            f"{render.short(source)}, so this also unfollows it."
        )
    else:
        args = await token_change(ask, follower, source, "exclude", [one.coin])
        request = ChangeRequest(
            "follow.update",
            follower,
            source,
            {**args, "release": "close"},
            f"close {one.coin} on {render.short(follower)} and stop copying {one.coin} from {source}",
        )
        danger = (
            f"{what} with a reduce-only market order, and stop copying {one.coin} from "
            f"{render.short(source)} (its other tokens are still copied). To copy {one.coin} again: "
            f"/tokens {render.short(source)} include {one.coin}"
        )
    await submit(ask, request, danger=danger)
