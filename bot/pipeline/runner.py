"""`mirrorbot run`: the live copy loop.

Start-up: open the ledger, build the venue from the settings, load the follower accounts (keystores) and
the current follow plans, read every account, apply the plans (Copy Current decides on open source
positions), start watching the sources. Followers trade on the venue MIRROR_FOLLOWER_VENUE names
(Hyperliquid, or GMX with the followers registered for GMX: one process per follower venue); each source
is read and watched on the venue its plan names (`source_venue`: a GMX source through a `GmxVenue` built
from MIRROR_GMX_*, one intake per source venue — bot/pipeline/sources.py). Then, on APScheduler jobs:
re-read the plans (follows added or changed while running), refresh equities and positions, the
reconciliation pass (`bot/pipeline/reconcile.py`), and the dead-man switch re-arm (only on a venue with
`schedule_cancel`). SIGINT/SIGTERM stop it gracefully: intake first, in-flight sends finish and are
recorded, then the venue and the ledger are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]

from bot.alerts import Alert, AlertBus, AlertKind
from bot.config import Settings
from bot.domain import Instrument, SourceChange, TradingAccount, Venue
from bot.faults import fault_alert
from bot.ledger import Ledger
from bot.ledger.lease import RENEWALS_PER_STALE, Lease, LeaseHeld, lease_scope
from bot.logs import log_event
from bot.pipeline.accounts import AccountRoster, RunnerError
from bot.pipeline.convert import market_of
from bot.pipeline.copier import Copier
from bot.pipeline.desk import Desk
from bot.pipeline.equity_history import EquityHistory
from bot.pipeline.execute import now_ms
from bot.pipeline.guard_gate import RiskGate
from bot.pipeline.health import RUNNER_NAME, HealthRecorder
from bot.pipeline.inactivity import InactivityWatch
from bot.pipeline.intake import Intake
from bot.pipeline.jobs import Job, Jobs
from bot.pipeline.lag import CopyClock
from bot.pipeline.owner_controls import OwnerControls
from bot.pipeline.protect import Protector
from bot.pipeline.readiness import Check, runner_checks
from bot.pipeline.rebalance import Rebalancer
from bot.pipeline.reconcile import Reconciler
from bot.pipeline.runner_options import Companion, CompanionStarter, RunnerOptions
from bot.pipeline.sources import Feed, SourceRoutes, SourceVenueError, SourceWatch, SourceWatches
from bot.pipeline.venue_wait import StoppedBeforeStart, VenueWait, venue_instruments
from bot.risk import BookStore, RiskBook, RiskStore
from bot.venues import HYPERLIQUID, VenueConfigError, build_venue

__all__ = [
    "VENUE_NAME",
    "Companion",
    "CompanionStarter",
    "Runner",
    "RunnerError",
    "RunnerOptions",
    "StoppedBeforeStart",
]

log = logging.getLogger(__name__)

VENUE_NAME = HYPERLIQUID  # the default follower venue (MIRROR_FOLLOWER_VENUE)
RISK_STATE_FILE = "risk_state.json"  # the runtime guards' state (bot/risk), in the data dir


class Runner:
    """One bot process. `start()` then `wait()` (or `run()`); `stop()` is graceful and idempotent."""

    def __init__(
        self,
        settings: Settings,
        *,
        venue: Venue | None = None,
        ledger: Ledger | None = None,
        accounts: list[TradingAccount] | None = None,
        options: RunnerOptions | None = None,
        alerts: AlertBus | None = None,
        companions: Sequence[CompanionStarter] = (),
        observers: Sequence[CompanionStarter] = (),
    ) -> None:
        self.settings = settings
        self.starters = list(companions)  # started by `run()` beside the pipeline, in order
        # Started by `run()` before `start()` and stopped after `stop()`: they watch the runner from
        # outside, start-up included (the ops port: `/readyz` answers while the venue is waited for).
        self.observer_starters = list(observers)
        self.options = options or RunnerOptions.of_settings(settings)
        self.alerts = alerts or AlertBus()
        self._venue = venue
        self._ledger = ledger
        self._accounts = accounts
        # Accounts the runner loads itself follow the ledger while running (added: loaded and recovered;
        # removed: dropped); accounts handed in (tests, benchmarks) are the whole set.
        self.roster: AccountRoster | None = None
        self._accounts_lock = asyncio.Lock()
        self.companions: list[Companion] = []  # those `run()` started, stopped in reverse order
        self._owns_ledger = ledger is None
        self.copier: Copier | None = None
        self.reconciler: Reconciler | None = None
        self.protector: Protector | None = None  # stop-loss / take-profit trigger orders
        self.controls: OwnerControls | None = None  # pause / resume / stop as the owner set them
        self.inactivity: InactivityWatch | None = None  # sources gone quiet (SPEC §12)
        self.health: HealthRecorder | None = None  # persisted for `mirrorbot status`
        self.health_name = RUNNER_NAME  # its row (a copy worker of the cluster has its own)
        self.equity = EquityHistory()  # `/chart equity`: the readings of the accounts job
        self.clock = CopyClock()  # copy latency by stage, for whoever listens (bot/pipeline/lag.py)
        self.venue_wait = VenueWait()  # start-up's wait for a venue that is down (bot/pipeline/venue_wait.py)
        self.intake: Intake | None = None
        self.jobs = Jobs(self.alerts, self._held)  # the periodic jobs, from the end of start()
        self.rebalancer: Rebalancer | None = None  # allocation follows' ticks (SPEC §9), jobs of their own
        self.ready = asyncio.Event()
        self.stopped = asyncio.Event()
        self.sources: SourceRoutes | None = None  # source → the venue it trades on (bot/pipeline/sources.py)
        self._watches: Feed | None = None
        self.watches: dict[str, SourceWatch] = {}  # one per source venue; the primary's intake is `intake`
        self._stopping = False
        self.venue_name = settings.follower_venue.value  # followers' orders and fills are recorded under it
        self.lease: Lease | None = None  # this ledger's one runner for `venue_name` (bot/ledger/lease.py)
        # Set to stop (a signal, the lease lost): `run()` stops, a start-up waiting for its venue gives up.
        self.halt = asyncio.Event()
        self._lost_stop: asyncio.Future[None] | None = None

    @property
    def venue(self) -> Venue:
        assert self._venue is not None, "start() first"
        return self._venue

    @property
    def ledger(self) -> Ledger:
        assert self._ledger is not None, "start() first"
        return self._ledger

    # --- life cycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Hold this ledger's lease for the follower venue (or refuse: another runner has it), then
        start; a start that fails gives the lease back."""
        if self._ledger is None:
            self._ledger = await Ledger.open(self.settings.db_url)
        stale_s = self.options.lease_stale_s or self.settings.lease_stale_s
        scope = lease_scope(self.venue_name)
        lease = Lease(self.ledger.engine, scope, stale_s=stale_s, renew_s=stale_s / RENEWALS_PER_STALE)
        try:
            epoch = await lease.acquire()
        except LeaseHeld as exc:
            raise RunnerError(str(exc)) from None
        self.lease = lease
        log_event(log, "runner_lease_held", scope=lease.scope, epoch=epoch, pid=lease.holder.pid)
        lease.start(self._lease_lost)
        try:
            await self._start()
        except BaseException:
            await lease.release()
            raise

    def _lease_lost(self, why: str) -> None:
        """Another runner may be sending now: stop sending, stop."""
        log_event(log, "runner_lease_lost", level=logging.ERROR, reason=why)
        self.alerts.publish(Alert(AlertKind.FAILURE, "lease_lost", f"runner stopping: {why}"))
        self.halt.set()
        self._lost_stop = asyncio.ensure_future(self.stop())  # not a job: `stop()` waits for the jobs

    async def _reach_venue(self) -> list[Instrument]:
        """The venue built from the settings, and its instruments once it answers (waited for till `halt`)."""
        if self._venue is None:
            try:
                self._venue = build_venue(self.settings)  # MIRROR_FOLLOWER_VENUE (bot/venues.py)
            except VenueConfigError as exc:
                raise RunnerError(str(exc)) from None
        if hasattr(self._venue, "on_fault"):  # faults only the venue client sees become alerts too
            self._venue.on_fault = lambda code, detail: self.alerts.publish(fault_alert(code, detail))
        return await venue_instruments(self.venue, self.settings, self.venue_wait, self.halt)

    async def _start(self, listed: Sequence[Instrument] | None = None) -> None:
        """`listed`: the venue's instruments, when the caller has already waited for the venue."""
        markets = {i.coin: market_of(i) for i in listed or await self._reach_venue()}
        risk = RiskGate(RiskBook.open(self._book_store()), self.alerts)
        self.copier = Copier(
            self.venue,
            self.ledger,
            self.alerts,
            markets,
            venue_name=self.venue_name,
            policy=self.options.policy,
            risk=risk,
            clock=self.clock,
        )
        self.copier.settler.fills.options = self.options.fills
        self.protector = Protector(self.copier)  # hooks itself after every settled position change
        self.rebalancer = Rebalancer(self.copier, self.jobs)
        self.sources = SourceRoutes.of_settings(self.venue, self.alerts, self.settings)
        self.copier.source_venue = self.sources.venue
        try:  # before recovery: restored follows read their sources through their own venues
            self.sources.route(await self.ledger.current_plans(), strict=True)
        except SourceVenueError as exc:
            raise RunnerError(str(exc)) from None
        self._open_feed()
        if self._accounts is None:
            self.roster = self._roster()
            self._accounts = await self.roster.load()
        for account in self._accounts:
            self.copier.add_desk(Desk(account, self.copier.followers.new_engine()))
        self.controls = OwnerControls(self.ledger, self.copier.oms, risk, self.copier.desks)
        self.inactivity = InactivityWatch(self.ledger, self.copier.desks, risk, self.alerts)
        missed = await self.recover()
        await self.sync_plans(missed)
        copier = self.copier
        self.health = HealthRecorder(
            self.ledger,
            self.alerts,
            lambda: {a: d.sync_score for a, d in copier.desks.items()},
            heartbeat_s=self.options.heartbeat_s,
            name=self.health_name,
            checks=self.checks,
        )
        await self.reconcile()  # SPEC §6: a pass at start-up, then on the schedule
        await self.health.start()
        self._schedule()
        log_event(
            log,
            "runner_started",
            followers=len(self.copier.desks),
            sources=len(self.copier.sources()),
            venue=self.venue_name,
        )
        self.ready.set()

    def _open_feed(self) -> None:
        """Where the source changes come from: this process watches the sources itself (a copy worker
        of the distributed roles reads them from the bus instead: bot/cluster/worker.py)."""
        assert self.copier is not None and self.sources is not None
        options = self.options
        watches = SourceWatches(
            self.sources,
            self.ledger,
            self.alerts,
            self._leased(self.copier.on_changes),
            self.copier.followers,
            window_ms=options.fill_window_ms,
            quiet_ms=options.quiet_ms,
            restart_s=options.watch_restart_s,
        )
        self._watches, self.watches = watches, watches.by_venue
        self.intake = watches.of(self.sources.primary_name).intake

    def _book_store(self) -> BookStore:  # the guards' state (peaks, trips) survives a restart in the data dir
        return RiskStore(self.settings.data_dir / RISK_STATE_FILE)

    def _roster(self) -> AccountRoster:  # the accounts this process trades: all of its venue's
        return AccountRoster(self.ledger, self.settings, self.venue_name, self.alerts)

    def _schedule(self) -> None:
        o = self.options
        jobs: list[tuple[str, float, Job]] = [
            ("plans", o.plans_refresh_s, self.sync_plans),
            ("accounts", o.accounts_refresh_s, self.refresh_accounts),
            ("reconcile", o.reconcile_s, self.reconcile),
            ("price_release", o.price_recheck_s, self.release_held),
            ("volatility", o.vol_refresh_s, self.refresh_vols),
            ("inactivity", o.inactivity_check_s, self.check_inactivity),
        ]
        rearm = self.venue.capabilities.schedule_cancel and o.dead_man_rearm_s > 0
        if rearm:
            jobs.append(("dead_man_switch", o.dead_man_rearm_s, self.arm_dead_man_switch))
        self.jobs.start(jobs)
        assert self.rebalancer is not None
        self.rebalancer.schedule()  # and after every plan sync: one job per allocation follow
        if rearm:
            self.jobs.spawn(self.arm_dead_man_switch())

    def checks(self) -> dict[str, Check]:
        """Whether it can do its job now (bot/pipeline/readiness.py): `/readyz`, status and `/health`."""
        return runner_checks(
            venue=self._venue,
            venue_wait=self.venue_wait,
            started=self.ready.is_set(),
            watches=self.watches,
            lease=self.lease,
            followers=self.copier.desks if self.copier is not None else (),
            armed_until=self.health.dead_man if self.health is not None else {},
            now=datetime.now(UTC),
        )

    @property
    def scheduler(self) -> AsyncIOScheduler | None:
        return self.jobs.scheduler

    async def _held(self) -> bool:
        """Whether this runner still holds the ledger's lease (always, without one)."""
        return self.lease is None or await self.lease.still_held()

    async def stop(self) -> None:
        """Stop intake, let in-flight sends finish and be recorded, then close the venue and ledger."""
        if self._stopping:
            await self.stopped.wait()
            return
        self._stopping = True
        log_event(log, "runner_stopping")
        jobs = self.jobs.stop()
        for watch in self.watches.values():
            watch.close()
        tasks = [w.task for w in self.watches.values()]
        pending = [t for t in (*tasks, *jobs) if t is not None and not t.done()]
        if pending:
            _, late = await asyncio.wait(pending, timeout=self.options.shutdown_timeout_s)
            for task in late:
                task.cancel()
            for task in late:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self.protector is not None:  # queued stop-loss / take-profit passes finish first
            await self.protector.close()
        if self.copier is not None:  # the fills of orders answered so far, before the ledger closes
            await self.copier.settler.close()
        if self.health is not None:
            await self.health.stop()
        if self.sources is not None:
            await self.sources.close()
        if self._venue is not None:
            await self._venue.close()
        await self._release()  # the last send is recorded: another process may take over now
        if self._ledger is not None and self._owns_ledger:
            await self._ledger.close()
        log_event(log, "runner_stopped")
        self.stopped.set()

    async def _release(self) -> None:  # what this process held: the ledger's runner lease
        if self.lease is not None:
            await self.lease.release()

    async def run(self, *, duration_s: float | None = None, once: bool = False) -> None:
        """Start, run until SIGINT/SIGTERM (or `duration_s`), stop. `once`: one pass of every job."""
        loop = asyncio.get_running_loop()
        stop = self.halt
        handled: list[signal.Signals] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
                handled.append(sig)
        observers: list[Companion] = []
        try:
            for starter in self.observer_starters:
                if (observer := await starter(self)) is not None:
                    observers.append(observer)
            await self.start()
            if once:
                await self.reconcile()
            else:
                # They begin with the alerts start() published (Copy Current fills, missed changes).
                for starter in self.starters:
                    companion = await starter(self)
                    if companion is not None:
                        self.companions.append(companion)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), duration_s)
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)
            while self.companions:
                await self.companions.pop().stop()
            await self.stop()
            while observers:
                await observers.pop().stop()

    async def recover(self, staged: Sequence[Desk] = ()) -> list[SourceChange]:
        """Restart safety (bot/pipeline/recovery.py): the pairs from the ledger, the orders and fills a
        stop left unrecorded; returns the source changes missed while down. `staged`: followers loaded
        while running, recovered the same way and added to the copier."""
        assert self.copier is not None
        return await self.copier.recovery.recover(staged)

    # --- jobs ------------------------------------------------------------------------------------

    async def sync_plans(self, missed: Sequence[SourceChange] = ()) -> None:
        """Bring the accounts up to date with the ledger (`sync_accounts`), apply the current plan
        versions, mirror the source changes `missed` while down (start-up, or a newly loaded account's),
        and (re)start the watch if the set of sources changed."""
        assert self.copier is not None
        if self.roster is not None and self.ready.is_set():  # at start-up, start() has just loaded them
            try:
                async with self._accounts_lock:  # a control room's /stop syncs too: each loads once
                    missed = [*missed, *await self.sync_accounts()]
            except Exception as exc:  # the accounts already running keep their plans applied
                log.exception("account sync failed")
                self.alerts.publish(
                    Alert(AlertKind.FAILURE, "account_sync_failed", f"loading new accounts failed: {exc}")
                )
        if self.controls is not None:
            await self.controls.sync()  # paused first: a plan applied now opens nothing while paused
        assert self.sources is not None
        told = await self.copier.plans.apply(self.sources.route(await self.ledger.current_plans()))
        assert self._watches is not None
        await self._watches.ensure(self.copier.sources())
        for alert in told:  # "copying started" once the source is watched, not merely applied
            self.alerts.publish(alert)
        await self.copier.recovery.apply_missed(missed)
        if self.rebalancer is not None:
            self.rebalancer.schedule()

    async def sync_accounts(self) -> list[SourceChange]:
        """The follower accounts the ledger lists now, while running (`/connect`, `mirrorbot account
        add`, a removal): a new one is loaded (bot/pipeline/accounts.py) and recovered like at start-up,
        then its plans apply with the others' (Copy Current); one no longer listed is dropped (its
        in-flight orders finish first); one whose agent was replaced (its row names another keystore)
        is dropped and loaded again with the new key, so a revoked agent never signs again. Returns the
        new accounts' missed source changes."""
        assert self.copier is not None and self.roster is not None
        rows = await self.roster.listed()
        for address in self.roster.gone(list(self.copier.desks), rows):
            await self._drop(address)
        accounts = await self.roster.load_new(set(self.copier.desks), rows)
        if not accounts:
            return []
        staged = [Desk(account, self.copier.followers.new_engine()) for account in accounts]
        missed = await self.recover(staged)
        log_event(log, "accounts_loaded", followers=[d.address for d in staged])
        return missed

    async def _drop(self, address: str) -> None:
        """Stop trading an account the ledger no longer lists: its pairs' in-flight work ends first."""
        assert self.copier is not None and self.roster is not None
        desk = self.copier.desks[address]
        async with contextlib.AsyncExitStack() as locks:
            for coin in sorted(self.copier.markets):
                await locks.enter_async_context(desk.lock(coin))
            del self.copier.desks[address]
        self.roster.dropped(address)
        log_event(log, "account_dropped", follower=address)

    async def refresh_accounts(self) -> None:
        assert self.copier is not None
        await self.copier.settler.fills.flush()  # the ledger's fills up to date with the positions read
        await self.copier.refresh_accounts()
        if self.protector is not None:
            await self.protector.sweep()  # a trigger that fired is acted on before any re-open
        await self.equity.record(self.ledger, self.copier.followers)

    async def reconcile(self) -> int:
        """The reconciliation pass (bot/pipeline/reconcile.py); the number of orders it sent."""
        assert self.copier is not None
        if self.reconciler is None:
            self.reconciler = Reconciler(self.copier)
        if self.protector is not None:
            await self.protector.sweep(verify=True)  # a fired trigger leaves its pair untracked
        report = await self.reconciler.run()
        if self.health is not None:
            self.health.reconciled(report)
        return report.orders

    async def release_held(self) -> int:
        """The decisions a price outlier holds, re-examined (SPEC §11); the number released."""
        assert self.copier is not None
        return await self.copier.executor.release_held()

    async def check_inactivity(self) -> None:
        """SPEC §12: tell the follows whose source went quiet, and apply the policies they chose now."""
        if self.inactivity is not None and await self.inactivity.check():
            await self.sync_plans()

    async def refresh_vols(self) -> None:
        """σ of every coin read so far, re-read (SPEC §10: hourly) and handed to the engines."""
        assert self.copier is not None
        await self.copier.followers.refresh_vols()

    async def arm_dead_man_switch(self) -> None:
        """Re-arm Hyperliquid's scheduleCancel for every follower: if the bot dies, its open orders are
        cancelled `dead_man_horizon_s` later (IOCs never rest, but trigger orders and manual ones do)."""
        assert self.copier is not None
        horizon_ms = int(self.options.dead_man_horizon_s * 1000)
        desks = self.copier.desks
        for desk in list(desks.values()):  # followers come and go while it awaits the venue
            if desks.get(desk.address) is not desk:  # dropped meanwhile: no longer this process's
                continue
            # Each from now: one time for all had passed the venue's "at least 5 s ahead" by the end of
            # a round over 10,000 followers (bench.scale), and every later one was refused.
            at = now_ms() + horizon_ms
            try:
                await self.venue.schedule_cancel(desk.account, at)
                if self.health is not None:
                    self.health.armed(desk.address, at)
            except Exception as exc:
                self.alerts.publish(
                    Alert(AlertKind.FAILURE, "dead_man_switch", f"re-arming failed: {exc}", desk.address)
                )

    def _leased(self, on_changes: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        """Source changes are acted on only while this runner holds the lease (after a freeze, the
        first change asks the ledger; a runner replaced meanwhile drops it and stops)."""

        async def leased(*args: Any) -> None:  # the hot path: no extra await when no lease is kept
            if self.lease is None or await self.lease.still_held():
                await on_changes(*args)

        return leased
