"""`mirrorbot watch`: a watcher. It owns a share of the followed sources (leases, bot/cluster/member.py),
watches them with the intake of `mirrorbot run` (bot/pipeline/intake.py, sources.py: the websocket, the
backfill, the coalescing of one order's fills into one change) and publishes each normalised change on
the bus instead of mirroring it.

The sources followed by the most followers are taken first (they get this process's websocket users
first); a watcher never takes more sources than its budget's websocket users. A source whose watcher
died is taken by another at its next heartbeat once the lease expired; the new watch reads the fills
since the dead one may have stopped publishing (a lease and a heartbeat before, plus the overlap of a
restarted watch): a change published twice has the same event id, and the copy workers record it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from redis.exceptions import RedisError

from bot.alerts import AlertBus
from bot.bus.codec import BusChange
from bot.bus.streams import Bus
from bot.cluster.health import BUS, RoleView, bus_check, heartbeat_check
from bot.cluster.member import HEARTBEATS_PER_LEASE, Member
from bot.config import Settings
from bot.domain import Position, SourceChange, Venue
from bot.ledger import Ledger
from bot.logs import log_event
from bot.pipeline.convert import market_of
from bot.pipeline.desk import LoadedPlan
from bot.pipeline.execute import now_ms
from bot.pipeline.followers import Followers
from bot.pipeline.readiness import (
    LEDGER,
    NOT_CHECKED,
    VENUE,
    WEBSOCKETS,
    Check,
    venue_check,
    websockets_check,
)
from bot.pipeline.runner_options import RunnerOptions
from bot.pipeline.sources import RESTART_OVERLAP_MS, SourceRoutes, SourceWatches
from bot.pipeline.venue_wait import VenueWait, venue_instruments
from bot.venues import build_venue

log = logging.getLogger(__name__)

BUS_RETRY_S = 0.5  # between attempts to publish while the bus is unreachable


class Watcher:
    def __init__(
        self,
        settings: Settings,
        *,
        bus: Bus,
        member: Member,
        options: RunnerOptions | None = None,
        venue: Venue | None = None,
        ledger: Ledger | None = None,
        ws_users: int | None = None,
    ) -> None:
        self.settings, self.bus, self.member = settings, bus, member
        self.ws_users = ws_users  # its IP's websocket users, if fewer than the venue allows one IP
        self.options = options or RunnerOptions()
        self.alerts = AlertBus()
        self._venue = venue
        self._ledger = ledger
        self._owns_ledger = ledger is None
        self.routes: SourceRoutes | None = None
        self.followers: Followers | None = None
        self.watches: SourceWatches | None = None
        self.published = 0  # changes put on the bus (tests, status)
        self._task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._lost: set[tuple[str, str]] = set()  # (group, stream) owed entries the bus's cap removed
        self.halt = asyncio.Event()  # set by a signal: a start-up waiting for the venue gives up
        self.venue_wait = VenueWait()  # what start-up knows of the venue (its readiness says it)

    @property
    def ledger(self) -> Ledger:
        assert self._ledger is not None, "start() first"
        return self._ledger

    async def start(self) -> None:
        if self._ledger is None:
            self._ledger = await Ledger.open(self.settings.db_url)
        venue = self._venue = self._venue or build_venue(self.settings)
        if self.ws_users is not None and self.ws_users < venue.capabilities.max_ws_users:
            venue.capabilities = replace(venue.capabilities, max_ws_users=self.ws_users)  # the rest polled
        # A venue that is down is waited for, as `mirrorbot run` waits (the cluster is joined after).
        listed = await venue_instruments(venue, self.settings, self.venue_wait, self.halt)
        markets = {i.coin: market_of(i) for i in listed}
        self.routes = SourceRoutes.of_settings(venue, self.alerts, self.settings)
        self.followers = Followers(venue, markets, source_venue=self.routes.venue)
        o = self.options
        self.watches = SourceWatches(
            self.routes,
            self.ledger,
            self.alerts,
            self._publish,
            self.followers,
            window_ms=o.fill_window_ms,
            quiet_ms=o.quiet_ms,
            restart_s=o.watch_restart_s,
        )
        await self.member.join()
        await self.beat()
        log_event(log, "watcher_started", name=self.member.name, sources=len(self.member.held))
        self._task = asyncio.create_task(self._heartbeats(), name="watcher-heartbeat")

    async def wanted(self) -> list[str]:
        """Every actively followed source, the most followed first (they get websockets first)."""
        assert self.routes is not None
        plans = self.routes.route(await self.ledger.current_plans())
        followers = Counter(p.source.lower() for p in plans if LoadedPlan.active_of(p))
        return sorted(followers, key=lambda s: (-followers[s], s))

    async def beat(self) -> None:
        """Renew and rebalance the sources; watch exactly the ones held (a new one read first)."""
        assert self.routes is not None and self.followers is not None and self.watches is not None
        wanted = await self.wanted()
        beat = await self.member.beat(wanted)
        for source in sorted(beat.gained):
            try:
                await self._resume(source)
            except Exception as exc:
                log_event(log, "source_read_failed", level=logging.WARNING, source=source, error=repr(exc))
        for source in beat.lost:
            self.followers.source_states.pop(source, None)
        since = None
        if beat.gained:  # its last owner may have died a lease and a heartbeat ago: read from before that
            silent_s = self.member.heartbeat_s * (HEARTBEATS_PER_LEASE + 1)
            since = now_ms() - int(silent_s * 1000) - RESTART_OVERLAP_MS
        # The most followed first: the venue's watch streams the first ones (its websocket users) and
        # polls the rest.
        held, known = self.member.held, set(wanted)
        ranked = [s for s in wanted if s in held] + sorted(s for s in held if s not in known)
        await self.watches.ensure(ranked, since)

    async def _resume(self, source: str) -> None:
        """Where the watch of a source taken over starts: its sizes as last published (the ledger's
        latest leader events), the venue's for a coin never published. The fills backfilled since its
        last owner may have stopped then become the changes that owner did not publish."""
        assert self.routes is not None and self.followers is not None
        state = await self.routes.venue(source).account(source)
        published = await self.ledger.last_source_sizes(self.routes.name(source), source)
        if published:
            now = {p.coin: p for p in state.positions}
            positions = [
                replace(now[coin], size=size) if coin in now else Position(coin, size, None)
                for coin, size in published.items()
            ] + [p for coin, p in now.items() if coin not in published]
            state = replace(state, positions=tuple(p for p in positions if p.size != 0))
        self.followers.source_states[source] = state

    def checks(self) -> dict[str, Check]:
        """Its readiness (bot/cluster/health.py): the venue answered and its watches run, its websockets are
        up, the ledger took its heartbeat (it holds its leases), Redis answers."""
        watches = self.watches.by_venue if self.watches is not None else {}
        return {
            VENUE: venue_check(watches, self._task is not None, self.venue_wait.detail),
            WEBSOCKETS: Check(False, NOT_CHECKED) if self._venue is None else websockets_check(self._venue),
            LEDGER: heartbeat_check(self.member),
            BUS: bus_check(self.bus),
        }

    def view(self) -> RoleView:
        return RoleView(self.member, self.bus, self.checks, published=lambda: self.published)

    async def _heartbeats(self) -> None:
        while not self._closing.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.member.heartbeat_s)
                return
            try:
                await self.beat()
            except Exception:
                log.exception("watcher heartbeat failed")
            try:
                await self.trim()
            except (RedisError, OSError) as exc:  # the bus down: `_put` says so, trimming waits
                self.bus.saw(exc)
            except Exception:  # never in the way of the heartbeats
                log.exception("watcher: trimming the bus failed")

    async def trim(self) -> None:
        """Trim the bus (its rule: bot/bus/streams.py); a consumer group newly owed entries the cap
        removed is logged once (until it catches up), by every watcher that sees it."""
        report = await self.bus.trim()
        lost = {(group, stream) for group, streams in report.lost.items() for stream in streams}
        for group, stream in sorted(lost - self._lost):
            log_event(
                log,
                "bus_backlog_trimmed",
                level=logging.WARNING,
                group=group,
                stream=stream,
                max_len=self.bus.max_len,
            )
        self._lost = lost

    async def _publish(self, changes: Sequence[SourceChange], _events: Mapping[str, Any]) -> None:
        """The intake's batch onto the bus, in order (the raw fills stay in this process's log)."""
        assert self.routes is not None
        if self.member.overdue:  # frozen past a lease? a source taken over is not ours to publish
            await self.member.renew()
        held = self.member.held
        for change in changes:
            if change.source.lower() not in held:  # lost meanwhile: its new watcher publishes it
                continue
            await self._put(BusChange(self.routes.name(change.source), change))
            self.published += 1

    async def _put(self, item: BusChange) -> None:
        """Publish, waiting out a Redis that is down or restarting: the intake has taken the fills of
        this change, so it must reach the bus (the watch waits meanwhile; later changes stay behind it)."""
        told = False
        while True:
            try:
                await self.bus.publish(item)
                self.bus.saw(None)
                return
            except (RedisError, OSError) as exc:
                self.bus.saw(exc)
                if self._closing.is_set():
                    raise
                if not told:
                    log_event(log, "bus_unreachable", level=logging.WARNING, error=repr(exc))
                    told = True
                await asyncio.sleep(BUS_RETRY_S)

    async def stop(self) -> None:
        self._closing.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        if self.watches is not None:
            for watch in self.watches.by_venue.values():
                watch.close()
            tasks = [w.task for w in self.watches.by_venue.values() if w.task is not None]
            if tasks:
                await asyncio.wait(tasks, timeout=self.options.shutdown_timeout_s)
        if self._ledger is not None:
            with contextlib.suppress(Exception):
                await self.member.leave()
        if self.routes is not None:
            await self.routes.close()
        if self._venue is not None:
            await self._venue.close()
        if self._ledger is not None and self._owns_ledger:
            await self._ledger.close()
