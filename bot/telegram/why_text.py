"""`/why` as a person reads it: the chain source event → decision → order → fills → position in HTML,
sizes to the lot, USD to the cent, the decision's short id (what `/why` accepts back) and its follow's
settings in words instead of the stored JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from bot.ledger import Lineage
from bot.ledger.models import FollowPlan
from bot.service.owner import LIMIT_KEYS
from bot.service.settings import shown_setting
from bot.service.views import FollowView
from bot.telegram import render, text
from bot.telegram.render import when
from bot.telegram.text import Html, b, code, fmt


def settings_line(plan: FollowPlan) -> str:
    """A follow's settings in words: tokens, scaling with its unit, copy current, the limits set."""
    view = FollowView.of(plan)
    scaling = render.scaling(view) or "100 %"
    parts = [
        f"tokens {view.tokens}",
        f"scaling {scaling}",
        f"copy current {'on' if view.copy_current else 'off'}",
    ]
    limits = [f"{k} {shown_setting(k, plan.settings.get(k))}" for k in LIMIT_KEYS if plan.settings.get(k)]
    parts.append("limits: " + (", ".join(limits) if limits else "none"))
    return " · ".join(parts)


def chain(lineage: Lineage, decimals: Mapping[str, int]) -> Html:
    event, decision, intent, order = lineage.leader_event, lineage.instruction, lineage.intent, lineage.order
    coin = decision or intent or event or (lineage.fills[0] if lineage.fills else None)
    lot = decimals.get(coin.coin) if coin is not None else None

    def size(value: Decimal | None, signed: bool = False) -> str:
        return text.size(value, lot, signed=signed)

    lines: list[str] = []
    if event is not None:
        at = f" at {text.price(event.avg_px)}" if event.avg_px is not None else ""
        lines.append(
            fmt(
                "<b>Source</b> {} {}: {} → {}{} ({})",
                code(event.source),
                event.coin,
                size(event.old_size, True),
                size(event.new_size, True),
                at,
                when(event.time),
            )
        )
    if decision is None:
        lines.append(
            text.esc("No decision of mirrorbot: the bot did not place this trade (a manual or other trade).")
        )
    else:
        plan = f", plan v{decision.plan_version}" if decision.plan_version is not None else ""
        lines.append(
            fmt(
                "<b>Decision</b> {} ({}{}) for {}",
                code(text.short_id(decision.id)),
                decision.event_kind or "-",
                plan,
                decision.coin,
            )
        )
        ratio = "-" if decision.ratio is None else text.size(decision.ratio, 8)
        mid = "" if decision.mid is None else f" · mid {text.price(decision.mid)}"
        lines.append(
            text.esc(
                f"  ratio {ratio} · target {size(decision.target_before, True)} → "
                f"{size(decision.target_after, True)} · position {size(decision.position, True)} · "
                f"order {size(decision.delta, True)}{mid}"
            )
        )
        guards = ", ".join(decision.guards) if decision.guards else "none"
        lines.append(text.esc(f"  guards: {guards} · reason: {decision.reason or 'none'}"))
        if lineage.plan is not None:
            lines.append(text.esc(f"  settings (v{lineage.plan.version}): {settings_line(lineage.plan)}"))
    if intent is None:
        if decision is not None:
            lines.append(text.esc(f"No order sent ({decision.reason or 'nothing to do'})."))
    else:
        reduce = ", reduce-only" if intent.reduce_only else ""
        status = f" → {order.status}" if order is not None else f" → {intent.status}"
        error = f" ({intent.error})" if intent.error else ""
        lines.append(
            fmt(
                "<b>Order</b> {} {} {} limit {} {}{}{}{}",
                intent.side,
                size(intent.size),
                intent.coin,
                text.price(intent.limit_px),
                intent.tif,
                reduce,
                status,
                error,
            )
        )
    if lineage.fills:
        lines.append(b("Fills"))
        for fill in lineage.fills:
            marker = "▶" if fill.id == lineage.focus_fill_id else "·"
            pnl = f" · realised PnL {text.usd(fill.closed_pnl, signed=True)}" if fill.closed_pnl else ""
            lines.append(
                fmt(
                    "  {} trade {}: {} {} {} @ {} · {} · fee {}{}",
                    marker,
                    code(fill.trade_id),
                    fill.side,
                    size(fill.size),
                    fill.coin,
                    text.price(fill.price),
                    text.usd(fill.size * fill.price),
                    text.usd(fill.fee),
                    pnl,
                )
            )
    elif intent is not None:
        lines.append(text.esc("No fills recorded yet."))
    for snap in lineage.snapshots[-1:]:  # the position the chain left
        entry = f" (entry {text.price(snap.entry_px)})" if snap.entry_px is not None else ""
        lines.append(fmt("<b>Position after</b> {} {}{}", size(snap.size, True), snap.coin, entry))
    return text.join(Html(line) for line in lines)


def chains(lineages: Sequence[Lineage], decimals: Mapping[str, int]) -> Html:
    blocks = [chain(item, decimals) for item in lineages]
    if len(blocks) == 1:
        return blocks[0]
    return text.join(
        [fmt("<i>[{}/{}]</i>\n{}", i, len(blocks), block) for i, block in enumerate(blocks, 1)], "\n\n"
    )
