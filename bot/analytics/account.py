"""A follower account's own record, from the fills the ledger recorded (Telegram's /profit, /daily,
/weekly, /monthly): the round trips, win rate and drawdown `mirrorbot inspect` computes for a source
(`compute_stats`, the same definitions), and the realised PnL per UTC day, ISO week or month.

Funding is not in the ledger's fills: the figures leave it out (the replies say so).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from bot.analytics.history import make_history
from bot.analytics.stats import SourceStats, compute_stats
from bot.domain import AccountState, Side, SourceFill
from bot.ledger.models import Fill
from bot.ledger.types import to_ms
from strategies.num import ZERO, add, sub


def source_fills(fills: Sequence[Fill]) -> list[SourceFill]:
    """The ledger's fills of one account as the analytics read fills, oldest first. A fill recorded
    without the venue's start position (a manual trade seen by a reconciliation) starts where the
    fills before it left the coin (0 before the first one)."""
    held: dict[str, Decimal] = {}
    out: list[SourceFill] = []
    for fill in sorted(fills, key=lambda f: (f.time, f.id or 0)):
        start = fill.start_position if fill.start_position is not None else held.get(fill.coin, ZERO)
        side = Side(fill.side)
        out.append(
            SourceFill(
                coin=fill.coin,
                px=fill.price,
                sz=fill.size,
                side=side,
                time_ms=to_ms(fill.time),
                oid=fill.oid or 0,
                tid=int(fill.trade_id) if fill.trade_id.isdigit() else None,
                start_position=start,
                closed_pnl=fill.closed_pnl,
                fee=fill.fee,
                source=fill.account,
            )
        )
        held[fill.coin] = add(start, fill.size if side is Side.BUY else -fill.size)
    return out


def account_stats(
    address: str, fills: Sequence[Fill], *, start: datetime, end: datetime, now: AccountState | None
) -> SourceStats:
    """`mirrorbot inspect`'s statistics of one follower account over `[start, end]`; `now` (the venue's
    state, when it answered) gives the drawdown as a percentage of the peak equity."""
    history = make_history(address, source_fills(fills), start_ms=to_ms(start), end_ms=to_ms(end))
    return compute_stats(replace(history, account=now, funding_note="funding not included"))


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO: Monday 00:00 UTC
    MONTH = "month"


def period_start(moment: datetime, period: Period) -> datetime:
    """The UTC period `moment` falls in, as its first instant."""
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period is Period.DAY:
        return day
    if period is Period.WEEK:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def previous_start(start: datetime, period: Period) -> datetime:
    if period is Period.DAY:
        return start - timedelta(days=1)
    if period is Period.WEEK:
        return start - timedelta(days=7)
    return (start - timedelta(days=1)).replace(day=1)


@dataclass(frozen=True, slots=True)
class PeriodPnl:
    start: datetime  # UTC, the period's first instant
    realised: Decimal  # Σ closed PnL of the fills in the period, before fees
    fees: Decimal
    fills: int

    @property
    def net(self) -> Decimal:
        return sub(self.realised, self.fees)


def period_starts(now: datetime, period: Period, rows: int) -> list[datetime]:
    """The first instants of the last `rows` periods, the current one first."""
    starts = [period_start(now, period)]
    while len(starts) < rows:
        starts.append(previous_start(starts[-1], period))
    return starts


def period_pnl(fills: Sequence[Fill], period: Period, rows: int, now: datetime) -> list[PeriodPnl]:
    """Realised PnL and fees per period for the last `rows` periods (the current one first); a period
    without fills is a row of zeros, fills before the oldest period are left out."""
    starts = period_starts(now, period, rows)
    totals: dict[datetime, tuple[Decimal, Decimal, int]] = {s: (ZERO, ZERO, 0) for s in starts}
    for fill in fills:
        key = period_start(fill.time, period)
        if key in totals:
            realised, fees, count = totals[key]
            totals[key] = (add(realised, fill.closed_pnl), add(fees, fill.fee), count + 1)
    return [PeriodPnl(s, *totals[s]) for s in starts]
