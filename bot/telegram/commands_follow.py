"""Changing commands: /follow /unfollow /scale /copycurrent /tokens /limits /pause /resume /stop.
Each builds a ChangeRequest (one service call) and hands it to `changes.submit`."""

from __future__ import annotations

from bot.service import InvalidInput, NotFound, inputs, venue
from bot.service.approvals import ChangeRequest
from bot.service.control import limit_lines
from bot.service.settings import settings_from_json
from bot.service.views import FollowView
from bot.telegram import render
from bot.telegram.changes import submit
from bot.telegram.choices import Choice
from bot.telegram.gate import Access, command
from bot.telegram.parse import exceeds_100, is_number, on_off, percent, split_options, token_spec
from bot.telegram.pickers import Purpose, offer_percent, offer_tokens
from bot.telegram.render import short
from bot.telegram.room import Ask, Pending, Picked

MORE_RISK = "Scaling above 100% copies MORE than the source's own risk proportion."


async def check_tokens(ask: Ask, coins: list[str] | tuple[str, ...], field: str) -> None:
    """Refuse a coin the venue does not list before anything is proposed or confirmed."""
    info = ask.room.service.info
    if info is None or not coins:
        return
    listed = await venue.instruments(info)
    inputs.venue_tokens([inputs.token(c, field) for c in coins], listed, field)


async def active_follows(ask: Ask) -> list[tuple[str, str]]:
    """(follower, source) of the owner's active follows."""
    mine = set(await ask.followers())
    return [
        (plan.follower, plan.source)
        for plan in await ask.room.service.ledger.current_plans()
        if plan.follower in mine and settings_from_json(plan.settings).active
    ]


async def resolve_source(ask: Ask, name: str) -> tuple[str, str]:
    """An active follow of the owner, by the source's address or a unique prefix of it (≥ 6 chars)."""
    follows = await active_follows(ask)
    wanted = name.strip().lower()
    found = [(f, s) for f, s in follows if s == wanted or (len(wanted) >= 6 and s.startswith(wanted))]
    if len(found) == 1:
        return found[0]
    if not found:
        if wanted.startswith("0x") and len(wanted) == 42:
            inputs.address(wanted, "source")
            raise NotFound(f"you do not follow {wanted} (/status lists your follows)")
        raise InvalidInput(
            "source", f"no followed source matches {inputs.shown(name)}", "an address you follow"
        )
    raise InvalidInput("source", f"{name} matches several follows", ", ".join(s for _, s in found))


async def pick_source(ask: Ask, cmd: str, rest: list[str]) -> bool:
    """With no source named: the only follow, or a picker. Returns True when a picker was sent."""
    follows = await active_follows(ask)
    if not follows:
        raise NotFound("you follow no source yet: /follow <address>")
    if len(follows) == 1:
        ask.args = [follows[0][1], *rest]
        return False
    choices: list[Choice[Pending]] = [
        Choice(render.short(source), Picked(cmd, tuple(rest), source)) for _, source in follows
    ]
    choices.append(Choice("Cancel", None))
    await ask.reply(f"/{cmd}: which source?", ask.room.choices.offer(ask.user_id, ask.chat_id, choices))
    return True


@command(
    "follow",
    Access.CHANGE,
    "/follow <address> [tokens] [scaling%] [copy] [on=<account>]",
    "start copying a source (tokens: ETH,BTC or ETH:50,BTC:200 or *; copy = join its open positions)",
    "/follow 0x5e9e…a1b2 ETH:50,BTC 100",
    ("copy_trader",),
)
async def follow(ask: Ask) -> None:
    positional, options = split_options(ask.args)
    if not positional:
        raise InvalidInput("address", "missing", "the source wallet's address, 0x + 40 hex digits")
    source = inputs.address(positional[0], "source")
    tokens: list[str] | None = None
    scale: dict[str, str] = {}
    scaling, copy = "100", False
    for word in positional[1:]:
        if word.lower() in ("copy", "copycurrent", "current"):
            copy = True
        elif is_number(word):
            scaling = percent(word, "scaling")
        else:
            tokens, scale = token_spec(word)
    await check_tokens(ask, [*(tokens or []), *scale], "tokens")
    follower = await ask.follower(options.get("on"))
    summary = (
        f"follow {source} for {render.short(follower)}: tokens {','.join(tokens) if tokens else 'all'}, "
    )
    summary += f"scaling {scaling}%" + "".join(f", {c} {k}%" for c, k in scale.items())
    request = ChangeRequest(
        "follow.add",
        follower,
        source,
        {"tokens": tokens, "scaling": scaling, "scale": scale, "copy_current": copy},
        summary,
    )
    await submit(ask, request, danger=MORE_RISK if exceeds_100([scaling, *scale.values()]) else None)


@command(
    "unfollow",
    Access.CHANGE,
    "/unfollow <address> [close|keep]",
    "stop copying a source; close its mirrored positions or keep them (no longer managed)",
    "/unfollow 0x5e9e…a1b2 close",
)
async def unfollow(ask: Ask) -> None:
    if not ask.args and await pick_source(ask, "unfollow", []):
        return
    follower, source = await resolve_source(ask, ask.args[0])
    base = ChangeRequest("follow.remove", follower, source, {}, f"unfollow {source}")
    if len(ask.args) < 2:
        choices: list[Choice[Pending]] = [
            Choice("Close positions", base.with_args(close=True)),
            Choice("Keep positions", base.with_args(close=False)),
            Choice("Cancel", None),
        ]
        markup = ask.room.choices.offer(ask.user_id, ask.chat_id, choices, columns=3)
        await ask.reply(f"Unfollow {source}: close the positions copied from it, or keep them?", markup)
        return
    choice = ask.args[1].lower()
    if choice not in ("close", "keep"):
        raise InvalidInput("choice", f"unknown {inputs.shown(ask.args[1])}", "close, keep")
    close = choice == "close"
    request = ChangeRequest(
        "follow.remove", follower, source, {"close": close}, f"unfollow {source} and {choice} its positions"
    )
    await submit(
        ask, request, danger="This closes every position copied from this source." if close else None
    )


@command(
    "scale",
    Access.CHANGE,
    "/scale <address> <token|*> <percent>",
    "set the scaling k for one token of a follow (or * for its default); applies at the next open. "
    "Leave out the source, the token or the percentage to pick it from buttons",
    "/scale 0x5e9e…a1b2 ETH 50",
    ("scaling",),
)
async def scale(ask: Ask) -> None:
    no_source = not ask.args or not ask.args[0].lower().startswith("0x")  # `/scale ETH 50`, `/scale`
    if no_source and len(ask.args) <= 2 and await pick_source(ask, "scale", ask.args):
        return
    if (len(ask.args) == 2 and is_number(ask.args[1])) or len(ask.args) == 1:  # the token left out
        follower, source = await resolve_source(ask, ask.args[0])
        given = [percent(k, "percent") for k in ask.args[1:]]  # refused before anything is offered
        picked = Picked("scale", (source, *given), "", at=1)
        await offer_tokens(
            ask, follower, source, Purpose.SCALE, picked, f"/scale {short(source)}: which token?"
        )
        return
    if len(ask.args) == 2:  # the percentage left out
        _, source = await resolve_source(ask, ask.args[0])
        if ask.args[1] != "*":
            await check_tokens(ask, [ask.args[1]], "token")
        picked = Picked("scale", (source, ask.args[1]), "", at=2)
        await offer_percent(ask, picked, f"/scale {short(source)} {ask.args[1]}: which percentage?")
        return
    follower, source = await resolve_source(ask, ask.args[0])
    coin, k = ask.args[1], percent(ask.args[2], "percent")
    args: dict[str, object]
    if coin == "*":
        args = {"scaling": k}
    else:
        await check_tokens(ask, [coin], "token")
        args = {"scale": {coin: k}}
    request = ChangeRequest("follow.update", follower, source, args, f"scale {coin} to {k}% for {source}")
    await submit(ask, request, danger=MORE_RISK if exceeds_100([k]) else None)


@command(
    "copycurrent",
    Access.CHANGE,
    "/copycurrent <address> on|off",
    "join (on) or ignore (off) the positions a source already holds when the follow starts",
    "/copycurrent 0x5e9e…a1b2 on",
    ("cc",),
)
async def copycurrent(ask: Ask) -> None:
    if (
        len(ask.args) == 1
        and ask.args[0].lower() in ("on", "off")
        and await pick_source(ask, "copycurrent", ask.args)
    ):
        return
    if len(ask.args) < 2:
        raise InvalidInput("arguments", "expected a source and on or off")
    follower, source = await resolve_source(ask, ask.args[0])
    value = on_off(ask.args[1], "copy current")
    request = ChangeRequest(
        "follow.update",
        follower,
        source,
        {"copy_current": value},
        f"copy current {'on' if value else 'off'} for {source}",
    )
    await submit(ask, request)


@command(
    "tokens",
    Access.CHANGE,
    "/tokens <address> [include ETH,BTC | exclude SOL | all]",
    "show or change which tokens of a source are copied (leave out the coins to pick one from buttons)",
    "/tokens 0x5e9e…a1b2 exclude DOGE",
)
async def tokens(ask: Ask) -> None:
    if not ask.args and await pick_source(ask, "tokens", []):
        return
    follower, source = await resolve_source(ask, ask.args[0])
    if len(ask.args) == 1:
        plan = await ask.room.service.ledger.current_plan(follower, source)
        assert plan is not None
        choices: list[Choice[Pending]] = [
            Choice(label, Picked("tokens", (source,), mode, at=1))
            for label, mode in (("Include…", "include"), ("Exclude…", "exclude"), ("All tokens", "all"))
        ]
        markup = ask.room.choices.offer(ask.user_id, ask.chat_id, [*choices, Choice("Cancel", None)])
        await ask.reply(f"Tokens copied from {source}: {FollowView.of(plan).tokens}", markup)
        return
    mode = ask.args[1].lower()
    if mode in ("include", "only", "exclude") and len(ask.args) == 2:  # the tokens left out
        purpose = Purpose.EXCLUDE if mode == "exclude" else Purpose.INCLUDE
        picked = Picked("tokens", (source, mode), "", at=2)
        await offer_tokens(
            ask, follower, source, purpose, picked, f"/tokens {short(source)} {mode}: which token?"
        )
        return
    args: dict[str, object]
    if mode == "all":
        args = {"tokens": "*", "exclude": None}
    elif mode in ("include", "only", "exclude") and len(ask.args) >= 3:
        coins = [c for c in ",".join(ask.args[2:]).split(",") if c.strip()]
        await check_tokens(ask, coins, mode)
        args = {"exclude": coins} if mode == "exclude" else {"tokens": coins}
    else:
        raise InvalidInput(
            "mode", f"unknown {inputs.shown(ask.args[1])}", "include <coins>, exclude <coins>, all"
        )
    request = ChangeRequest(
        "follow.update", follower, source, args, f"tokens of {source}: {' '.join(ask.args[1:])}"
    )
    await submit(ask, request)


@command(
    "limits",
    Access.CHANGE,
    "/limits <address> [max_notional_token=5000] [max_leverage=…] [daily_loss_limit=0.05] "
    "[max_drawdown=0.2] [max_drawdown_action=keep] [equity_floor=500] [source_leverage_cap=20] … "
    "(off removes a limit)",
    "show or set a follow's risk limits; loosening one asks for a confirmation",
    "/limits 0x5e9e…a1b2 max_notional_token=2500 max_leverage=5",
)
async def limits(ask: Ask) -> None:
    positional, options = split_options(ask.args)
    if not positional:
        ask.args = positional
        if await pick_source(ask, "limits", [f"{k}={v}" for k, v in options.items()]):
            return
        positional, options = split_options(ask.args)
    follower, source = await resolve_source(ask, positional[0])
    control = ask.room.control
    current = await control.limits(ask.actor, follower, source)
    if not options:
        shown = "\n".join(f"  {line}" for line in limit_lines(current))
        await ask.reply(f"Limits of {source}:\n{shown}\nChange: /limits {render.short(source)} key=value")
        return
    changes = control.parse_limits(options)
    raised = control.raised(current, changes)
    text = ", ".join(f"{k}={'off' if v is None else v}" for k, v in changes.items())
    args = {k: None if v is None else str(v) for k, v in changes.items()}
    request = ChangeRequest("follow.update", follower, source, args, f"limits of {source}: {text}")
    loosened = ", ".join(raised)
    danger = f"This LOOSENS {loosened} (a cap raised, a floor lowered or a limit off)." if raised else None
    await submit(ask, request, danger=danger)


async def _control(ask: Ask, action: str) -> None:
    name = ask.args[0] if ask.args and ask.args[0].lower() != "all" else None
    followers = [await ask.follower(name)] if name else await ask.followers()
    if not followers:
        raise NotFound("you have no follower account yet: /connect")
    names = ", ".join(render.short(f) for f in followers)
    request = ChangeRequest(
        f"control.{action}", followers[0], None, {"followers": followers}, f"{action} {names}"
    )
    danger = None
    if action == "stop":
        danger = f"STOP: cancel our open orders, CLOSE every mirrored position and stop copying for {names}."
    await submit(ask, request, danger=danger)


@command(
    "pause",
    Access.CHANGE,
    "/pause [account|all]",
    "no new exposure; reductions and closes still mirror",
    "/pause",
)
async def pause(ask: Ask) -> None:
    await _control(ask, "pause")


@command(
    "resume", Access.CHANGE, "/resume [account|all]", "undo /pause (after /stop, /follow again)", "/resume"
)
async def resume(ask: Ask) -> None:
    await _control(ask, "resume")


@command(
    "stop",
    Access.CHANGE,
    "/stop [account|all]",
    "the kill switch: cancel our orders, close mirrored positions, stop copying (asks to confirm)",
    "/stop",
    ("kill",),
)
async def stop(ask: Ask) -> None:
    await _control(ask, "stop")
