"""Volatility scaling's σ (SPEC §10) as the copier reads it: each coin's σ from the followers' venue's
completed hourly candles over the last 7 days (`strategies.volatility.sigma_pct`), kept for an hour.

A coin is read when a change of it reaches a follow that scales by volatility and its σ is older than
an hour (so the first open of a coin is sized with σ, not with the unknown-σ minimum), and every coin
read so far is re-read by the runner's hourly job `volatility`. A failed read (or a venue without
candles) leaves σ unknown — the engine then uses `vol_mult_min` and says `vol_unknown` — and is
retried after RETRY_MS.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from bot.domain import Venue
from bot.logs import log_event
from bot.pipeline.reads import gather_bounded
from strategies.volatility import WINDOW_HOURS, sigma_pct

log = logging.getLogger(__name__)

HOUR_MS = 3_600_000
REFRESH_MS = HOUR_MS  # SPEC §10: refreshed hourly
RETRY_MS = 5 * 60_000  # an unknown σ (a failed read) is asked again after 5 minutes
READS_AT_ONCE = 4


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(eq=False)
class VolBook:
    clock: Callable[[], int] = wall_ms
    sigmas: dict[str, Decimal | None] = field(default_factory=dict)  # coin → σ (None: unknown)
    read_ms: dict[str, int] = field(default_factory=dict)  # coin → when σ was last read

    def sigma(self, coin: str) -> Decimal | None:
        return self.sigmas.get(coin)

    def stale(self, coin: str) -> bool:
        read = self.read_ms.get(coin)
        if read is None:
            return True
        age = self.clock() - read
        return age >= (RETRY_MS if self.sigmas.get(coin) is None else REFRESH_MS)

    async def refresh(self, venue: Venue, coins: Iterable[str]) -> None:
        """Read σ of `coins` now (at most READS_AT_ONCE reads at a time)."""
        wanted = sorted(set(coins))
        if not wanted:
            return
        now = self.clock()
        start = now - (WINDOW_HOURS + 1) * HOUR_MS
        reads = await gather_bounded((venue.hourly_candles(c, start, now) for c in wanted), READS_AT_ONCE)
        for coin, read in zip(wanted, reads, strict=True):
            if isinstance(read, Exception):
                log_event(log, "volatility_read_failed", level=logging.WARNING, coin=coin, error=repr(read))
                sigma = None
            else:
                # completed hours only: the current hour's close is still moving
                sigma = sigma_pct([c.close for c in read if start <= c.time_ms <= now - HOUR_MS])
            self.sigmas[coin], self.read_ms[coin] = sigma, now
