"""What every part of the copier shares: the followers' desks, the markets, and what is known of sources.

One `Followers` is built per runner and handed to each part (plans, account sync, mirroring, execution,
recovery): they read and change the same desks, never copies of them.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from bot.domain import AccountState, Venue
from bot.logs import log_event
from bot.pipeline.desk import Desk
from bot.pipeline.prices import PriceGate
from bot.pipeline.vols import VolBook
from strategies.engine import Follower
from strategies.model import Market

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Followers:
    venue: Venue  # the followers' venue: every follower order goes here
    markets: dict[str, Market]
    desks: dict[str, Desk] = field(default_factory=dict)  # by normalised address
    source_states: dict[str, AccountState] = field(default_factory=dict)  # each source as last read
    # The venue a source trades on (the runner routes GMX sources: bot/pipeline/sources.py); its
    # `capabilities.name` is the source's venue in the ledger. Default: the followers' venue.
    source_venue: Callable[[str], Venue] | None = None
    prices: PriceGate = field(default_factory=PriceGate)  # price-feed outliers (SPEC §11)
    vols: VolBook = field(default_factory=VolBook)  # σ per coin for volatility scaling (SPEC §10)
    # Each source's count of changes handed to the mirror: a read of the source that began before the
    # count moved may predate a change the engines were told of already, so it is not observed
    # (`read_outdated`): a stale read taken for the truth is a "missed change" back to the old size.
    source_epochs: Counter[str] = field(default_factory=Counter)

    def venue_of(self, source: str) -> Venue:
        return self.venue if self.source_venue is None else self.source_venue(source)

    def source_venue_name(self, source: str) -> str:
        """The venue a source trades on, as its leader events record it (a GMX source: `gmx`)."""
        return self.venue_of(source).capabilities.name

    def new_engine(self) -> Follower:
        return Follower(self.markets, min_notional=self.venue.capabilities.min_notional)

    def source_changed(self, source: str) -> None:
        """A change of `source` is being mirrored (called before the mirror's first await)."""
        self.source_epochs[source] += 1

    def read_outdated(self, source: str, epoch_at_read: int) -> bool:
        """Whether a read of `source` begun at `epoch_at_read` is older than a change since mirrored."""
        return self.source_epochs[source] != epoch_at_read

    def add(self, desk: Desk) -> None:
        self.desks[desk.address] = desk

    def sources(self) -> list[str]:
        """Every source some follower actively follows, sorted."""
        return sorted({s for desk in self.desks.values() for s in desk.active_sources()})

    def set_mids(self, desk: Desk, mids: Mapping[str, Decimal]) -> None:
        """The mids just read into `desk`'s engine (coins not traded here are ignored)."""
        for coin, mid in mids.items():
            if coin in self.markets:
                desk.engine.set_mid(coin, mid)

    def scales_by_vol(self, coin: str, sources: Iterable[str]) -> bool:
        """Some follow of one of `sources` scales `coin` by volatility (SPEC §10)."""
        wanted = set(sources)
        return any(
            config.vol is not None and config.filters.covers(coin)
            for desk in self.desks.values()
            for source, config in desk.engine.follows.items()
            if source in wanted
        )

    async def volatilities(self, changes: Mapping[str, Iterable[str]]) -> None:
        """σ of each changed coin (coin → the sources that changed it) read where a follow of those
        sources scales by it and the σ kept is stale; the engines take it in `set_vols`."""
        coins = [c for c, sources in changes.items() if self.vols.stale(c) and self.scales_by_vol(c, sources)]
        await self.vols.refresh(self.venue, coins)

    def set_vols(self, desk: Desk, coins: Iterable[str]) -> None:
        for coin in coins:
            desk.engine.set_vol(coin, self.vols.sigma(coin))

    async def refresh_vols(self) -> None:
        """The hourly job: every coin read so far read again, and handed to every engine."""
        await self.vols.refresh(self.venue, list(self.vols.read_ms))
        for desk in self.desks.values():
            self.set_vols(desk, self.vols.read_ms)

    async def mids(self) -> dict[str, Decimal]:
        """Every mid now ({} when the read fails: nothing is priced on a guess). The venue's reference
        prices (the outlier check, bot/pipeline/prices.py) are kept fresh off the hot path by the
        runner's `price_release` job; they are read here only when there are none fresh enough or when
        they contradict a mid (a market move, or an outlier? the venue is asked before anything is held)."""
        mids = await self._mids()
        await self.prices.confirm(self.venue, mids)
        return mids

    async def _mids(self) -> dict[str, Decimal]:
        try:
            return await self.venue.mids()
        except Exception as exc:
            log_event(log, "mids_read_failed", level=logging.WARNING, error=repr(exc))
            return {}
