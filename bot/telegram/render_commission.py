"""Leader commission replies (SPEC §14), the same text for the CLI and the chat: the builders a master
approved, and the high-water-mark profit-share report."""

from __future__ import annotations

from decimal import Decimal

from bot.ledger.types import decimal_text
from bot.service.commission import BuilderApproval, CommissionReport
from bot.service.settings import shown_setting
from bot.telegram.render import short, usd


def rate(tenths_bp: int) -> str:
    """`10 tenths of a bp (= 0.01 %)`: the unit named, as every reply writes a setting."""
    return shown_setting("commission_tenths_bp", tenths_bp)


def approval(view: BuilderApproval) -> str:
    if not view.builders:
        return f"No follow of {short(view.account)} sets a commission."
    lines = [f"Builder fees approved by {short(view.account)}:"]
    for b in view.builders:
        state = "approved" if b.approved >= b.asked else "NOT approved: orders go without the commission"
        lines.append(f"  {b.builder}: asked {rate(b.asked)}, approved {rate(b.approved)} — {state}")
    return "\n".join(lines)


def report(view: CommissionReport) -> str:
    head = (
        f"Profit share: {decimal_text(view.share_pct)} % of new profits over the high-water mark, per "
        f"{view.period} (realized P&L net of fees; a report: nothing is transferred)"
    )
    if not view.follows:
        return f"{head}\nNo copied fills yet."
    lines = [head]
    for f in view.follows:
        to = f.commission_to or "no commission_to set"
        due = sum((p.share for p in f.periods), start=Decimal(0))
        lines.append(f"{short(f.follower)} ← {short(f.source)} (to {to}): {usd(due)} due in all")
        for p in f.periods:
            lines.append(
                f"  {p.start:%Y-%m-%d}: P&L {usd(p.pnl)} (builder fees {usd(p.builder_fees)}), cumulative "
                f"{usd(p.cumulative)}, mark {usd(p.high_water_mark)}, new profit {usd(p.new_profit)}, "
                f"share {usd(p.share)}"
            )
    return "\n".join(lines)
