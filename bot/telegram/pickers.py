"""Token and percentage pickers: when a command leaves out its token (`/scale 0x… 50`, `/tokens 0x…
exclude`) or its percentage, buttons offer the likely answers and re-run the command with the one
pressed (a `Picked`, through the same gate and checks as a typed command).

Which tokens are offered: those the follow names (its include list, its per-token scalings), those the
source and the follower hold now, and for `include` the excluded ones; filtered by what the action can
mean (`include` offers only tokens not copied yet, `exclude` and scale only covered ones). With none of
those, the venue's first listed markets.
"""

from __future__ import annotations

from enum import StrEnum

from bot.service import NotFound, VenueError, venue_reads
from bot.service.settings import settings_from_json
from bot.telegram.choices import Choice
from bot.telegram.room import Ask, Pending, Picked
from strategies.config import ALL_TOKENS

MAX_TOKENS = 12
PERCENTS = ("25", "50", "75", "100", "150", "200")


class Purpose(StrEnum):
    SCALE = "scale"
    INCLUDE = "include"
    EXCLUDE = "exclude"
    ONLY = "only"  # the whole list: any token


async def _held(ask: Ask, addresses: list[str]) -> set[str]:
    reads = ask.room.service.default_venue
    if reads is None:
        return set()
    try:
        states = await venue_reads.account_states(reads, addresses)
    except VenueError:
        return set()  # the picker still offers the follow's own tokens
    return {p.coin for state in states.values() for p in state.positions if p.size != 0}


async def _listed(ask: Ask) -> list[str]:
    reads = ask.room.service.default_venue
    if reads is None:
        return []
    try:
        return list(await venue_reads.instruments(reads))[:MAX_TOKENS]
    except VenueError:
        return []


async def token_candidates(ask: Ask, follower: str, source: str, purpose: Purpose) -> list[str]:
    plan = await ask.room.service.ledger.current_plan(follower, source)
    if plan is None:
        raise NotFound(f"you do not follow {source}")
    config = settings_from_json(plan.settings).config
    filters = config.filters
    named = set(filters.include or ()) | {c for c in config.scaling if c != ALL_TOKENS}
    coins = named | await _held(ask, [source, follower])
    if purpose is Purpose.INCLUDE:  # only what is not copied yet: including a copied one changes nothing
        coins = {c for c in coins | set(filters.exclude) if not filters.covers(c)}
    elif purpose is not Purpose.ONLY:  # scaling or excluding a token not covered would change nothing
        coins = {c for c in coins if filters.covers(c)}
    ordered = sorted(coins)[:MAX_TOKENS]
    return ordered or [c for c in await _listed(ask) if _offered(purpose, filters.covers(c))]


def _offered(purpose: Purpose, covered: bool) -> bool:
    """Whether a listed market fits the picker: include offers what is not copied, scale and exclude
    what is, only anything."""
    if purpose is Purpose.ONLY:
        return True
    return covered is (purpose is not Purpose.INCLUDE)


async def offer_tokens(
    ask: Ask, follower: str, source: str, purpose: Purpose, picked: Picked, question: str
) -> None:
    """Ask which token; `picked` is the command to re-run (its `value` is replaced by the token)."""
    coins = await token_candidates(ask, follower, source, purpose)
    choices: list[Choice[Pending]] = [
        Choice(coin, Picked(picked.command, picked.args, coin, picked.at)) for coin in coins
    ]
    if purpose is Purpose.SCALE:
        choices.append(Choice("* (default)", Picked(picked.command, picked.args, ALL_TOKENS, picked.at)))
    choices.append(Choice("Cancel", None))
    hint = "" if coins else " (none to suggest: type the command with the token)"
    markup = ask.room.choices.offer(ask.user_id, ask.chat_id, choices, columns=4)
    await ask.reply(f"{question}{hint}", markup)


async def offer_percent(ask: Ask, picked: Picked, question: str) -> None:
    choices: list[Choice[Pending]] = [
        Choice(f"{k}%", Picked(picked.command, picked.args, k, picked.at)) for k in PERCENTS
    ]
    choices.append(Choice("Cancel", None))
    await ask.reply(question, ask.room.choices.offer(ask.user_id, ask.chat_id, choices, columns=3))
