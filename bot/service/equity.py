"""Equity history: the accounts' equity over time, for the chart of follower vs source equity.

The pipeline's accounts job calls `record_equity` on every reading. One row is kept per (address, role,
UTC minute): the first reading of a minute wins and later ones in that minute are ignored, so a job
that runs more often than once a minute (or repeats after a restart) neither grows the table nor
rewrites history. `equity_history` reads it back for charts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from bot.ledger import Ledger
from bot.ledger.ids import normalise_account
from bot.ledger.models import EquitySnapshot
from bot.ledger.repository import LedgerError
from bot.ledger.types import canonical_decimal, from_ms

MS_PER_MINUTE = 60_000


class EquityRole(StrEnum):
    FOLLOWER = "follower"
    SOURCE = "source"


@dataclass(frozen=True, slots=True)
class EquityPoint:
    time: datetime  # UTC
    equity: Decimal


def _role(role: str) -> EquityRole:
    try:
        return EquityRole(role)
    except ValueError:
        accepted = ", ".join(r.value for r in EquityRole)
        raise LedgerError(f"role must be one of {accepted}, got {role!r}") from None


async def record_equity(ledger: Ledger, *, address: str, equity: Decimal, time_ms: int, role: str) -> None:
    """Record `address`'s equity at `time_ms` (epoch ms, UTC); a second reading in the same minute is a
    no-op. Raises LedgerError for a float, a non-finite or negative equity, or an unknown role."""
    if isinstance(equity, bool) or not isinstance(equity, Decimal | int):
        raise LedgerError(f"equity must be a Decimal (never a float), got {type(equity).__name__}")
    try:
        exact = canonical_decimal(Decimal(equity))
    except ValueError as exc:
        raise LedgerError(f"equity: {exc}") from None
    if exact < 0:
        raise LedgerError(f"equity must not be negative, got {exact}")
    row = EquitySnapshot(
        address=normalise_account(address),
        role=_role(role).value,
        minute=time_ms // MS_PER_MINUTE,
        time=from_ms(time_ms),
        equity=exact,
    )
    await ledger.add_equity_snapshot(row)


async def equity_history(
    ledger: Ledger,
    *,
    address: str,
    role: str,
    since_ms: int | None = None,
    until_ms: int | None = None,
) -> list[EquityPoint]:
    """`address`'s recorded equity as `role`, oldest first, within [since_ms, until_ms] when given."""
    rows = await ledger.equity_snapshots(normalise_account(address), _role(role).value, since_ms, until_ms)
    return [EquityPoint(time=row.time, equity=row.equity) for row in rows]
