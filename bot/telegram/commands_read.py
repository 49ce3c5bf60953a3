"""Reading commands: /status /positions /pnl /history /why /inspect /alerts /health, all restricted to
the accounts of the chat's owner (the user, or the group)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.service import InvalidInput, NotFound, VenueError, inputs, runner_health, venue_reads
from bot.service.equity import EquityPoint, EquityRole, equity_history
from bot.service.owner import ALERT_KINDS, ALERT_MODES
from bot.service.views import PositionRow, PositionsView
from bot.telegram import render, text, why_text
from bot.telegram.gate import Access, command
from bot.telegram.markets import size_decimals
from bot.telegram.parse import count
from bot.telegram.room import Ask
from bot.telegram.send import MAX_CAPTION

REFRESH = "rf:"
AMBIGUOUS_SHOWN = 6  # candidates listed for an ambiguous short id
CANDIDATE_ID = 16  # hex digits of each candidate's id: unique among them in practice
DEFAULT_EQUITY_DAYS = 30
MS_PER_DAY = 86_400_000


def refresh_button(what: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("↻ Refresh", callback_data=f"{REFRESH}{what}")]])


async def health_map(ask: Ask) -> dict[str, Any]:
    """What the bot knows about its own health: the pipeline, the venue, the last source event."""
    room = ask.room
    runner = room.runner
    out: dict[str, Any] = {
        "pipeline": None
        if runner is None
        else ("stopped" if runner.stopped.is_set() else "running" if runner.ready.is_set() else "starting"),
        "last source event": render.when(await room.service.ledger.last_leader_event_time()),
    }
    mine = set(await ask.followers())
    if runner is not None and getattr(runner, "copier", None) is not None:
        off = sorted(
            c for addr, desk in runner.copier.desks.items() if addr in mine for c in desk.out_of_sync
        )
        out["out of sync"] = ", ".join(off) or "none"
    # What the runner persisted (it may run in another process): bot/pipeline/health.py.
    health = await runner_health.runner_health(room.service.ledger, datetime.now(UTC))
    out["runner"] = runner_health.runner_line(health["runner"])
    out["ready"] = runner_health.readiness_line(health["readiness"])
    last = health["last_reconcile"]
    out["last reconcile"] = None if last is None else f"{last['at']} ({last['orders']} order(s))"
    for key, name in (("sync_score", "sync score"), ("dead_man_switch", "dead-man switch until")):
        values = {a: v for a, v in (health[key] or {}).items() if a in mine}
        out[name] = ", ".join(f"{render.short(a)} {v}" for a, v in values.items()) or None
    out["alerts (1h)"] = ", ".join(f"{k} {n}" for k, n in own_alerts(health, mine, ask).items()) or "none"
    return out


def own_alerts(health: Mapping[str, Any], mine: set[str], ask: Ask) -> dict[str, int]:
    """The last hour's alert counts of the chat's own accounts (never another owner's); in a bot
    admin's private chat also those that concern no account (pipeline failures go to the admins)."""
    counts: Counter[str] = Counter()
    wanted = mine | ({""} if ask.private and ask.room.tenancy.is_admin(ask.user_id) else set())
    for follower, kinds in (health.get("alerts_last_hour_by_follower") or {}).items():
        if follower in wanted:
            counts.update(kinds)
    return dict(sorted(counts.items()))


@command(
    "status",
    Access.READ,
    "/status",
    "your accounts, follows, controls and latest decisions",
    "/status",
    ("s",),
    most=0,
)
async def status(ask: Ask) -> None:
    followers = await ask.followers()
    if not followers:
        await ask.reply("No follower account yet. /connect one (private chat), then /follow a source.")
        return
    view = await ask.room.control.status(ask.actor, followers)
    shown = render.status(view, await health_map(ask), await size_decimals(ask.room))
    await ask.reply(text.join([shown, f"as of {render.when(datetime.now(UTC))}"]), refresh_button("status"))


async def positions_view(ask: Ask) -> PositionsView:
    rows: list[PositionRow] = []
    equities: dict[str, Decimal] = {}
    for follower in await ask.followers():
        view = await ask.room.service.positions(ask.actor, follower)
        rows += view.rows
        equities.update({k: v for k, v in view.equities.items() if k == follower})
    return PositionsView(tuple(rows), equities)


@command(
    "positions",
    Access.READ,
    "/positions",
    "source vs you per coin, side by side, with the drift",
    "/positions",
    ("p", "pos"),
    most=0,
)
async def positions(ask: Ask) -> None:
    if not await ask.followers():
        raise NotFound("no follower account yet: /connect one first")
    text = render.positions(await positions_view(ask))
    await ask.reply(f"{text}\nas of {render.when(datetime.now(UTC))}", refresh_button("positions"))


@command(
    "pnl", Access.READ, "/pnl [days]", "realized and unrealized P&L per coin, fees, equity", "/pnl 7", most=1
)
async def pnl(ask: Ask) -> None:
    days = count(ask.args[0], "days", 3650) if ask.args else None
    view = await ask.room.control.pnl(ask.actor, await ask.followers(), days=days)
    await ask.reply(render.pnl(view))


@command(
    "history",
    Access.READ,
    "/history [count]",
    "your latest fills (then /why <trade id>)",
    "/history 10",
    ("fills",),
    most=1,
)
async def history(ask: Ask) -> None:
    limit = count(ask.args[0], "count", 200) if ask.args else 20
    await ask.reply(
        render.history(
            await ask.room.control.history(ask.actor, await ask.followers(), limit=limit),
            await size_decimals(ask.room),
        )
    )


@command(
    "why",
    Access.READ,
    "/why <trade id | order id | cloid | decision id>",
    "the lineage of a fill, order or decision: source event → decision → order → fills; a decision id "
    "may be shortened to its first 8+ hex digits (as alerts and /status show it)",
    "/why 123456789",
)
async def why(ask: Ask) -> None:
    if not ask.args:
        raise InvalidInput(
            "ref", "missing", "a fill's trade id, a venue order id, a cloid or a decision id (8+ hex digits)"
        )
    control, followers, ref = ask.room.control, await ask.followers(), " ".join(ask.args)
    view = await control.why(ask.actor, followers, ref)
    if view.redacted:  # 64 hex digits that name nothing: maybe a key (docs/telegram.md)
        await ask.delete_message()
        await ask.reply(f"{view.text}\nI deleted your message.")
        return
    prefix = inputs.decision_prefix(ref)
    if not view.chains and prefix is not None:  # a short decision id
        found = await ask.room.service.ledger.decisions_by_prefix(followers, prefix, AMBIGUOUS_SHOWN)
        if len(found) > 1:
            lines = [text.fmt("Several of your decisions start with {}: which one?", text.code(ref))]
            lines += [
                text.fmt(
                    "{} · {} {} {}",
                    text.code(f"/why {d.id[:CANDIDATE_ID]}"),
                    d.coin,
                    d.event_kind or "-",
                    render.when(d.created_at),
                )
                for d in found
            ]
            await ask.reply(text.join(lines))
            return
        if found:
            view = await control.why(ask.actor, followers, found[0].id)
    if not view.chains:
        await ask.reply(f"Nothing of yours matches {view.ref}.")
        return
    await ask.reply(why_text.chains(view.lineages, await size_decimals(ask.room)))


@command(
    "alerts",
    Access.CHANGE,
    "/alerts [kind|all] [on|silent|off]",
    "what is pushed to you: each kind on, silent (no sound) or off",
    "/alerts deferred silent",
    ("notify",),
    most=2,
)
async def alerts(ask: Ask) -> None:
    control = ask.room.control
    if len(ask.args) >= 2:
        modes = await control.set_alert_mode(ask.actor, ask.owner, ask.args[0].lower(), ask.args[1])
    elif ask.args:
        raise InvalidInput("mode", "missing", ", ".join(ALERT_MODES))
    else:
        modes = await control.alert_modes(ask.owner)
    lines = ["Alerts (/alerts <kind|all> on|silent|off):"] + [f"  {k}: {modes[k]}" for k in ALERT_KINDS]
    await ask.reply("\n".join(lines))


@command(
    "health",
    Access.READ,
    "/health",
    "is the bot well: pipeline, venue, database, Telegram limits",
    "/health",
    most=0,
)
async def health(ask: Ask) -> None:
    room = ask.room
    lines = ["Health"]
    for key, value in (await health_map(ask)).items():
        lines.append(f"  {key}: {value if value is not None else 'not running in this process'}")
    reads = room.service.default_venue
    if reads is not None:
        try:
            listed = await venue_reads.instruments(reads)
            lines.append(f"  venue: answering ({len(listed)} markets)")
        except VenueError as exc:
            lines.append(f"  venue: NOT answering ({exc})")
    else:
        lines.append("  venue: not configured")
    await room.service.ledger.ping()
    lines.append("  database: answering")
    if room.limiter is not None:
        lines.append(
            f"  telegram flood control: waited {room.limiter.waited_s:.1f} s, {room.limiter.retries} retries"
        )
    if room.doorman is not None:
        door = room.doorman
        lines.append(f"  strangers: {door.let_through} refused, {door.dropped} ignored (over their budget)")
    lines.append(f"  up since {render.when(room.started_at)}")
    await ask.reply("\n".join(lines))


async def equity_series(ask: Ask, days: int) -> list[tuple[str, list[EquityPoint]]]:
    """The recorded equity of the owner's followers and of the sources they actively follow."""
    from bot.telegram.commands_follow import active_follows

    since = int(datetime.now(UTC).timestamp() * 1000) - days * MS_PER_DAY
    ledger = ask.room.service.ledger
    wanted = [(f"you {render.short(f)}", f, EquityRole.FOLLOWER) for f in await ask.followers()]
    sources = sorted({source for _, source in await active_follows(ask)})
    wanted += [(f"source {render.short(s)}", s, EquityRole.SOURCE) for s in sources]
    out: list[tuple[str, list[EquityPoint]]] = []
    for label, address, role in wanted:
        points = await equity_history(ledger, address=address, role=role, since_ms=since)
        if points:
            out.append((label, points))
    return out


@command(
    "chart",
    Access.READ,
    "/chart [exposure | tracking <coin> | equity [days]]",
    "a PNG: exposure per coin (you vs target), a coin's target vs position over time, or your equity vs "
    "your sources' (return since the first reading)",
    "/chart tracking ETH",
    most=2,
)
async def chart(ask: Ask) -> None:
    from bot.telegram import charts  # matplotlib loads only when a chart is asked for

    kind = ask.args[0].lower() if ask.args else "exposure"
    if kind == "exposure":
        view = await positions_view(ask)
        if not view.rows:
            raise NotFound("nothing to chart: no positions")
        png, caption = await asyncio.to_thread(charts.exposure, view.rows), "Exposure per coin"
    elif kind == "tracking" and len(ask.args) >= 2:
        points = await ask.room.control.tracking(ask.actor, await ask.followers(), ask.args[1])
        if not points:
            raise NotFound(f"no decisions for {ask.args[1]} yet")
        floats = [(t, float(tau), None if p is None else float(p)) for t, tau, p in points]  # plotting only
        png, caption = (
            await asyncio.to_thread(charts.tracking, ask.args[1].upper(), floats),
            (f"Tracking {ask.args[1].upper()}: {len(points)} decisions"),
        )
    elif kind == "equity":
        days = count(ask.args[1], "days", 3650) if len(ask.args) >= 2 else DEFAULT_EQUITY_DAYS
        series = await equity_series(ask, days)
        if not series:
            raise NotFound(f"no equity recorded in the last {days} days (the running bot records it)")
        plotted = [(label, [(t, float(r)) for t, r in render.returns(points)]) for label, points in series]
        plotted = [(label, points) for label, points in plotted if points]  # a zero base has no return
        if not plotted:
            raise NotFound("nothing to chart: every recorded equity starts at 0")
        png = await asyncio.to_thread(charts.equity, plotted)  # floats for plotting only
        caption = render.equity_caption(series)
    else:
        raise InvalidInput(
            "chart", f"unknown {inputs.shown(' '.join(ask.args))}", "exposure, tracking <coin>, equity [days]"
        )
    await ask.bot.send_photo(ask.chat_id, png, caption=caption[:MAX_CAPTION])
