"""/strategy: show or set how a follow sizes (SPEC §3, §9) and its out-of-sync policy (§6), like
`mirrorbot follow update --strategy … --set KEY=VALUE`. Every value is checked here against its
documented range before anything is asked (docs/inputs.md); the whole settings document is checked again
by the service, which refuses e.g. a trigger band narrower than the no-trade band, naming both."""

from __future__ import annotations

from bot.service import InvalidInput, inputs
from bot.service.approvals import ChangeRequest
from bot.service.owner import STRATEGY_KEYS
from bot.service.settings import OUT_OF_SYNC
from bot.service.sizing_settings import SIZING_RANGES, STRATEGIES
from bot.telegram import render
from bot.telegram.changes import submit
from bot.telegram.commands_follow import on_option, pick_source, resolve_source
from bot.telegram.gate import Access, command
from bot.telegram.parse import arguments
from bot.telegram.room import Ask

FORM = (
    "<address> [mirror|allocation|fixed_ratio|fixed_notional] [rebalance_band_pct=1] "
    "[rebalance_trigger_pct=5] [rebalance_every=900] [ratio=…] [notional=…] [out_of_sync=rebalance] "
    "[on=<account>]"
)
SETTABLE = tuple(key for key in STRATEGY_KEYS if key != "strategy")


def _changes(words: list[str], options: dict[str, str]) -> dict[str, str]:
    """The strategy word and the key=value options, each checked against its accepted values."""
    out: dict[str, str] = {}
    if words:
        out["strategy"] = inputs.choice(words[0].lower(), "strategy", STRATEGIES)
    for key, value in options.items():
        if key == "out_of_sync":
            out[key] = inputs.choice(value.lower(), key, OUT_OF_SYNC)
        else:  # `arguments` let through only SETTABLE keys
            SIZING_RANGES[key].read(value, key)
            out[key] = value
    return out


@command(
    "strategy",
    Access.CHANGE,
    f"/strategy {FORM}",
    "show or set how a follow sizes: mirror, allocation, fixed_ratio or fixed_notional",
    "/strategy 0x5e9e…a1b2 allocation rebalance_band_pct=2",
    detail="mirror (the default); allocation: the source's current weights, traded at rebalance ticks every "
    "rebalance_every seconds when a pair drifts past the no-trade band (rebalance_band_pct % of your "
    "equity), or at once past rebalance_trigger_pct %; closes and flips at once. Also the out-of-sync "
    "policy (catch_up, restrict, pause, rebalance).",
)
async def strategy(ask: Ask) -> None:
    positional, options = arguments(ask.args, 2, (*SETTABLE, "on"), FORM)
    on = options.pop("on", None)
    if positional and positional[0].lower().startswith("0x"):
        follower, source = await resolve_source(ask, positional[0], on)
        words = positional[1:]
    else:
        if len(positional) > 1:
            raise InvalidInput("arguments", f"unexpected {inputs.shown(positional[1])}", FORM)
        rest = [*positional, *(f"{k}={v}" for k, v in options.items())]
        picked = await pick_source(ask, "strategy", [*rest, *on_option(on)], on)
        if picked is None:
            return
        (follower, source), words = picked, positional
    changes = _changes(words, options)
    if not changes:
        current = await ask.room.control.strategy(ask.actor, follower, source)
        shown = "\n".join(f"  {key}: {value}" for key, value in current.items() if value is not None)
        await ask.reply(
            f"Strategy of {source}:\n{shown}\nChange: /strategy {render.short(source)} allocation "
            "rebalance_band_pct=1"
        )
        return
    text = ", ".join(f"{key} {value}" for key, value in changes.items())
    request = ChangeRequest("follow.update", follower, source, changes, f"strategy of {source}: {text}")
    await submit(ask, request)
