"""A source's recorded history, as the analytics read it: fills, funding and (online) today's account.

Pure data plus the one normalisation every statistic shares: fills sorted, windowed, and turned into
position changes by `bot.normalise` (the same changes the live pipeline feeds the engine).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from bot.domain import AccountState, FundingPayment, SourceChange, SourceFill
from bot.normalise import FillCoalescer, PositionGap
from strategies.model import Market

DAY_MS = 86_400_000


FundingEvent = FundingPayment  # one funding payment (`usdc` > 0 received, < 0 paid): bot/domain.py


@dataclass(frozen=True)
class History:
    """Everything known of one source over `[start_ms, end_ms]` (UTC milliseconds).

    `funding` is None when the venue could not say (the localnet has no funding; a recording has
    none): the statistics then count funding as 0 and say so (`funding_note`). `account` is today's
    equity and positions, online only. `markets` and `depth_usd_per_pct` come from the venue when online
    (lots, maximum leverage, book depth); offline the lots are inferred from the fills.
    """

    address: str
    fills: tuple[SourceFill, ...]
    start_ms: int
    end_ms: int
    funding: tuple[FundingEvent, ...] | None = None
    funding_note: str = ""
    account: AccountState | None = None
    markets: Mapping[str, Market] = field(default_factory=dict)
    depth_usd_per_pct: Mapping[str, Decimal] = field(default_factory=dict)
    mids: Mapping[str, Decimal] = field(default_factory=dict)
    origin: str = ""  # "venue <url>" or "file <path>"

    @cached_property
    def _normalised(self) -> tuple[list[SourceChange], list[PositionGap]]:
        coalescer = FillCoalescer(self.address)
        coalescer.add_all(self.fills)
        return coalescer.flush(), list(coalescer.gaps)

    @property
    def changes(self) -> list[SourceChange]:
        """Position changes `old → new`, one per (coin, timestamp), oldest first."""
        return self._normalised[0]

    @property
    def gaps(self) -> list[PositionGap]:
        """Where the venue's `startPosition` disagrees with the fills before it (fills missing)."""
        return self._normalised[1]

    @property
    def funding_events(self) -> tuple[FundingEvent, ...]:
        return self.funding or ()

    @property
    def coins(self) -> list[str]:
        return sorted({f.coin for f in self.fills})

    @property
    def span_ms(self) -> int:
        return max(0, self.end_ms - self.start_ms)


def fill_order(fill: SourceFill) -> tuple[int, int, int, str]:
    return (fill.time_ms, fill.oid, -1 if fill.tid is None else fill.tid, fill.side.value)


def is_perp(coin: str) -> bool:
    """Spot fills (`@107`, `PURR/USDC`) also come back from the fill endpoints; analytics are of perps."""
    return not coin.startswith("@") and "/" not in coin


def make_history(
    address: str,
    fills: Sequence[SourceFill],
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    funding: Sequence[FundingEvent] | None = None,
) -> History:
    """A history of the perp fills (and funding) inside `[start_ms, end_ms]`; a bound left out is the
    first (last) fill's time, so a recording's window is the span it covers. The rest of `History`
    is added with `dataclasses.replace`."""
    ordered = sorted(fills, key=fill_order)
    times = [f.time_ms for f in ordered]
    start = start_ms if start_ms is not None else (times[0] if times else 0)
    end = end_ms if end_ms is not None else (times[-1] if times else start)
    kept = tuple(f for f in ordered if start <= f.time_ms <= end and is_perp(f.coin))
    kept_funding = (
        None
        if funding is None
        else tuple(sorted((e for e in funding if start <= e.time_ms <= end), key=lambda e: e.time_ms))
    )
    return History(address, kept, start, end, kept_funding)
