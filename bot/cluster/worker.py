"""`mirrorbot copy`: a copy worker. The live copy of `mirrorbot run` (bot/pipeline/runner.py, every part
reused: decide → guard → sign → send → record), for the followers this worker owns, fed by the bus.

- Followers are owned through leases (bot/cluster/member.py): each heartbeat the worker renews them and
  takes its share of the free ones. A follower it gains is loaded and recovered exactly like an account
  added while running (its pairs from the ledger, its open intents resolved by cloid, the source changes
  it missed applied from the venue's positions); one it lost is dropped.
- Every write of intents carries the worker's epochs and the ledger refuses a stale one (the fencing rule,
  bot/ledger/ownership.py): a worker that froze past its lease and was replaced cannot send.
- The followers are leased in the order of their sources (`by_source`): a worker's share is a run of
  whole sources, so it mirrors only those sources' changes (its feed lists them) and pays the fixed cost
  of a change (its ledger transactions, a mids read) only for them. A source is split between two
  workers only where a share ends inside its followers.
- The worker reads every change of the bus in a consumer group of its own (`copy:<name>`): a source
  whose followers are split over two workers must reach both; the worker skips the changes of the
  sources it does not serve — but while it loads followers it just gained, it holds those changes and
  mirrors them once the followers are loaded (their recovery may have read the source before the change,
  and the feed names a source only once its followers are loaded). A change is
  acknowledged only after its decisions and intents are committed. At start the group skips what was
  published before: recovery then brings the followers to their sources' positions as the venue reports
  them, which already holds that backlog (replaying it would send stale targets first).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection, Iterable, Sequence

from redis.exceptions import RedisError

from bot.alerts import AlertBus
from bot.bus.codec import BusChange
from bot.bus.streams import Bus
from bot.cluster.guard_state import LedgerBookStore
from bot.cluster.health import BUS, RoleView, bus_check, heartbeat_check
from bot.cluster.member import Member
from bot.config import Settings
from bot.domain import SourceChange, TradingAccount, Venue
from bot.ledger import Account, FollowPlan, Ledger
from bot.ledger.ids import normalise_account
from bot.ledger.ownership import Fence
from bot.ledger.repository import leader_event_row
from bot.logs import log_event
from bot.pipeline.accounts import AccountRoster
from bot.pipeline.desk import Desk, LoadedPlan
from bot.pipeline.readiness import LEDGER, Check
from bot.pipeline.runner import Runner, RunnerOptions
from bot.pipeline.sources import guard_markets
from bot.risk.book import BookStore

log = logging.getLogger(__name__)


DEFERRED_MAX = 50_000  # changes held while followers load, at most (each worker sees every change)


def by_source(followers: Iterable[str], plans: Iterable[FollowPlan]) -> list[str]:
    """`followers` in the order the workers lease them: by the sources each actively follows (sorted),
    then by address. The followers of one source are adjacent, so a share taken in this order is a run
    of whole sources (bot/cluster/member.py says what the order guarantees); a follower of several
    sources goes with its first, one following none comes first. A follower whose follows change stays
    with its worker (a lease moves only to rebalance, or on failover): its new source may be served by
    two workers until then."""
    follows: dict[str, set[str]] = {}
    for plan in plans:
        if LoadedPlan.active_of(plan):
            follows.setdefault(normalise_account(plan.follower), set()).add(normalise_account(plan.source))
    keys = {normalise_account(f) for f in followers}
    return sorted(keys, key=lambda f: (sorted(follows.get(f, ())), f))


class BusFeed:
    """The worker's feed: the sources its followers follow now (the changes of others are not its)."""

    def __init__(self) -> None:
        self.sources: set[str] = set()

    async def ensure(self, sources: Sequence[str]) -> None:
        self.sources = {s.lower() for s in sources}


class OwnedRoster(AccountRoster):
    """The follower accounts the worker owns now, of those registered for its venue."""

    def __init__(
        self, ledger: Ledger, settings: Settings, venue: str, alerts: AlertBus, member: Member
    ) -> None:
        super().__init__(ledger, settings, venue, alerts)
        self.member = member

    async def load(self) -> list[TradingAccount]:
        return await self.load_new(set(), await self.listed())

    async def listed(self) -> dict[str, Account]:
        held = self.member.held
        return {a: row for a, row in (await super().listed()).items() if a in held}

    def gone(self, loaded: Collection[str], rows: dict[str, Account]) -> list[str]:
        """Also the followers that left this worker since they were loaded, even those it holds again:
        another worker may have copied for them meanwhile, which the engines here never saw, so they are
        dropped and loaded from the ledger again. (One that left before it was loaded is loaded later,
        from the ledger as it is then: nothing to redo.)"""
        loaded = list(loaded)
        departed, self.member.departed = self.member.departed, self.member.departed & set(loaded)
        dropped = super().gone(loaded, rows)
        return dropped + [a for a in loaded if a in departed and a not in dropped]

    def dropped(self, address: str) -> None:
        super().dropped(address)
        self.member.departed.discard(address)

    def still_wanted(self, address: str) -> bool:
        """Only the followers still held: workers starting together first see each other a heartbeat
        in, so the first may take all and give most back while it loads them — it skips those."""
        return address in self.member.work.held


class CopyWorker(Runner):
    def __init__(
        self,
        settings: Settings,
        *,
        bus: Bus,
        member: Member,
        options: RunnerOptions | None = None,
        ledger: Ledger | None = None,
        venue: Venue | None = None,
    ) -> None:
        super().__init__(settings, options=options, ledger=ledger, venue=venue)
        self.bus, self.member = bus, member
        self.group = f"copy:{member.name}"
        self.health_name = f"worker:{member.name}"
        self.consumer = bus.consumer(self.group, member.name)
        self.feed = BusFeed()
        self._beat_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._sync: asyncio.Task[None] | None = None  # the followers gained being loaded (`_sync_held`)
        self._closing = asyncio.Event()
        self.mirrored = 0  # changes of the bus handed to the copier (tests, status)
        self._deferred: list[BusChange] = []  # changes held while followers load (`_mirror`)
        self.guard_states: LedgerBookStore | None = None  # the guard book's store, once started

    async def _followers(self) -> list[str]:
        """Every follower registered for this worker's venue, the work the workers share, in the order
        they are leased (`by_source`)."""
        rows = await self.ledger.accounts()
        mine = [r.address for r in rows if r.venue == self.venue_name]
        return by_source(mine, await self.ledger.current_plans())

    async def start(self) -> None:
        if self._ledger is None:
            self._ledger = await Ledger.open(self.settings.db_url)
        # The venue first: a worker that cannot reach it joins no cluster and takes no follower (another
        # worker can serve them meanwhile); it waits as `mirrorbot run` does, until `halt`.
        listed = await self._reach_venue()
        await self.member.join()
        try:
            await self._beat()
            # Heartbeats from now on: a start-up on a loaded host outlasts a lease.
            self._tasks = [asyncio.create_task(self._heartbeats(), name="worker-heartbeat")]
            skipped = await self.bus.skip_to_now(self.group)  # before recovery reads the sources
            held = len(self.member.held)
            log_event(log, "worker_joined", name=self.member.name, followers=held, skipped=skipped)
            await self._start(listed)
        except BaseException:
            self._closing.set()
            await self.member.leave()
            raise
        self._tasks.append(asyncio.create_task(self._consume(), name="worker-consume"))
        self._loaded()

    def _loaded(self) -> None:
        assert self.copier is not None
        log_event(log, "worker_followers", name=self.member.name, followers=sorted(self.copier.desks))

    def _open_feed(self) -> None:
        """The bus instead of source watches; and the venue's mids from its push feed (`run` has it
        through its watch): no HTTP read of the mids on the hot path, no weight on this IP's budget."""
        assert self.copier is not None
        self.copier.oms.fence = self
        self._watches = self.feed
        self.venue.stream_mids()

    def _roster(self) -> AccountRoster:
        return OwnedRoster(self.ledger, self.settings, self.venue_name, self.alerts, self.member)

    def _book_store(self) -> BookStore:
        """The guards' state in the ledger: it moves with a follower's lease (bot/cluster/guard_state.py)."""
        self.guard_states = LedgerBookStore(self.ledger, self.epochs)
        return self.guard_states

    async def recover(self, staged: Sequence[Desk] = ()) -> list[SourceChange]:
        """`run`'s recovery, the followers' guard state read first (their equity is read in it)."""
        assert self.copier is not None
        desks = staged or list(self.copier.desks.values())
        await self.copier.risk.adopt([d.address for d in desks])
        return await super().recover(staged)

    async def _drop(self, address: str) -> None:
        await super()._drop(address)
        assert self.copier is not None
        self.copier.risk.let_go([address])

    # --- readiness and what the ops port reads--------------------------------------------------------------

    def checks(self) -> dict[str, Check]:
        """`run`'s checks (venue, websockets, dead-man switch) with its `ledger` being the worker's
        heartbeat (it holds no runner lease: its leases are its followers'), and Redis answering."""
        checks = super().checks()
        checks[LEDGER] = heartbeat_check(self.member)
        checks[BUS] = bus_check(self.bus)
        return checks

    def view(self) -> RoleView:
        """Its ops port reports its own consumer group's streams (bot/ops/roles.py)."""
        return RoleView(
            self.member, self.bus, self.checks, self.group, consumed=lambda: self.consumer.acknowledged
        )

    # --- the leases (Fencing, for the order manager) ----------------------------------------------

    def epochs(self) -> Fence:
        return self.member.work.fence

    async def refresh(self) -> None:
        """Renew now (a write was fenced): the lost followers leave `epochs`; the next heartbeat drops
        their desks (not here: the caller holds their pairs' locks)."""
        async with self._beat_lock:
            await self.member.renew()

    async def _beat(self, *, take: bool = True) -> bool:
        async with self._beat_lock:
            beat = await self.member.beat(await self._followers(), take=take)
        return beat.changed

    @property
    def _syncing(self) -> bool:
        """Whether a load of followers gained while running is under way (`_sync_held`)."""
        return self._sync is not None and not self._sync.done()

    @property
    def _loading(self) -> bool:
        """Whether followers it took are still being loaded (start-up, or a gain beside the heartbeats)."""
        return not self.ready.is_set() or self._syncing

    async def _heartbeats(self) -> None:
        while not self._closing.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.member.heartbeat_s)
                return
            try:
                # No more followers while the last ones taken are loading: taking faster than it loads
                # kept a busy worker's loop busier, and the cluster's leases moving (4 workers, 2 cores).
                loading = self._loading
                changed = await self._beat(take=not loading)
                if loading:  # start-up loads what is held once it gets there; a sync runs already
                    continue
                assert self.copier is not None
                desks = set(self.copier.desks)
                # Also a follower that left and came back while the last load ran (its beat's change
                # seen then): loaded before it left, it is to be loaded again (`OwnedRoster.gone`).
                if changed or desks != self.member.held or desks & self.member.departed:
                    self._sync = asyncio.create_task(self._sync_held(), name="worker-sync")
            except Exception:
                log.exception("worker heartbeat failed")

    async def _sync_held(self) -> None:
        """Load and recover the followers gained, drop the lost — beside the heartbeats, never in their
        way: loading hundreds of followers (keystores, recovery reads) outlasts a lease, and a worker
        that stopped renewing while it loaded would lose them all and load again, for ever."""
        try:
            await self.sync_plans()
            self._loaded()
        except Exception:
            log.exception("worker: loading its followers failed")

    # --- the bus -----------------------------------------------------------------------------------

    async def _consume(self) -> None:
        while not self._closing.is_set():
            try:
                deliveries = await self.consumer.read(count=200, block_ms=500)
                self.bus.saw(None)
                if deliveries:
                    await self.consumer.handle_all(deliveries, self._mirror)
                elif self._deferred and not self._syncing:
                    await self._mirror([])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # left pending: read again, in order
                if isinstance(exc, RedisError | OSError):
                    self.bus.saw(exc)
                log.exception("worker: mirroring from the bus failed")
                self.consumer.rewind()
                await asyncio.sleep(1)

    async def _mirror(self, items: list[BusChange]) -> None:
        assert self.copier is not None
        if self.member.overdue:  # frozen past a lease? learn what is still ours first
            await self.refresh()
        syncing = self._syncing
        if self._deferred and not syncing:  # the followers loaded: what waited for them goes first
            items, self._deferred = [*self._deferred, *items], []
        waiting = {d.change.source.lower() for d in self._deferred}
        by_venue: dict[str, list[BusChange]] = {}
        for item in items:
            source = item.change.source.lower()
            if syncing and (source not in self.feed.sources or source in waiting):
                # Perhaps a source of the followers being loaded: their recovery may have read it
                # before this change, and the feed names it only once they are loaded. Skipped, the
                # change was lost until a reconciliation pass; kept, it is mirrored once they are
                # (a recovery that read it already finds nothing left to do), in order.
                self._defer(item)
                waiting.add(source)
            elif source in self.feed.sources:
                by_venue.setdefault(item.venue, []).append(item)
        for venue, mine in by_venue.items():
            changes = [i.change for i in mine]
            events = {c.event_id: leader_event_row(c, venue=venue) for c in changes}
            await guard_markets(self.copier.on_changes, self.copier.markets, self.alerts, venue)(
                changes, events
            )
            self.mirrored += len(changes)

    def _defer(self, item: BusChange) -> None:
        if len(self._deferred) >= DEFERRED_MAX:  # a bound on memory: the pass catches what is let go
            dropped = self._deferred.pop(0)
            log_event(log, "worker_deferred_dropped", level=logging.WARNING, source=dropped.change.source)
        self._deferred.append(item)

    async def stop(self) -> None:
        self._closing.set()
        if self._sync is not None:
            self._tasks.append(self._sync)
        if self._tasks:  # the batch in hand is mirrored and acknowledged first
            _, late = await asyncio.wait(self._tasks, timeout=self.options.shutdown_timeout_s)
            for task in late:
                task.cancel()
            self._tasks = []
        await super().stop()

    async def _release(self) -> None:
        if self.guard_states is not None:  # the last guard changes, while the leases are still ours
            await self.guard_states.drain()
        await self.member.leave()
