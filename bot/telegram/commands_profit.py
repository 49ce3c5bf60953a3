"""/profit (realised PnL, win rate, drawdown per account) and /daily /weekly /monthly (PnL per UTC
period): what freqtrade's Telegram users expect, computed by `bot.analytics.account` from the fills the
ledger recorded for the owner's accounts (the same definitions as `mirrorbot inspect`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot.analytics.account import Period, PeriodPnl, account_stats, period_pnl, period_starts
from bot.analytics.render import pct
from bot.analytics.service import MAX_DAYS
from bot.analytics.stats import SourceStats
from bot.domain import AccountState
from bot.ledger.models import Fill
from bot.service import NotFound, VenueUnreachable, inputs
from bot.telegram import render, text
from bot.telegram.gate import Access, command
from bot.telegram.parse import count
from bot.telegram.room import Ask

FUNDING = "funding not included"
PERIOD_LABELS = {Period.DAY: "%Y-%m-%d", Period.WEEK: "week of %Y-%m-%d", Period.MONTH: "%Y-%m"}


async def _followers(ask: Ask) -> list[str]:
    followers = await ask.followers()
    if not followers:
        raise NotFound("no follower account yet: /connect one first")
    return followers


async def _audit(ask: Ask, followers: list[str], view: str, window: int | None) -> None:
    await ask.room.service.ledger.audit(
        actor=ask.actor.name,
        channel=ask.actor.channel,
        action="pnl",  # a read of the P&L, as /pnl
        details={"followers": followers, "view": view, "window": window},
    )


async def _states(ask: Ask, followers: list[str]) -> dict[str, AccountState]:
    """Today's equity and positions, for the drawdown in % and the unrealised PnL; {} when the venue
    does not answer (the realised figures come from the ledger alone)."""
    if ask.room.service.venues is None:
        return {}
    try:
        return await ask.room.service.follower_states(followers)
    except VenueUnreachable:
        return {}


def profit_lines(address: str, stats: SourceStats, now: AccountState | None) -> list[str]:
    won = stats.winning_round_trips
    lines = [
        f"{render.short(address)}",
        f"  realised {text.usd(stats.realised_pnl)}, fees {text.usd(stats.fees)}, "
        f"net {text.usd(stats.net_pnl)} ({stats.fills} fills)",
        f"  round trips closed {stats.round_trips}, won {won}, win rate {pct(stats.win_rate)}"
        + ("" if stats.profit_factor is None else f", profit factor {stats.profit_factor:.2f}"),
        f"  max drawdown {text.usd(stats.drawdown.amount)}"
        + ("" if stats.drawdown_pct is None else f" ({pct(stats.drawdown_pct)} of the peak equity)"),
    ]
    if now is not None:
        unrealised = sum((p.unrealized_pnl for p in now.positions), Decimal(0))
        lines.append(f"  now: unrealised {text.usd(unrealised)}, equity {text.usd(now.equity)}")
    return lines


@command(
    "profit",
    Access.READ,
    "/profit [days]",
    "realised PnL, win rate and max drawdown of your accounts (all time, or the last days)",
    "/profit 30",
    most=1,
)
async def profit(ask: Ask) -> None:
    days = count(ask.args[0], "days", MAX_DAYS) if ask.args else None
    followers = await _followers(ask)
    end = datetime.now(UTC)
    since = None if days is None else end - timedelta(days=days)
    fills = await ask.room.service.ledger.fills_of(followers, since, None)
    states = await _states(ask, followers)
    await _audit(ask, followers, "profit", days)
    period = "all time" if days is None else f"last {days} days"
    lines = [f"Profit ({period}; {FUNDING})"]
    for address in followers:
        mine = [f for f in fills if f.account == address]
        start = since or min((f.time for f in mine), default=end)
        stats = account_stats(address, mine, start=start, end=end, now=states.get(address))
        lines += profit_lines(address, stats, states.get(address))
    lines.append("Per day: /daily · per week: /weekly · per month: /monthly")
    await ask.reply("\n".join(lines))


def period_lines(rows: list[PeriodPnl], period: Period) -> list[str]:
    fmt = PERIOD_LABELS[period]
    lines = [
        f"  {row.start.strftime(fmt)}: {text.usd(row.net, signed=True)} "
        f"(realised {text.usd(row.realised)}, fees {text.usd(row.fees)}, {row.fills} fills)"
        for row in rows
    ]
    total = sum((r.net for r in rows), Decimal(0))
    lines.append(f"  total: {text.usd(total)}")
    return lines


async def _periods(ask: Ask, period: Period) -> None:
    rows = inputs.period_count(ask.args[0] if ask.args else None, period.value)  # bounded there
    followers = await _followers(ask)
    now = datetime.now(UTC)
    oldest = period_starts(now, period, rows)[-1]
    fills: list[Fill] = await ask.room.service.ledger.fills_of(followers, oldest, None)
    await _audit(ask, followers, period.value, rows)
    title = f"PnL per UTC {period.value}, last {rows} (net = realised − fees; {FUNDING})"
    await ask.reply("\n".join([title, *period_lines(period_pnl(fills, period, rows, now), period)]))


NAMES = {Period.DAY: "daily", Period.WEEK: "weekly", Period.MONTH: "monthly"}


def _usage(period: Period) -> str:
    default, most = inputs.PERIOD_COUNTS[period.value]
    return f"/{NAMES[period]} [count] (1 to {most}, default {default})"


@command("daily", Access.READ, _usage(Period.DAY), "net PnL per UTC day", "/daily 14", most=1)
async def daily(ask: Ask) -> None:
    await _periods(ask, Period.DAY)


@command(
    "weekly",
    Access.READ,
    _usage(Period.WEEK),
    "net PnL per week (from Monday 00:00 UTC)",
    "/weekly 4",
    most=1,
)
async def weekly(ask: Ask) -> None:
    await _periods(ask, Period.WEEK)


@command("monthly", Access.READ, _usage(Period.MONTH), "net PnL per UTC month", "/monthly 3", most=1)
async def monthly(ask: Ask) -> None:
    await _periods(ask, Period.MONTH)
