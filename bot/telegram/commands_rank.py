"""/rank: candidate sources side by side (docs/analytics.md, "rank"), a thin view over the service call
`mirrorbot rank` makes: the table with its weights, then the score chart as a PNG. Descriptive, not
advice: the reply says so."""

from __future__ import annotations

from bot.analytics.rank_report import rank_inputs, rank_sources
from bot.service import InvalidInput, inputs
from bot.telegram.commands_analytics import _address_and_days, _audit, _send_report, _venue
from bot.telegram.gate import Access, command
from bot.telegram.parse import arguments
from bot.telegram.room import Ask

RANK_OPTIONS = ("days", "equity")


@command(
    "rank",
    Access.READ,
    "/rank <address> <address> … [days] [equity=1000|10k]",
    "2 to 10 sources side by side over the last days (default 30): return, drawdowns, timing, costs, "
    "copyability at your equity and a weighted score, then a chart (descriptive, not advice)",
    "/rank 0x5e9e…a1b2 0x77c1…09fe 14 equity=2500",
)
async def rank(ask: Ask) -> None:
    low, high = inputs.RANK_SOURCES
    positional, options = arguments(ask.args, high + 1, RANK_OPTIONS)
    days = options.get("days")
    words = []
    for word in positional:
        if days is None and word.isascii() and word.isdigit():
            days = word  # the first bare number is the window, as /inspect takes it
        else:
            words.append(word)
    if not low <= len(words) <= high:
        raise InvalidInput("addresses", f"{len(words)} given", f"{low} to {high} sources")
    # each word an address, or a source you follow named as /inspect names it (one resolver)
    addresses = [(await _address_and_days(ask, [word], {}))[0] for word in words]
    checked = rank_inputs(addresses, days=days, equity=inputs.suffixed(options.get("equity"), "equity"))
    report = await rank_sources(checked, venue=_venue(ask, "rank"), api_url=ask.room.config.api_url)
    await _audit(ask, "rank", {"addresses": list(checked.addresses), "days": checked.days, **options})
    await _send_report(ask, report.text(), report.png, "Sources side by side: composite score (not advice)")
