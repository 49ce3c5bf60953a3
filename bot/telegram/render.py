"""Service results as chat text (plain text: no markup to escape, nothing to break when chunked)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from bot.alerts import Alert
from bot.ledger.types import decimal_text
from bot.service.approvals import Outcome, PendingView
from bot.service.equity import EquityPoint
from bot.service.owner import ControlResult, OwnerStatus, PnlView
from bot.service.owner import FillView as ControlFill
from bot.service.settings import setting_changes
from bot.service.views import FollowView, PlanChange, PositionsView


def short(address: str | None) -> str:
    if not address:
        return "-"
    return f"{address[:6]}…{address[-4:]}" if len(address) > 12 else address


def num(value: Decimal | None, *, signed: bool = False) -> str:
    if value is None:
        return "?"
    text = decimal_text(value)
    return f"+{text}" if signed and value > 0 else text


def usd(value: Decimal | None) -> str:
    if value is None:
        return "?"
    rounded = value.quantize(Decimal("0.01"))
    return f"-${-rounded:,}" if rounded < 0 else f"${rounded:,}"


def when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def follow_line(view: FollowView) -> str:
    scaling = ", ".join(f"{coin} {k} %" for coin, k in view.scaling.items())
    flags = [f"v{view.version}", view.strategy, f"scaling {scaling}"]
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


def status(view: OwnerStatus, health: Mapping[str, object]) -> str:
    lines = ["Status"]
    for follower, state in view.followers.items():
        label = view.labels.get(follower)
        lines.append(f"• {label + ' ' if label else ''}{follower}: {state}")
    active = [f for f in view.follows if f.active]
    lines.append(f"Follows ({len(active)} active):")
    lines += [f"  {follow_line(f)}" for f in active] or ["  none (/follow <address>)"]
    now = datetime.now(UTC)
    lines += [f"Inactive {quiet.describe(now)}" for quiet in view.inactive]  # SPEC §12
    if view.decisions:
        lines.append("Latest decisions:")
        for d in view.decisions:
            reason = f" ({d.reason})" if d.reason else ""
            lines.append(
                f"  {d.time:%m-%d %H:%M:%S} {d.coin} {d.event or '-'} target {num(d.target)} "
                f"order {num(d.delta, signed=True)}{reason}"
            )
    shown = {k: v for k, v in health.items() if v is not None}
    if shown:
        lines.append("Health: " + ", ".join(f"{k} {v}" for k, v in shown.items()))
    return "\n".join(lines)


def positions(view: PositionsView) -> str:
    if not view.rows:
        return "No positions: neither your sources nor your accounts hold any."
    lines = ["Positions (source | you | target | drift)"]
    for follower in dict.fromkeys(r.follower for r in view.rows):
        lines.append(f"{short(follower)} equity {usd(view.equities.get(follower))}")
        for row in (r for r in view.rows if r.follower == follower):
            if row.source is None:
                lines.append(f"  {row.coin}: you {num(row.follower_size, signed=True)} (not managed)")
                continue
            estimate = " est." if row.target_basis == "estimate" else ""
            lines.append(
                f"  {row.coin} from {short(row.source)}: {num(row.source_size, signed=True)} | "
                f"{num(row.follower_size, signed=True)} | {num(row.target, signed=True)}{estimate} | "
                f"{num(row.drift, signed=True)} ({usd(row.drift_usd)})"
            )
    return "\n".join(lines)


def pnl(view: PnlView) -> str:
    period = "all time" if view.since is None else f"since {when(view.since)}"
    if not view.coins:
        return f"P&L ({period}): no fills yet."
    lines = [f"P&L ({period})"]
    for c in view.coins:
        unrealized = "" if c.unrealized is None else f", unrealized {usd(c.unrealized)}"
        lines.append(
            f"  {c.coin}: realized {usd(c.realized)}, fees {usd(c.fees)}{unrealized} ({c.fills} fills)"
        )
    lines.append(f"Net: {usd(view.net)}")
    for account, equity in view.equity.items():
        lines.append(f"Equity {short(account)}: {usd(equity)}")
    return "\n".join(lines)


def history(fills: tuple[ControlFill, ...]) -> str:
    if not fills:
        return "No fills yet."
    lines = ["Latest fills (explain one: /why <trade id>)"]
    for f in fills:
        lines.append(
            f"  {f.time:%m-%d %H:%M:%S} {f.coin} {f.side} {num(f.size)} @ {num(f.price)} "
            f"fee {num(f.fee)} pnl {num(f.closed_pnl)} · tid {f.trade_id}"
        )
    return "\n".join(lines)


def pending(view: PendingView) -> str:
    votes = f"{len(view.approvals)}/{view.needed} approvals"
    if view.rejections:
        votes += f", {len(view.rejections)} rejected"
    state = {"pending": "waiting", "approved": "approved, applying"}.get(view.status, view.status)
    text = f"Change #{view.id}: {view.summary}\n{votes} · {state}"
    if view.result:
        text += f"\n{view.result}"
    return text


def alert(item: Alert) -> str:
    where = " ".join(x for x in (item.coin, f"on {short(item.follower)}" if item.follower else None) if x)
    source = f" (source {short(item.source)})" if item.source else ""
    title = item.kind.value.replace("_", " ")
    return f"[{title}] {where}{source}: {item.message}" + (
        f"\nreason: {item.reason}" if item.reason and item.reason not in item.message else ""
    )


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
