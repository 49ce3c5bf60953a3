"""Service results as chat text: plain text (escaped whole when sent) or `Html` built with
bot/telegram/text.py's helpers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from bot.ledger.types import decimal_text
from bot.service.approvals import Outcome, PendingView
from bot.service.equity import EquityPoint
from bot.service.owner import ControlResult, OwnerStatus, PnlView
from bot.service.owner import FillView as ControlFill
from bot.service.settings import setting_changes
from bot.service.views import STOPPED, FollowView, PlanChange, PositionRow, PositionsView
from bot.telegram import text
from bot.telegram.text import Html

short = text.short_address  # one definition (bot/analytics/render.py); kept under its old name
usd = text.usd  # USD to the cent, one definition


def num(value: Decimal | None, *, signed: bool = False) -> str:
    if value is None:
        return "?"
    text = decimal_text(value)
    return f"+{text}" if signed and value > 0 else text


def when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def scaling(view: FollowView) -> str:
    """Per-token scaling, in percent (the one unit of scaling)."""
    return ", ".join(f"{coin} {k} %" for coin, k in view.scaling.items())


def follow_line(view: FollowView) -> str:
    flags = [f"v{view.version}", view.strategy, f"scaling {scaling(view)}"]
    if view.copy_current:
        flags.append("copy current")
    return f"{short(view.source)} ({view.source}): {view.tokens} · {' · '.join(flags)}"


def plan_change(change: PlanChange, verb: str) -> str:
    if not change.changed:
        return f"Nothing to change: {follow_line(change.plan)}"
    plan = change.plan
    if not plan.active:
        kept = "closed" if plan.release == "close" else "kept (no longer managed)"
        text = f"Unfollowed {plan.source} (plan v{plan.version}); its positions are {kept}."
    else:
        changed = setting_changes(change.before, plan.settings) if change.before is not None else []
        text = (
            f"{verb}: {'; '.join(changed)} · {follow_line(plan)}"
            if changed
            else f"{verb}: {follow_line(plan)}"
        )
        if plan.release:
            text += f"\nPositions in tokens no longer copied: {plan.release}."
    for other in change.released:
        text += f"\nTaken over from {short(other.source)} (v{other.version}, positions: {other.release})."
    if not change.venue_checked:
        text += "\n(The venue was not asked: token names are not checked.)"
    return text


def control(result: ControlResult) -> str:
    names = ", ".join(short(f) for f in result.followers)
    if result.action == "stop":
        text = f"STOPPED copying for {names}."
        if result.released:
            text += "\nFollows turned off, positions to be closed: " + ", ".join(
                short(v.source) for v in result.released
            )
        text += (
            "\nOur open orders are cancelled and mirrored positions closed by the running bot"
            + (" now." if result.runner_told else " as soon as it picks the change up.")
            + "\n/resume, then /follow again, to start copying anew."
        )
        return text
    if result.action == "pause":
        return (
            f"Paused {names}: no new exposure (opens and increases are skipped); reductions and closes "
            "still mirror. /resume to continue."
        )
    return f"Resumed {names}."


def outcome(result: Outcome, verb: str = "Following") -> str:
    return control(result) if isinstance(result, ControlResult) else plan_change(result, verb)


def status(view: OwnerStatus, health: Mapping[str, object], decimals: Mapping[str, int]) -> Html:
    """Accounts, follows, the latest decisions (sizes to the lot, each with the short id `/why` takes)
    and the bot's health."""
    lines: list[str] = [text.b("Status")]
    for follower, state in view.followers.items():
        label = view.labels.get(follower)
        lines.append(text.fmt("• {}{}: <b>{}</b>", f"{label} " if label else "", text.code(follower), state))
    active = [f for f in view.follows if f.active]
    lines.append(text.fmt("<b>Follows</b> ({} active):", len(active)))
    lines += [text.esc(f"  {follow_line(f)}") for f in active] or [text.esc("  none (/follow <address>)")]
    now = datetime.now(UTC)
    lines += [text.esc(f"Inactive {quiet.describe(now)}") for quiet in view.inactive]  # SPEC §12
    if view.decisions:
        lines.append(text.fmt("<b>Latest decisions</b> (explain one: {})", text.code("/why <id>")))
        for d in view.decisions:
            lot = decimals.get(d.coin)
            reason = f" ({d.reason})" if d.reason else ""
            lines.append(
                text.fmt(
                    "  {} {} {} → target {}, order {}{}{}",
                    f"{d.time:%m-%d %H:%M:%S}",
                    d.coin,
                    d.event or "-",
                    text.size(d.target, lot, signed=True),
                    text.size(d.delta, lot, signed=True),
                    reason,
                    text.fmt(" · {}", text.code(f"/why {text.short_id(d.id)}")) if d.id else "",
                )
            )
    shown = {k: v for k, v in health.items() if v is not None}
    if shown:
        lines.append(text.fmt("<b>Health</b>: {}", ", ".join(f"{k} {v}" for k, v in shown.items())))
    return text.join(text.Html(line) for line in lines)


def _held(row: PositionRow) -> str:
    """Entry price and unrealised PnL of the follower's own position (nothing when it holds none)."""
    if row.follower_size == 0 or row.entry_px is None:
        return ""
    return f" · entry {usd(row.entry_px)} · uPnL {text.usd(row.unrealized_pnl, signed=True)}"


def _position_line(row: PositionRow) -> str:
    def lot(value: Decimal | None) -> str:  # sizes at the coin's lot precision
        return text.size(value, row.sz_decimals, signed=True)

    if row.source is None:
        return f"  {row.coin}: you {lot(row.follower_size)} (not managed){_held(row)}"
    if row.note is not None:  # not joined, or copying stopped: no target, no drift
        held = f" | you {lot(row.follower_size)}" if row.follower_size else ""
        return f"  {row.coin} from {short(row.source)}: {lot(row.source_size)}{held} · {row.note}{_held(row)}"
    estimate = " est." if row.target_basis == "estimate" else ""
    return (
        f"  {row.coin} from {short(row.source)}: {lot(row.source_size)} | {lot(row.follower_size)} | "
        f"{lot(row.target)}{estimate} | {lot(row.drift)} ({usd(row.drift_usd)}){_held(row)}"
    )


def positions(view: PositionsView) -> str:
    if not view.rows:
        return "No positions: neither your sources nor your accounts hold any."
    if any(r.note == STOPPED for r in view.rows):
        header = "Copying is stopped (/stop): the source's positions are shown, none is copied.\n"
    else:
        header = ""
    lines = [f"{header}Positions (source | you | target | drift; your entry price and unrealised PnL)"]
    for follower in dict.fromkeys(r.follower for r in view.rows):
        lines.append(f"{short(follower)} equity {usd(view.equities.get(follower))}")
        lines += [_position_line(row) for row in view.rows if row.follower == follower]
    return "\n".join(lines)


def pnl(view: PnlView) -> str:
    period = "all time" if view.since is None else f"since {when(view.since)}"
    if not view.coins:
        return f"P&L ({period}): no fills yet."
    lines = [f"P&L ({period})"]
    for c in view.coins:
        unrealized = "" if c.unrealized is None else f", unrealized {usd(c.unrealized)}"
        fees = usd(c.fees) + (f" (builder {usd(c.builder_fees)})" if c.builder_fees else "")
        lines.append(f"  {c.coin}: realized {usd(c.realized)}, fees {fees}{unrealized} ({c.fills} fills)")
    lines.append(f"Net: {usd(view.net)}")
    for account, equity in view.equity.items():
        lines.append(f"Equity {short(account)}: {usd(equity)}")
    return "\n".join(lines)


def history(fills: tuple[ControlFill, ...], decimals: Mapping[str, int] | None = None) -> str:
    """Plain text (the CLI prints it too): sizes to the lot, USD to the cent, each fill's trade id."""
    if not fills:
        return "No fills yet."
    lots = decimals or {}
    lines = ["Latest fills (explain one: /why <trade id>)"]
    for f in fills:
        pnl = f" · PnL {text.usd(f.closed_pnl, signed=True)}" if f.closed_pnl else ""
        lines.append(
            f"  {f.time:%m-%d %H:%M:%S} {f.coin} {f.side} {text.size(f.size, lots.get(f.coin))} @ "
            f"{text.price(f.price)} · {text.usd(f.size * f.price)} · fee {text.usd(f.fee)}{pnl} · "
            f"tid {f.trade_id}"
        )
    return "\n".join(lines)


def pending(view: PendingView, name_of: Callable[[int], str]) -> Html:
    """A group change as its vote message and `/group` show it: what (with the warning a private chat
    would ask to confirm), who proposed it, who voted (n of k), until when, and what became of it."""
    state = {"pending": "waiting for votes", "approved": "approved, applying"}.get(view.status, view.status)
    lines: list[str] = [text.fmt("<b>Change #{}</b>: {}", view.id, view.summary)]
    if view.proposer is not None or view.expires_at is not None:
        who = "" if view.proposer is None else f"proposed by {name_of(view.proposer)}"
        until = f"expires {when(view.expires_at)}" if view.status == "pending" and view.expires_at else ""
        lines.append(text.esc(" · ".join(x for x in (who, until) if x)))
    approvers = ", ".join(name_of(u) for u in view.approvals) or "nobody yet"
    lines.append(text.fmt("Approved by {}: {} of {}", approvers, len(view.approvals), view.needed))
    if view.rejections:
        lines.append(text.fmt("Rejected by {}", ", ".join(name_of(u) for u in view.rejections)))
    lines.append(text.fmt("<i>{}</i>", state))
    if view.result:
        lines.append(text.esc(view.result))
    return text.join(text.Html(line) for line in lines)


def returns(points: Sequence[EquityPoint]) -> list[tuple[datetime, Decimal]]:
    """Return since the first point, % (exact); empty when the first equity is 0 (no base to compare)."""
    if not points or points[0].equity == 0:
        return []
    base = points[0].equity
    return [(p.time, (p.equity / base - 1) * 100) for p in points]


def equity_caption(series: Sequence[tuple[str, Sequence[EquityPoint]]]) -> str:
    lines = ["Equity, return since the first reading:"]
    for label, points in series:
        first, last = points[0].equity, points[-1].equity
        change = returns(points)
        growth = f" ({num(change[-1][1].quantize(Decimal('0.01')), signed=True)} %)" if change else ""
        lines.append(f"{label}: {usd(first)} → {usd(last)}{growth}, {len(points)} readings")
    return "\n".join(lines)
