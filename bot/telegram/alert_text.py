"""Pushed alerts as a person reads them: what happened with its value in USD, the realised PnL when a
fill reduced or closed a position, and the short id to pass to `/why` (issue #19 item 8).

A fill's realised PnL is the venue's (`closedPnl` of its fills), which the pipeline records in batched
reads a few seconds after the order (bot/pipeline/fills.py): an alert of a reducing fill waits for
them, at most `wait_s`, and otherwise says where to find it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from bot.alerts import Alert, AlertKind
from bot.ledger import Ledger
from bot.redaction import redact_text
from bot.telegram import text
from bot.telegram.text import Html, b, code, fmt

PNL_WAIT_S = 45.0  # the fills reader reads a follower at most every 15 s, then up to its gather time
POLL_S = 0.5


@dataclass(frozen=True, slots=True)
class Facts:
    decision: str | None = None  # the decision (instruction) id behind the alert's order
    usd: Decimal | None = None
    pnl: Decimal | None = None  # realised, from the recorded fills
    pnl_pending: bool = False  # a reduction whose fills were not recorded in time


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value)) if value is not None else None
    except ArithmeticError:
        return None


def reduces(alert: Alert) -> bool:
    """A copied fill that made the position smaller (a reduction, a close, a flip's closing part)."""
    if alert.kind is not AlertKind.COPIED:
        return False
    before, filled = _decimal(alert.details.get("before")), _decimal(alert.details.get("filled"))
    if before is None or filled is None or before == 0:
        return False
    return (before > 0) != bool(alert.details.get("is_buy"))


async def facts(ledger: Ledger, alert: Alert, wait_s: float = PNL_WAIT_S) -> Facts:
    details: Mapping[str, object] = alert.details
    filled, price = _decimal(details.get("filled")), _decimal(details.get("avg_px"))
    usd = filled * price if filled is not None and price is not None else _decimal(details.get("usd"))
    told = details.get("decision")  # skips, deferrals and guards name their decision
    cloid = details.get("cloid")
    if not isinstance(cloid, str) or not cloid:
        return Facts(told if isinstance(told, str) and told else None, usd)
    deadline = time.monotonic() + (wait_s if reduces(alert) else 0)
    while True:
        chains = await ledger.lineage(f"cloid:{cloid}")
        decision = next((c.instruction.id for c in chains if c.instruction is not None), None)
        fills = [f for c in chains for f in c.fills]
        if not reduces(alert):
            return Facts(decision, usd)
        if filled is not None and sum((f.size for f in fills), Decimal(0)) >= filled:
            return Facts(decision, usd, sum((f.closed_pnl for f in fills), Decimal(0)))
        if time.monotonic() >= deadline:
            return Facts(decision, usd, pnl_pending=True)
        await asyncio.sleep(POLL_S)


def render(alert: Alert, found: Facts) -> Html:
    where = " ".join(
        x for x in (alert.coin, f"on {text.short_address(alert.follower)}" if alert.follower else None) if x
    )
    source = f" (source {text.short_address(alert.source)})" if alert.source else ""
    title = alert.kind.value.replace("_", " ")
    # An exception's or a venue's words: masked as the logs are (a key, an RPC URL's API key).
    message, reason = redact_text(alert.message), redact_text(alert.reason)
    worth = f" · {text.usd(found.usd)}" if found.usd is not None and alert.kind is AlertKind.COPIED else ""
    lines: list[str] = [fmt("{} {}{}: {}{}", b(f"[{title}]"), where, source, message, worth)]
    if reason and reason not in message:
        lines.append(text.esc(f"reason: {reason}"))
    if found.pnl is not None:
        before = _decimal(alert.details.get("before")) or Decimal(0)
        filled = _decimal(alert.details.get("filled")) or Decimal(0)
        what = "position closed" if abs(before) <= filled else "position reduced"
        lines.append(text.esc(f"realised PnL {text.usd(found.pnl, signed=True)} ({what})"))
    elif found.pnl_pending and found.decision:
        lines.append(text.esc("realised PnL: not recorded yet (the lineage below shows it once it is)"))
    if found.decision:
        lines.append(fmt("explain: {}", code(f"/why {text.short_id(found.decision)}")))
    return text.join(Html(line) for line in lines)
