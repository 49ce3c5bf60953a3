"""Where each followed source trades, and watching it there.

Followers trade on the runner's venue (MIRROR_FOLLOWER_VENUE: Hyperliquid by default, or GMX). A source
trades on the venue its follow plan names (`source_venue`, bot/service/settings.py): the runner's own
venue when it is that one, else a client built from the settings the first time a plan needs it (GMX
from MIRROR_GMX_*, Hyperliquid from MIRROR_NETWORK / MIRROR_HL_API_URL). `SourceRoutes` maps each source
address to its venue: the copier reads sources through it (`Copier.source_venue`), and so does the
reconciliation pass. One address has one source venue: a plan naming another venue for an address
already routed elsewhere is held back (alerted once), since the engine keys sources by address.

Watching: one `Intake` per source venue (`SourceWatch`), each with its own coalescers and the venue's
name, all handing their changes to the copier. A GMX watch polls the chain (no websocket); a Hyperliquid
one streams. A source change in a coin the follower's venue does not list is alerted
(`no_follower_market`) and recorded, never mirrored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol

from bot.alerts import Alert, AlertBus, AlertKind
from bot.config import Settings
from bot.domain import SourceChange, Venue
from bot.ledger import FollowPlan, Ledger
from bot.ledger.ids import normalise_account
from bot.logs import log_event
from bot.pipeline.desk import LoadedPlan
from bot.pipeline.execute import now_ms
from bot.pipeline.followers import Followers
from bot.pipeline.intake import Intake
from bot.venues import HYPERLIQUID, VenueConfigError, venue_factories

log = logging.getLogger(__name__)

PRIMARY = HYPERLIQUID  # the default follower venue, and every plan's default source venue
RESTART_OVERLAP_MS = 2_000  # a restarted watch re-reads this much before the restart (dedup drops repeats)


SourceVenueError = VenueConfigError  # a source venue cannot be opened: the message names the setting


class _Conflict(Exception):
    """A plan names a second source venue for an address already routed to another."""


class SourceRoutes:
    """Source address → the name and venue it trades on. `primary` is the runner's (followers') venue,
    named `primary_name`; other venues are built on first need by `factories` (default: the settings'
    GMX or Hyperliquid, whichever is not the primary) and closed with `close()`."""

    def __init__(
        self,
        primary: Venue,
        alerts: AlertBus,
        factories: Mapping[str, Callable[[], Venue]],
        *,
        primary_name: str = PRIMARY,
    ) -> None:
        self.primary = primary
        self.primary_name = primary_name
        self.alerts = alerts
        self.factories = {n: f for n, f in factories.items() if n != primary_name}
        self.venues: dict[str, Venue] = {primary_name: primary}
        self.routes: dict[str, str] = {}  # normalised source → venue name
        self._told: set[tuple[str, str]] = set()  # (source, reason) alerted once

    @classmethod
    def of_settings(cls, primary: Venue, alerts: AlertBus, settings: Settings) -> SourceRoutes:
        return cls(primary, alerts, venue_factories(settings), primary_name=settings.follower_venue.value)

    def name(self, source: str) -> str:
        return self.routes.get(normalise_account(source), self.primary_name)

    def venue(self, source: str) -> Venue:
        """The venue `source` is read and watched on (the copier's `source_venue`)."""
        return self.venues[self.name(source)]

    def open(self, name: str) -> Venue:
        """The venue `name`, built now if it is not yet; `SourceVenueError` if it cannot be."""
        if name not in self.venues:
            factory = self.factories.get(name)
            if factory is None:
                raise SourceVenueError(f"source_venue: {name!r} is not a venue (accepted: {self.accepted})")
            self.venues[name] = factory()
            log_event(log, "source_venue_opened", venue=name)
        return self.venues[name]

    @property
    def accepted(self) -> str:
        return ", ".join([self.primary_name, *self.factories])

    def route(self, plans: Sequence[FollowPlan], *, strict: bool = False) -> list[FollowPlan]:
        """Learn each active plan's source venue, opening it if needed; returns the plans that can be
        applied. An active plan whose venue cannot be opened, or which names a second venue for a routed
        address, is held back and alerted once — with `strict` (start-up) an unavailable venue raises
        instead. An inactive plan (an unfollow) reads nothing from its source venue: it is always applied,
        and routed only when its venue is open and the address free."""
        usable: list[FollowPlan] = []
        loaded = [(plan, LoadedPlan.parsed(plan)) for plan in plans]
        # Active plans first: an address's route comes from the follows in force, not an old unfollow.
        for plan, settings in sorted(loaded, key=lambda item: not item[1].active):
            source, wanted = normalise_account(plan.source), settings.source_venue
            routed = self.routes.get(source)
            try:
                if routed is not None and routed != wanted:
                    raise _Conflict(
                        f"{source} is followed on {routed} already: following it on {wanted} too "
                        "is not supported (one address, one source venue)"
                    )
                self.open(wanted)
            except (SourceVenueError, _Conflict) as exc:
                if not settings.active:
                    usable.append(plan)
                elif strict and isinstance(exc, SourceVenueError):
                    raise
                else:
                    reason = (
                        "source_venue_conflict" if isinstance(exc, _Conflict) else "source_venue_unavailable"
                    )
                    self._hold(plan, str(exc), reason)
                continue
            self.routes[source] = wanted
            usable.append(plan)
        return usable

    def _hold(self, plan: FollowPlan, message: str, reason: str) -> None:
        """Said once per source and reason (the plans are re-synced every few seconds)."""
        source = normalise_account(plan.source)
        if (source, reason) in self._told:
            return
        self._told.add((source, reason))
        log_event(log, reason, level=logging.WARNING, follower=plan.follower, source=source, error=message)
        self.alerts.publish(
            Alert(AlertKind.FAILURE, reason, f"not following {source}: {message}", plan.follower, source)
        )

    def groups(self, sources: Sequence[str]) -> dict[str, list[str]]:
        """`sources` by the venue they are watched on (each list in the given order)."""
        out: dict[str, list[str]] = {}
        for source in sources:
            out.setdefault(self.name(source), []).append(source)
        return out

    async def close(self) -> None:
        """Close the venues this built (the primary is the runner's to close)."""
        for name, venue in list(self.venues.items()):
            if name != self.primary_name:
                with contextlib.suppress(Exception):
                    await venue.close()


def guard_markets(
    handler: Callable[..., Awaitable[None]], markets: Mapping[str, Any], alerts: AlertBus, venue_name: str
) -> Callable[..., Awaitable[None]]:
    """`handler`, alerting first each change in a coin the follower's venue does not list (a GMX market
    mapped to a coin Hyperliquid lacks): it reaches the copier — and the ledger — but is not mirrored."""

    async def checked(changes: Sequence[SourceChange], payloads: Any) -> None:
        for change in changes:
            if change.coin not in markets:
                log_event(
                    log, "no_follower_market", level=logging.WARNING, source=change.source, coin=change.coin
                )
                alerts.publish(
                    Alert(
                        AlertKind.SKIPPED,
                        "no_follower_market",
                        f"{change.coin} ({venue_name}) is not listed on the follower's venue: not copied",
                        source=change.source,
                        coin=change.coin,
                        details={"event_id": change.event_id, "source_venue": venue_name},
                    )
                )
        await handler(changes, payloads)

    return checked


class SourceWatch:
    """One source venue's watch: its intake, the sources watched, and the task running it (restarted
    `restart_s` after a failure, from `overlap_ms` before the failure)."""

    def __init__(self, intake: Intake, alerts: AlertBus, *, restart_s: float, overlap_ms: int) -> None:
        self.intake = intake
        self.alerts = alerts
        self.restart_s = restart_s
        self.overlap_ms = overlap_ms
        self.watching: list[str] = []
        self.task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    async def ensure(
        self, sources: list[str], since_ms: int, snapshot: Callable[[str], Mapping[str, Decimal] | None]
    ) -> None:
        """Watch exactly `sources` (from `since_ms`); a source not watched so far is primed from
        `snapshot` (its complete positions, None when unknown). No-op when nothing changed."""
        if sources == self.watching and self.running:
            return
        for source in sources:
            known = snapshot(source)
            if source not in self.watching and known is not None:
                self.intake.prime(source, known)
        await self._halt()
        self.intake.reopen()
        self.watching = sources
        self.task = asyncio.ensure_future(self._run(sources, since_ms)) if sources else None

    async def _halt(self) -> None:
        if self.running:
            assert self.task is not None
            self.intake.close()  # the batch in hand is mirrored first, never cut in half
            await self.task

    async def _run(self, sources: list[str], since_ms: int) -> None:
        venue = self.intake.venue_name
        while not self._stopping:
            try:
                await self.intake.run(sources, since_ms)
                return  # closed
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("watch failed (%s)", venue)
                self.alerts.publish(
                    Alert(AlertKind.FAILURE, "watch_failed", f"watching sources failed ({venue}): {exc}")
                )
                since_ms = now_ms() - self.overlap_ms
                await asyncio.sleep(self.restart_s)

    def close(self) -> None:
        """Stop taking fills (`task` ends after the batch in hand)."""
        self._stopping = True
        self.intake.close()


class Feed(Protocol):
    """Where a runner's source changes come from; told the sources its followers follow now."""

    async def ensure(self, sources: Sequence[str]) -> None: ...


class SourceWatches:
    """One `SourceWatch` per source venue, each watching exactly the followed sources that trade there
    (restarted when that set changed); every intake hands its changes to `handler` (the copier's)."""

    def __init__(
        self,
        routes: SourceRoutes,
        ledger: Ledger,
        alerts: AlertBus,
        handler: Callable[..., Awaitable[None]],
        followers: Followers,
        *,
        window_ms: int,
        quiet_ms: int,
        restart_s: float,
    ) -> None:
        self.routes = routes
        self.ledger = ledger
        self.alerts = alerts
        self.handler = handler
        self.followers = followers
        self.window_ms = window_ms
        self.quiet_ms = quiet_ms
        self.restart_s = restart_s
        self.by_venue: dict[str, SourceWatch] = {}

    def of(self, name: str) -> SourceWatch:
        """The watch of source venue `name` (its intake records changes under that venue's name)."""
        if name not in self.by_venue:
            intake = Intake(
                self.routes.open(name),
                self.ledger,
                self.alerts,
                guard_markets(self.handler, self.followers.markets, self.alerts, name),
                venue_name=name,
                window_ms=self.window_ms,
                quiet_ms=self.quiet_ms,
            )
            self.by_venue[name] = SourceWatch(
                intake, self.alerts, restart_s=self.restart_s, overlap_ms=RESTART_OVERLAP_MS
            )
        return self.by_venue[name]

    async def ensure(self, sources: Sequence[str], since_ms: int | None = None) -> None:
        """Each source venue watches exactly its sources among `sources`; a restarted watch reads the
        fills since `since_ms` first (default: shortly before now)."""
        groups = self.routes.groups(sources)
        since = now_ms() - RESTART_OVERLAP_MS if since_ms is None else since_ms
        for name in sorted(set(groups) | set(self.by_venue)):
            await self.of(name).ensure(groups.get(name, []), since, self._snapshot)

    def _snapshot(self, source: str) -> dict[str, Decimal] | None:
        """`source`'s complete positions as last read (a coin it lacks is flat); None when never read."""
        state = self.followers.source_states.get(source)
        if state is None:
            return None
        markets = self.followers.markets
        return {coin: Decimal(0) for coin in markets} | {p.coin: p.size for p in state.positions}
