"""Price-feed outliers (SPEC §11) as the copier meets them: the venue's reference prices kept fresh
beside the mids, every order's mid checked against them (bot/risk/outliers.py), and the decisions a
contradicted mid held, per pair, until a price update confirms the mid (the executor's
`release_held`, a runner job, re-examines them).

A held decision is recorded (reason `price_outlier`) without its order; the engine keeps its target,
so what is owed is `q(τ) − p` at release, priced from the fresh mid. Whichever sends the pair's next
order first (the release job, a new source change, the reconciliation pass) takes the hold away.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

from bot.domain import Venue
from bot.logs import log_event
from bot.pipeline.keys import DecisionKey
from bot.risk.outliers import PriceCheck, PriceLimits, off_by_pct

log = logging.getLogger(__name__)

# A reference read (`metaAndAssetCtxs`) weighs 20 of the IP's 1,200 a minute: once a second would be the
# whole budget. Re-read at once when a coin's mid newly contradicts it (the venue is asked before anything
# is held), at most every REF_MAX_AGE_MS while a decision is held or a contradiction already asked about
# lasts (an outlier event: at most 240 a minute, while it lasts), else every REF_IDLE_MS (80 a minute).
REF_MAX_AGE_MS = 5_000
REF_IDLE_MS = 15_000
REF_STALE_MS = 30_000  # older than this (reads failing) it is no reference: only the jump rule holds


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(slots=True)
class Held:
    """A pair's decision held by an outlier: the key its release is recorded under, and since when."""

    source: str
    key: DecisionKey
    since_ms: int
    alerted: bool = False


@dataclass(eq=False)
class PriceGate:
    limits: PriceLimits = field(default_factory=PriceLimits)
    clock: Callable[[], int] = wall_ms
    refs: dict[str, Decimal] = field(default_factory=dict)
    refs_ms: int | None = None
    held: dict[tuple[str, str], Held] = field(default_factory=dict)  # (follower, coin) → its hold
    # the coins the last read still contradicted, at the mid it was asked about: a known contradiction
    asked: dict[str, Decimal] = field(default_factory=dict)
    check: PriceCheck = field(init=False)

    def __post_init__(self) -> None:
        self.check = PriceCheck(self.limits)

    async def refresh(self, venue: Venue, *, max_age_ms: int = REF_MAX_AGE_MS, force: bool = False) -> bool:
        """Re-read the venue's reference prices when they are older than `max_age_ms` (or `force`);
        True when read now. A failed read is logged; the last reference serves until REF_STALE_MS old."""
        now = self.clock()
        if not force and self.refs_ms is not None and now - self.refs_ms < max_age_ms:
            return False
        try:
            self.refs = await venue.reference_prices()
        except Exception as exc:
            log_event(log, "reference_prices_read_failed", level=logging.WARNING, error=repr(exc))
            return False
        self.refs_ms = now
        return True

    def stale(self) -> bool:
        """No reference read yet, or the last one older than REF_STALE_MS (reads failing)."""
        return self.refs_ms is None or self.clock() - self.refs_ms > REF_STALE_MS

    def contradicted(self, mids: Mapping[str, Decimal]) -> set[str]:
        """The coins whose mid the (cached) reference contradicts: worth a fresh read before holding."""
        if self.stale():
            return set()
        limit = self.limits.outlier_pct
        return {
            coin
            for coin, ref in self.refs.items()
            if coin in mids and ref > 0 and off_by_pct(mids[coin], ref) > limit
        }

    async def confirm(self, venue: Venue, mids: Mapping[str, Decimal]) -> None:
        """Bring the reference up to date for pricing `mids`: read at once when there is none fresh or a
        coin's mid newly contradicts it (a market move the cached reference has not seen, or an outlier:
        the venue is asked before anything is held); a contradiction already asked about is asked
        again at most every REF_MAX_AGE_MS (its weight) unless its mid has since moved by more than the
        outlier limit (a new move, not the outlier's jitter)."""
        if self.stale():
            read = await self.refresh(venue, force=True)
        elif off := self.contradicted(mids):
            read = await self.refresh(venue, force=any(self._new(coin, mids[coin]) for coin in off))
        else:
            return
        if read:
            self.asked = {coin: mids[coin] for coin in self.contradicted(mids)}

    def _new(self, coin: str, mid: Decimal) -> bool:
        asked = self.asked.get(coin)
        return asked is None or asked <= 0 or off_by_pct(mid, asked) > self.limits.outlier_pct

    def reference(self, coin: str) -> Decimal | None:
        return None if self.stale() else self.refs.get(coin)

    def sound(self, coin: str, mid: Decimal) -> bool:
        return self.check.sound(coin, mid, self.reference(coin), self.clock())

    def screen(self, follower: str, coin: str, mid: Decimal | None, key: DecisionKey) -> bool:
        """Whether an order of (follower, coin) may be priced from `mid` now. True takes the pair's hold
        away (this order is what was owed); False holds the pair (the first hold's key is kept)."""
        now = self.clock()
        if mid is not None and self.check.check(coin, mid, self.reference(coin), now):
            self.held.pop((follower, coin), None)
            return True
        self.held.setdefault((follower, coin), Held(key.source, key, now))
        return False

    def release_key(self, held: Held) -> DecisionKey:
        """The released decision: the held one's next revision (a new instruction id and cloid)."""
        key = held.key
        return replace(
            key, revision=key.revision + 1, event_kind="release", record_idle=True, event_time_ms=None
        )

    def overdue(self, held: Held) -> bool:
        """Held past the alert delay and not alerted yet (marks it alerted)."""
        if held.alerted or self.clock() - held.since_ms < self.limits.alert_after_ms:
            return False
        held.alerted = True
        return True
