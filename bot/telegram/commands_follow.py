"""Changing commands: /follow /unfollow /scale /copycurrent /tokens /limits /pause /resume /stop.
Each builds a ChangeRequest (one service call) and hands it to `changes.submit`."""

from __future__ import annotations

from bot.service import InvalidInput, NotFound, inputs, venue_reads
from bot.service.approvals import ChangeRequest
from bot.service.owner import limit_lines
from bot.service.settings import settings_from_json, shown_setting, unit_doubts
from bot.service.views import FollowView
from bot.telegram import render
from bot.telegram.changes import submit
from bot.telegram.choices import Choice
from bot.telegram.gate import Access, command
from bot.telegram.parse import ON_OFF, arguments, exceeds_100, is_number, on_off, percent, token_spec
from bot.telegram.pickers import Purpose, offer_percent, offer_tokens
from bot.telegram.render import short
from bot.telegram.room import Ask, Pending, Picked

MORE_RISK = "Scaling above 100% copies MORE than the source's own risk proportion."
COPY_WORDS = ("copy", "copycurrent", "current")
MAX_COIN_WORDS = 50  # `/tokens 0x… include ETH, BTC, SOL` may spread its coins over words


async def check_tokens(ask: Ask, coins: list[str] | tuple[str, ...], field: str) -> None:
    """Refuse a coin the venue does not list before anything is proposed or confirmed."""
    reads = ask.room.service.default_venue
    if reads is None or not coins:
        return
    listed = await venue_reads.instruments(reads)
    inputs.venue_tokens([inputs.token(c, field) for c in coins], listed, field)


async def active_follows(ask: Ask, on: str | None = None) -> list[tuple[str, str]]:
    """(follower, source) of the owner's active follows; with `on`, of that account only (one the
    owner does not have is refused)."""
    mine = {await ask.follower(on)} if on is not None else set(await ask.followers())
    return [
        (plan.follower, plan.source)
        for plan in await ask.room.service.ledger.current_plans()
        if plan.follower in mine and settings_from_json(plan.settings).active
    ]


async def resolve_source(ask: Ask, name: str, on: str | None = None) -> tuple[str, str]:
    """An active follow of the owner (of account `on` when given), by the source's address, a unique
    prefix of it or the short form replies show (`inputs.address_ref`: the one way sources are named)."""
    follows = await active_follows(ask, on)
    ref = inputs.address_ref(name, "source")
    found = [(f, s) for f, s in follows if inputs.refers_to(ref, s)]
    if len(found) == 1:
        return found[0]
    if not found:
        if not ref[1] and len(ref[0]) == 42:
            raise NotFound(f"you do not follow {ref[0]} (/status lists your follows)")
        raise InvalidInput(
            "source", f"no followed source matches {inputs.shown(name)}", "an address you follow"
        )
    if len({f for f, _ in found}) > 1:  # one source followed by several of the owner's accounts
        accounts = ", ".join(render.short(f) for f, _ in found)
        raise InvalidInput(
            "account", f"several of your accounts follow {found[0][1]}", f"on=… one of {accounts}"
        )
    raise InvalidInput(
        "source", f"{inputs.shown(name)} matches several follows", ", ".join(s for _, s in found)
    )


async def unknown_source(ask: Ask, source: str) -> str | None:
    """A warning when the venue has never seen `source` (a typo, most often): following it asks first."""
    reads = ask.room.service.default_venue
    if reads is None or not await venue_reads.unknown_account(reads, source):
        return None
    return f"The venue has no account {short(source)} (never funded or traded): check the address."


def on_option(on: str | None) -> list[str]:
    """The `on=` option to carry into a re-run command (a picker's answer)."""
    return [] if on is None else [f"on={on}"]


async def pick_source(ask: Ask, cmd: str, rest: list[str], on: str | None) -> tuple[str, str] | None:
    """With no source named: the only follow, or a picker (then None). `rest` is the rest of the command
    line, to re-run it with the source picked."""
    follows = await active_follows(ask, on)
    if not follows:
        raise NotFound("you follow no source yet: /follow <address>")
    if len(follows) == 1:
        return follows[0]
    several = len({f for f, _ in follows}) > 1 and on is None
    choices: list[Choice[Pending]] = [
        Choice(
            f"{render.short(source)} on {render.short(follower)}" if several else render.short(source),
            Picked(cmd, (*rest, *on_option(on if not several else follower)), source),
        )
        for follower, source in follows
    ]
    choices.append(Choice("Cancel", None))
    await ask.reply(f"/{cmd}: which source?", ask.room.choices.offer(ask.user_id, ask.chat_id, choices))
    return None


async def named_follow(
    ask: Ask, cmd: str, positional: list[str], on: str | None, *, pick_when: bool
) -> tuple[str, str, list[str]] | None:
    """(follower, source, the remaining positional words) of the follow a command names first; with
    `pick_when` (no source named) the only follow or a picker (None: a picker was sent)."""
    if pick_when:
        picked = await pick_source(ask, cmd, [*positional, *on_option(on)], on)
        return None if picked is None else (*picked, positional)
    follower, source = await resolve_source(ask, positional[0], on)
    return follower, source, positional[1:]


@command(
    "follow",
    Access.CHANGE,
    "/follow <address> [tokens] [scaling%] [copy] [on=<account>]",
    "start copying a source (tokens: ETH,BTC or ETH:50,BTC:200 or *; copy = join its open positions)",
    "/follow 0x5e9e…a1b2 ETH:50,BTC 100",
    ("copy_trader",),
)
async def follow(ask: Ask) -> None:
    positional, options = arguments(ask.args, 4, ("on",))
    if not positional:
        raise InvalidInput("address", "missing", "the source wallet's address, 0x + 40 hex digits")
    source = inputs.address(positional[0], "source")
    tokens: list[str] | None = None
    scale: dict[str, str] = {}
    scaling, copy = "100", False
    seen: set[str] = set()
    for word in positional[1:]:
        kind = "copy" if word.lower() in COPY_WORDS else "scaling" if is_number(word) else "tokens"
        if kind in seen:
            raise InvalidInput(
                kind, f"given twice: {inputs.shown(word)}", "each of tokens, scaling%, copy once"
            )
        seen.add(kind)
        if kind == "copy":
            copy = True
        elif kind == "scaling":
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
    warnings = [
        await unknown_source(ask, source),
        MORE_RISK if exceeds_100([scaling, *scale.values()]) else None,
    ]
    await submit(ask, request, danger="\n".join(w for w in warnings if w) or None)


@command(
    "unfollow",
    Access.CHANGE,
    "/unfollow <address> [close|keep] [on=<account>]",
    "stop copying a source; close its mirrored positions or keep them (no longer managed)",
    "/unfollow 0x5e9e…a1b2 close",
)
async def unfollow(ask: Ask) -> None:
    positional, options = arguments(ask.args, 2, ("on",), "<address> [close|keep] [on=<account>]")
    named = await named_follow(ask, "unfollow", positional, options.get("on"), pick_when=not positional)
    if named is None:
        return
    follower, source, rest = named
    base = ChangeRequest("follow.remove", follower, source, {}, f"unfollow {source}")
    if not rest:
        choices: list[Choice[Pending]] = [
            Choice("Close positions", base.with_args(close=True)),
            Choice("Keep positions", base.with_args(close=False)),
            Choice("Cancel", None),
        ]
        markup = ask.room.choices.offer(ask.user_id, ask.chat_id, choices, columns=3)
        await ask.reply(f"Unfollow {source}: close the positions copied from it, or keep them?", markup)
        return
    choice = rest[0].lower()
    if choice not in ("close", "keep"):
        raise InvalidInput("choice", f"unknown {inputs.shown(rest[0])}", "close, keep")
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
    "/scale <address> <token|*> <percent> [on=<account>]",
    "set the scaling k in percent (50 = half the source's risk proportion) for one token of a follow "
    "(or * for its default); applies at the next open. "
    "Leave out the source, the token or the percentage to pick it from buttons",
    "/scale 0x5e9e…a1b2 ETH 50",
    ("scaling",),
)
async def scale(ask: Ask) -> None:
    positional, options = arguments(ask.args, 3, ("on",), "<address> <token|*> <percent> [on=<account>]")
    on = options.get("on")
    no_source = not positional or not positional[0].lower().startswith("0x")  # `/scale ETH 50`, `/scale`
    named = await named_follow(ask, "scale", positional, on, pick_when=no_source and len(positional) <= 2)
    if named is None:
        return
    follower, source, rest = named
    keep = tuple(on_option(on))
    if not rest or (len(rest) == 1 and is_number(rest[0])):  # the token left out
        given = [percent(k, "percent") for k in rest]  # refused before anything is offered
        picked = Picked("scale", (source, *given, *keep), "", at=1)
        await offer_tokens(
            ask, follower, source, Purpose.SCALE, picked, f"/scale {short(source)}: which token?"
        )
        return
    if len(rest) == 1:  # the percentage left out
        if rest[0] != "*":
            await check_tokens(ask, [rest[0]], "token")
        picked = Picked("scale", (source, rest[0], *keep), "", at=2)
        await offer_percent(ask, picked, f"/scale {short(source)} {rest[0]}: which percentage?")
        return
    coin, k = rest[0], percent(rest[1], "percent")
    args: dict[str, object]
    if coin == "*":
        args = {"scaling": k}
    else:
        await check_tokens(ask, [coin], "token")
        args = {"scale": {coin: k}}
    request = ChangeRequest("follow.update", follower, source, args, f"scale {coin} to {k} % for {source}")
    warnings = [*unit_doubts(args), *([MORE_RISK] if exceeds_100([k]) else [])]
    await submit(ask, request, danger="\n".join(warnings) or None)


@command(
    "copycurrent",
    Access.CHANGE,
    "/copycurrent <address> on|off [on=<account>]",
    "join (on) or ignore (off) the positions a source already holds when the follow starts",
    "/copycurrent 0x5e9e…a1b2 on",
    ("cc",),
)
async def copycurrent(ask: Ask) -> None:
    positional, options = arguments(ask.args, 2, ("on",), "<address> on|off [on=<account>]")
    bare = len(positional) == 1 and positional[0].lower() in ON_OFF
    named = await named_follow(ask, "copycurrent", positional, options.get("on"), pick_when=bare)
    if named is None:
        return
    follower, source, rest = named
    if len(rest) != 1:
        raise InvalidInput("arguments", "expected a source and on or off", "<address> on|off")
    value = on_off(rest[0], "copy current")
    request = ChangeRequest(
        "follow.update",
        follower,
        source,
        {"copy_current": value},
        f"copy current {'on' if value else 'off'} for {source}",
    )
    await submit(ask, request)


TOKENS_FORM = "<address> [include <coins> | exclude <coins> | all] [on=<account>]"


TOKEN_MODES = "include <coins> (adds), exclude <coins> (removes), only <coins> (sets the list), all"


async def token_change(
    ask: Ask, follower: str, source: str, mode: str, coins: list[str]
) -> dict[str, object]:
    """The follow update for `include` (add to what is copied), `exclude` (stop copying) or `only`
    (copy exactly these), from the follow's current filters."""
    if mode == "only":
        return {"tokens": coins, "exclude": None}
    plan = await ask.room.service.ledger.current_plan(follower, source)
    assert plan is not None  # named_follow found it active
    filters = settings_from_json(plan.settings).config.filters
    include, exclude = set(filters.include or ()), set(filters.exclude)
    if mode == "include":
        args: dict[str, object] = {"exclude": sorted(exclude - set(coins)) or None}
        if filters.include is not None:
            args["tokens"] = sorted(include | set(coins))
        return args
    if filters.include is not None and include - set(coins):  # an include list: take them off it
        return {"tokens": sorted(include - set(coins))}
    return {"exclude": sorted(exclude | set(coins))}


@command(
    "tokens",
    Access.CHANGE,
    "/tokens <address> [include ETH,BTC | exclude SOL | only ETH,BTC | all] [on=<account>]",
    "show or change which tokens of a source are copied: include adds, exclude removes, only sets the "
    "list (leave out the coins to pick one from buttons)",
    "/tokens 0x5e9e…a1b2 exclude DOGE",
)
async def tokens(ask: Ask) -> None:
    positional, options = arguments(ask.args, MAX_COIN_WORDS + 2, ("on",), TOKENS_FORM)
    on = options.get("on")
    named = await named_follow(ask, "tokens", positional, on, pick_when=not positional)
    if named is None:
        return
    follower, source, rest = named
    keep = tuple(on_option(on))
    if not rest:
        plan = await ask.room.service.ledger.current_plan(follower, source)
        assert plan is not None
        choices: list[Choice[Pending]] = [
            Choice(label, Picked("tokens", (source, *keep), mode, at=1))
            for label, mode in (("Include…", "include"), ("Exclude…", "exclude"), ("All tokens", "all"))
        ]
        markup = ask.room.choices.offer(ask.user_id, ask.chat_id, [*choices, Choice("Cancel", None)])
        await ask.reply(f"Tokens copied from {source}: {FollowView.of(plan).tokens}", markup)
        return
    mode = rest[0].lower()
    if mode in ("include", "only", "exclude") and len(rest) == 1:  # the tokens left out
        purpose = Purpose(mode)
        picked = Picked("tokens", (source, mode, *keep), "", at=2)
        await offer_tokens(
            ask, follower, source, purpose, picked, f"/tokens {short(source)} {mode}: which token?"
        )
        return
    args: dict[str, object]
    if mode == "all" and len(rest) == 1:
        args = {"tokens": "*", "exclude": None}
    elif mode in ("include", "only", "exclude"):
        coins = [c for c in ",".join(rest[1:]).split(",") if c.strip()]
        if not coins:
            raise InvalidInput("tokens", "empty list of coins", "e.g. ETH,BTC")
        await check_tokens(ask, coins, mode)
        args = await token_change(ask, follower, source, mode, [inputs.token(c, mode) for c in coins])
    else:
        raise InvalidInput("mode", f"unknown {inputs.shown(' '.join(rest))}", TOKEN_MODES)
    request = ChangeRequest("follow.update", follower, source, args, f"tokens of {source}: {' '.join(rest)}")
    await submit(ask, request)


LIMITS_FORM = "<address> [key=value …] [on=<account>], e.g. max_leverage=5 (off removes one)"


@command(
    "limits",
    Access.CHANGE,
    "/limits <address> [max_notional_token=5000] [max_leverage=…] [daily_loss_limit=0.05] "
    "[max_drawdown=0.2] [max_drawdown_action=keep] [equity_floor=500] [source_leverage_cap=20] "
    "[stop_loss_pct=5] … [on=<account>] (off removes a limit)",
    "show or set a follow's risk limits; _pct keys are percent (5 = 5 %), daily_loss_limit, "
    "max_drawdown, max_price_deviation and slippage_cap are fractions (0.05 = 5 %); loosening one or "
    "a value that looks like the other unit asks for a confirmation",
    "/limits 0x5e9e…a1b2 max_notional_token=2500 max_leverage=5",
)
async def limits(ask: Ask) -> None:
    positional, options = arguments(ask.args, 1, None, LIMITS_FORM)  # unknown keys: parse_limits
    on = options.pop("on", None)
    if positional:
        follower, source = await resolve_source(ask, positional[0], on)
    else:
        rest = [f"{k}={v}" for k, v in options.items()]
        picked = await pick_source(ask, "limits", [*rest, *on_option(on)], on)
        if picked is None:
            return
        follower, source = picked
    control = ask.room.control
    current = await control.limits(ask.actor, follower, source)
    if not options:
        shown = "\n".join(f"  {line}" for line in limit_lines(current))
        await ask.reply(
            f"Limits of {source}:\n{shown}\nChange: /limits {render.short(source)} max_leverage=5"
        )
        return
    changes = control.parse_limits(options)
    raised = control.raised(current, changes)
    text = ", ".join(f"{k} {shown_setting(k, v)}" for k, v in changes.items())
    args = {k: None if v is None else str(v) for k, v in changes.items()}
    request = ChangeRequest("follow.update", follower, source, args, f"limits of {source}: {text}")
    warnings = unit_doubts(changes)  # a value that looks like the other unit (issue #19)
    if raised:
        loosened = ", ".join(raised)
        warnings.append(f"This LOOSENS {loosened} (a cap raised, a floor lowered or a limit off).")
    await submit(ask, request, danger="\n".join(warnings) or None)


async def _control(ask: Ask, action: str) -> None:
    positional, options = arguments(ask.args, 1, ("on",), "[account|all] (or on=<account>)")
    if positional and "on" in options:
        raise InvalidInput("account", "named twice", "[account|all] or on=<account>")
    name = positional[0] if positional else options.get("on")
    name = None if name is not None and name.lower() == "all" else name
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
