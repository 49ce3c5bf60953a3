"""Choosing whom to follow: /inspect (a source's record) and /backtest (what copying it would have done
to your account), thin views over `bot.analytics` — the same calls as `mirrorbot inspect / backtest`.
Each answers with the text report (split under Telegram's limit) and its PNG chart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.analytics import backtest_inputs, backtest_source, inspect_source
from bot.domain import Venue
from bot.service import InvalidInput, VenueError, inputs
from bot.telegram.commands_follow import resolve_source
from bot.telegram.gate import Access, command
from bot.telegram.parse import arguments, is_number, percent, token_spec
from bot.telegram.room import Ask
from bot.telegram.send import MAX_CAPTION

BACKTEST_OPTIONS = ("days", "equity", "scaling", "scale", "source_equity")
ADDRESS_EXPECTED = inputs.ADDRESS_REF


def _venue(ask: Ask, what: str) -> Venue:
    reads = ask.room.service.default_venue
    if reads is None:
        raise VenueError(f"{what}: no venue URL is configured")
    return reads


async def _address_and_days(
    ask: Ask, positional: list[str], options: dict[str, str]
) -> tuple[str, str | None]:
    """The source to read: any full address, or one you follow named as /scale names it (a prefix or
    the short form replies show: one resolver, `resolve_source`)."""
    if not positional:
        raise InvalidInput("address", "missing", ADDRESS_EXPECTED)
    ref = inputs.address_ref(positional[0], "address")
    address = ref[0] if not ref[1] and len(ref[0]) == 42 else (await resolve_source(ask, positional[0]))[1]
    days = options.get("days")
    for word in positional[1:]:
        if days is None and word.isdigit():
            days = word
        else:
            raise InvalidInput("arguments", f"unexpected {inputs.shown(word)}", "see the usage below")
    return address, days


async def _send_report(ask: Ask, text: str, png: Callable[[], bytes], caption: str) -> None:
    await ask.reply(text)
    picture = await asyncio.to_thread(png)  # matplotlib: off the event loop
    await ask.bot.send_photo(ask.chat_id, picture, caption=caption[:MAX_CAPTION])


async def _audit(ask: Ask, action: str, details: dict[str, object]) -> None:
    await ask.room.service.ledger.audit(
        actor=ask.actor.name, channel=ask.actor.channel, action=action, details=details
    )


@command(
    "inspect",
    Access.READ,
    "/inspect <address> [days]",
    "a source's record over the last days (default 30): PnL, fees, win rate, drawdown, leverage; a chart",
    "/inspect 0x5e9e…a1b2 14",
)
async def inspect(ask: Ask) -> None:
    positional, options = arguments(ask.args, 2, ("days",))
    address, days = await _address_and_days(ask, positional, options)
    reads = _venue(ask, "inspect")
    report = await inspect_source(address, days=days, venue=reads, api_url=ask.room.config.api_url)
    await _audit(ask, "inspect", {"address": address, "days": days})
    await _send_report(ask, report.text(), report.png, f"Equity curve of {address}")


def _scales(text: str) -> dict[str, str]:
    """`ETH:50,BTC:200` → per-coin percentages (each range-checked)."""
    coins, scale = token_spec(text)
    missing = [c for c in coins or [] if c not in scale]
    if coins is None or missing:
        raise InvalidInput("scale", f"no percentage for {', '.join(missing) or '*'}", "e.g. ETH:50,BTC:200")
    return {inputs.token(c, "scale"): k for c, k in scale.items()}


@command(
    "backtest",
    Access.READ,
    "/backtest <address> [days] [equity=1000|10k] [scaling=100] [scale=ETH:50,BTC:200] [source_equity=…]",
    "what copying a source over the last days would have done to an account of `equity` USD (a replay "
    "through the bot's engine with lots, the $10 minimum, fees, slippage and the copy delay)",
    "/backtest 0x5e9e…a1b2 14 equity=2500 scaling=50",
    ("bt", "whatif"),
)
async def backtest(ask: Ask) -> None:
    positional, options = arguments(ask.args, 2, BACKTEST_OPTIONS)
    address, days = await _address_and_days(ask, positional, options)
    scaling = options.get("scaling")
    if scaling is not None and not is_number(scaling.removesuffix("%")):
        raise InvalidInput("scaling", f"not a percentage: {inputs.shown(scaling)}", "a number such as 50")
    checked = backtest_inputs(
        equity=inputs.suffixed(options.get("equity"), "equity"),  # 10k, 1.5m
        source_equity=inputs.suffixed(options.get("source_equity"), "source_equity"),
        scaling=None if scaling is None else percent(scaling, "scaling"),
        scale=_scales(options["scale"]) if "scale" in options else None,
    )
    reads = _venue(ask, "backtest")
    await ask.reply(
        f"Replaying {address} through the engine (follower equity {checked.follower_equity} USD)…"
    )
    report = await backtest_source(address, checked, days=days, venue=reads, api_url=ask.room.config.api_url)
    await _audit(ask, "backtest", {"address": address, "days": days, **options})
    await _send_report(ask, report.text(), report.png, f"Source vs follower equity, {address}")
