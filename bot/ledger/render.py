"""Plain-text lineage, top-down: what the source did, what we decided and why, what the venue did.

`mirrorbot why` and Telegram's `/why` print this.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from bot.ledger.lineage import Lineage
from bot.ledger.models import Fill
from bot.ledger.types import decimal_text, dump_json


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


def _num(value: Decimal | None) -> str:
    return "—" if value is None else decimal_text(value)


def _signed(value: Decimal) -> str:
    text = decimal_text(value)
    return text if text.startswith("-") or value == 0 else "+" + text


def _fill_line(fill: Fill, focus: bool) -> str:
    marker = "▶" if focus else "·"
    fee = f"fee {_num(fill.fee)}{' ' + fill.fee_token if fill.fee_token else ''}"
    if fill.builder_fee:  # a leader commission (SPEC §14): part of the fee
        fee += f" (builder {_num(fill.builder_fee)})"
    return (
        f"  {marker} trade {fill.trade_id}: {fill.side} {_num(fill.size)} {fill.coin} @ {_num(fill.price)}, "
        f"{fee}, closed pnl {_num(fill.closed_pnl)}, {_time(fill.time)}"
    )


def render_lineage(lineage: Lineage) -> str:
    lines: list[str] = []
    event, decision, intent, order = lineage.leader_event, lineage.instruction, lineage.intent, lineage.order
    if event is not None:
        lines += [
            f"Source event {event.event_id} ({event.venue}, {_time(event.time)})",
            f"  source {event.source} {event.coin}: {_num(event.old_size)} → {_num(event.new_size)}"
            + (f" at avg px {_num(event.avg_px)}" if event.avg_px is not None else ""),
        ]
    elif decision is not None:
        lines.append(f"Source event {decision.source_event_id} (not recorded as a leader event)")
    if decision is None:
        lines.append("No decision of mirrorbot: the bot did not place this trade (a manual or other trade).")
    else:
        plan = f"plan v{decision.plan_version}" if decision.plan_version is not None else "no plan version"
        lines += [
            f"Decision {decision.id} ({decision.strategy}, {plan}, revision {decision.revision})",
            f"  follower {decision.follower} {decision.coin} ← source {decision.source}",
            f"  event {decision.event_kind or '—'}: ratio ρ₀ {_num(decision.ratio)}, "
            f"target τ {_num(decision.target_before)} → {_num(decision.target_after)}, "
            f"position p {_num(decision.position)}, order Δ {_signed(decision.delta)}, "
            f"mid {_num(decision.mid)}",
            f"  guards that acted: {', '.join(decision.guards) if decision.guards else 'none'}; "
            f"reason: {decision.reason or 'none'}",
        ]
        if decision.vol_mult is not None:  # SPEC §10: the volatility the ratio was scaled by
            sigma = "unknown" if decision.vol_sigma is None else f"{_num(decision.vol_sigma)} % annualised"
            lines.append(f"  volatility σ {sigma}: ratio multiplier m {_num(decision.vol_mult)}")
        if lineage.plan is not None:
            lines.append(f"  settings (plan v{lineage.plan.version}): {dump_json(lineage.plan.settings)}")
    if intent is None:
        if decision is not None:
            lines.append(f"No order sent ({decision.reason or 'nothing to do'}).")
    else:
        flags = "reduce-only" if intent.reduce_only else "not reduce-only"
        lines += [
            f"Order intent cloid {intent.cloid}: {intent.side} {_num(intent.size)} {intent.coin} "
            f"limit {_num(intent.limit_px)} {intent.tif}, {flags}, on {intent.venue} for {intent.account}",
            f"  intent status {intent.status}" + (f": {intent.error}" if intent.error else ""),
        ]
    if order is not None:
        lines.append(f"Venue order {order.oid if order.oid is not None else '(no venue id)'}: {order.status}")
        for status in lineage.statuses:
            details = f" {dump_json(status.details)}" if status.details is not None else ""
            lines.append(f"  {_time(status.time)} {status.status}{details}")
    if lineage.fills:
        lines.append("Fills")
        lines += [_fill_line(fill, fill.id == lineage.focus_fill_id) for fill in lineage.fills]
    elif intent is not None:
        lines.append("No fills recorded.")
    if lineage.snapshots:
        lines.append("Position after")
        for snap in lineage.snapshots:
            entry = f" (entry {_num(snap.entry_px)})" if snap.entry_px is not None else ""
            lines.append(
                f"  {_signed(snap.size)} {snap.coin}{entry} at {_time(snap.time)}, from {snap.origin}"
            )
    return "\n".join(lines)


def render_lineages(ref: str, lineages: Sequence[Lineage]) -> str:
    """All chains for one reference; a clear sentence when there is none."""
    if not lineages:
        return (
            f"Nothing in the ledger matches {ref!r} "
            "(give a fill's trade id, a venue order id, a cloid or an instruction id)."
        )
    blocks = [render_lineage(item) for item in lineages]
    if len(blocks) == 1:
        return blocks[0]
    return "\n\n".join(f"[{i}/{len(blocks)}]\n{block}" for i, block in enumerate(blocks, 1))
