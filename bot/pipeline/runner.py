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
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]

from bot.alerts import Alert, AlertBus, AlertKind
from bot.config import Settings
from bot.domain import SourceChange, TradingAccount, Venue
from bot.faults import fault_alert
from bot.ledger import Account, AccountKind, Ledger
from bot.ledger.ids import normalise_account
from bot.ledger.lease import RENEWALS_PER_STALE, Lease, LeaseHeld, lease_scope
from bot.logs import log_event
from bot.pipeline.convert import market_of
from bot.pipeline.copier import Copier
from bot.pipeline.desk import Desk
from bot.pipeline.execute import now_ms
from bot.pipeline.fills import FillReaderOptions
from bot.pipeline.guard_gate import RiskGate
from bot.pipeline.health import HealthRecorder
from bot.pipeline.intake import Intake
from bot.pipeline.oms import RetryPolicy
from bot.pipeline.owner_controls import OpenOrders, OwnerControls, venue_open_orders
from bot.pipeline.protect import Protector
from bot.pipeline.reconcile import Reconciler
from bot.pipeline.sources import (
    SourceRoutes,
    SourceVenueError,
    SourceWatch,
    guard_markets,
)
from bot.risk import RiskBook, RiskStore
from bot.service import Actor, MirrorService, ServiceError
from bot.venues import HYPERLIQUID, VenueConfigError, build_venue, capabilities

log = logging.getLogger(__name__)

VENUE_NAME = HYPERLIQUID  # the default follower venue (MIRROR_FOLLOWER_VENUE)
RESTART_OVERLAP_MS = 2_000  # a restarted watch re-reads this much before the restart (dedup drops repeats)
RISK_STATE_FILE = "risk_state.json"  # the runtime guards' state (bot/risk), in the data dir


class RunnerError(Exception):
    """The bot cannot start: the message says what to fix (no secrets in it)."""


@dataclass(frozen=True, slots=True)
class RunnerOptions:
    plans_refresh_s: float = 5.0  # follows added or changed while running are picked up this fast
    accounts_refresh_s: float = 15.0  # equities (ρ(now)) and positions re-read from the venue
    reconcile_s: float = 60.0
    dead_man_rearm_s: float = 60.0  # the switch is re-armed this often …
    dead_man_horizon_s: float = 300.0  # … to cancel every open order this long after the last re-arm
    watch_restart_s: float = 2.0  # wait after the venue's watch failed, before restarting it
    fill_window_ms: int = 0  # FillCoalescer window (SPEC §2: configurable)
    quiet_ms: int = 0  # > 0: also wait this long after a fill for more (0: take what is queued, no wait)
    shutdown_timeout_s: float = 30.0  # in-flight sends get this long to finish
    heartbeat_s: float = 5.0  # the health row (`mirrorbot status`) is rewritten this often
    # One runner per follower venue (bot/ledger/lease.py): a silent holder's lease is taken over after
    # `lease_stale_s` (None: MIRROR_LEASE_STALE_S); it is renewed `RENEWALS_PER_STALE` times within that.
    lease_stale_s: float | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    fills: FillReaderOptions = field(default_factory=FillReaderOptions)  # batched fills reads (issue #7)
    # The Telegram control room's options (bot.telegram.TelegramOptions; None: its defaults). It starts
    # with `run()` whenever MIRROR_TELEGRAM_TOKEN is set.
    telegram: Any = None


async def load_accounts(
    ledger: Ledger,
    password: str | None,
    venue_name: str = VENUE_NAME,
    alerts: AlertBus | None = None,
    *,
    rows: Sequence[Account] | None = None,
) -> list[TradingAccount]:
    """Every follower registered for `venue_name` with its signing key decrypted from its keystore (an
    agent wallet's on Hyperliquid; on GMX, which has no agents, the account's own key). `rows`: just
    these accounts, already read (one registered while running).

    An account whose keystore cannot be opened (wrong password, file gone, the wrong key) is skipped
    with a log line and an alert naming the account, never the key: the others are copied. Only when
    no account at all can be opened at start-up (`rows` unset) does the runner refuse to start."""
    starting = rows is None
    if rows is None:
        rows = [row for row in await ledger.accounts() if row.venue == venue_name]
    if rows and not password:
        raise RunnerError("MIRROR_KEYSTORE_PASSWORD is needed to open the follower accounts' keystores")
    service = MirrorService(ledger)
    actor = Actor.system("runner")
    accounts: list[TradingAccount] = []
    skipped: list[str] = []
    for row in rows:
        try:
            accounts.append(await _open_account(service, actor, row, password or "", venue_name))
        except RunnerError as exc:
            skipped.append(str(exc))
            log_event(log, "account_skipped", level=logging.ERROR, account=row.address, reason=str(exc))
            if alerts is not None:
                message = f"not copied: {exc}"
                alerts.publish(Alert(AlertKind.FAILURE, "account_skipped", message, row.address))
    if rows and not accounts and starting:
        raise RunnerError("; ".join(skipped))
    return accounts


async def _open_account(
    service: MirrorService, actor: Actor, row: Account, password: str, venue_name: str
) -> TradingAccount:
    if not row.keystore_path:
        raise RunnerError(f"account {row.address} has no keystore: register it with `mirrorbot account add`")
    try:
        key = await service.load_key(actor, row.keystore_path, password)
    except ServiceError as exc:
        raise RunnerError(f"account {row.address}: {exc}") from None
    caps = capabilities(venue_name)
    if not caps.agent_wallets and key.address.lower() != row.address.lower():
        raise RunnerError(
            f"account {row.address} ({venue_name}): its keystore holds the key of {key.address.lower()}; "
            f"{caps.display} has no agent wallets, so the keystore must hold the account's own key"
        )
    traded_for = row.address if row.kind in (AccountKind.VAULT.value, AccountKind.SUB_ACCOUNT.value) else None
    return TradingAccount(row.address, key.key.hex(), vault_address=traded_for)


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
    ) -> None:
        self.settings = settings
        self.options = options or RunnerOptions()
        self.alerts = alerts or AlertBus()
        self._venue = venue
        self._ledger = ledger
        self._accounts = accounts
        # Accounts the runner loads itself follow the ledger while running (added: loaded and recovered;
        # removed: dropped); accounts handed in (tests, benchmarks) are the whole set.
        self._follows_ledger = accounts is None
        self._unloadable: dict[str, str | None] = {}  # address → the keystore path that failed to open
        self._keystores: dict[str, str | None] = {}  # address → the keystore its loaded key came from
        self._accounts_lock = asyncio.Lock()
        self.telegram: Any = None  # the control room started by `run()` (bot.telegram.TelegramHandle)
        self._owns_ledger = ledger is None
        self.copier: Copier | None = None
        self.reconciler: Reconciler | None = None
        self.protector: Protector | None = None  # stop-loss / take-profit trigger orders
        self.controls: OwnerControls | None = None  # pause / resume / stop as the owner set them
        self.health: HealthRecorder | None = None  # persisted for `mirrorbot status`
        self.intake: Intake | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self.ready = asyncio.Event()
        self.stopped = asyncio.Event()
        self.sources: SourceRoutes | None = None  # source → the venue it trades on (bot/pipeline/sources.py)
        self.watches: dict[str, SourceWatch] = {}  # one per source venue; the primary's intake is `intake`
        self._jobs: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self.venue_name = settings.follower_venue.value  # followers' orders and fills are recorded under it
        self._equity_minute = -1  # the UTC minute of the last equity readings recorded
        self.lease: Lease | None = None  # this ledger's one runner for `venue_name` (bot/ledger/lease.py)
        self._halt = asyncio.Event()  # `run()` stops when set (a signal, or the lease lost)
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
        self._halt.set()
        self._lost_stop = asyncio.ensure_future(self.stop())  # not a job: `stop()` waits for the jobs

    async def _start(self) -> None:
        if self._venue is None:
            try:
                self._venue = build_venue(self.settings)  # MIRROR_FOLLOWER_VENUE (bot/venues.py)
            except VenueConfigError as exc:
                raise RunnerError(str(exc)) from None
        if hasattr(self._venue, "on_fault"):  # faults only the venue client sees become alerts too
            self._venue.on_fault = lambda code, detail: self.alerts.publish(fault_alert(code, detail))
        markets = {i.coin: market_of(i) for i in await self.venue.instruments()}
        # The guards' state (peaks, day start, trips) survives a restart in the data dir.
        risk = RiskGate(RiskBook.open(RiskStore(self.settings.data_dir / RISK_STATE_FILE)), self.alerts)
        self.copier = Copier(
            self.venue,
            self.ledger,
            self.alerts,
            markets,
            venue_name=self.venue_name,
            policy=self.options.policy,
            risk=risk,
        )
        self.copier.settler.fills.options = self.options.fills
        self.protector = Protector(self.copier)  # hooks itself after every settled position change
        self.sources = SourceRoutes.of_settings(self.venue, self.alerts, self.settings)
        self.copier.source_venue = self.sources.venue
        try:  # before recovery: restored follows read their sources through their own venues
            self.sources.route(await self.ledger.current_plans(), strict=True)
        except SourceVenueError as exc:
            raise RunnerError(str(exc)) from None
        self.intake = self._watch_of(self.sources.primary_name).intake
        if self._accounts is None:
            password = self.settings.keystore_password
            self._accounts = await load_accounts(
                self.ledger, password.get_secret_value() if password else None, self.venue_name, self.alerts
            )
            await self._note_unloaded()
        for account in self._accounts:
            self.copier.add_desk(Desk(account, self.copier.followers.new_engine()))
        self.controls = OwnerControls(
            self.ledger, self.venue, risk, self.copier.desks, _open_orders(self.venue)
        )
        missed = await self.recover()
        await self.sync_plans(missed)
        copier = self.copier
        self.health = HealthRecorder(
            self.ledger,
            self.alerts,
            lambda: {a: d.sync_score for a, d in copier.desks.items()},
            heartbeat_s=self.options.heartbeat_s,
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

    def _schedule(self) -> None:
        o = self.options
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        jobs: list[tuple[str, float, Callable[[], Awaitable[object]]]] = [
            ("plans", o.plans_refresh_s, self.sync_plans),
            ("accounts", o.accounts_refresh_s, self.refresh_accounts),
            ("reconcile", o.reconcile_s, self.reconcile),
        ]
        if self.venue.capabilities.schedule_cancel and o.dead_man_rearm_s > 0:
            jobs.append(("dead_man_switch", o.dead_man_rearm_s, self.arm_dead_man_switch))
        for name, seconds, job in jobs:
            if seconds > 0:
                self.scheduler.add_job(
                    self._job(name, job), "interval", seconds=seconds, id=name, max_instances=1, coalesce=True
                )
        self.scheduler.start()
        if self.venue.capabilities.schedule_cancel and o.dead_man_rearm_s > 0:
            self._spawn(self.arm_dead_man_switch())

    def _job(
        self, name: str, job: Callable[[], Awaitable[object]]
    ) -> Callable[[], Coroutine[Any, Any, None]]:
        async def run() -> None:
            if self._stopping:
                return
            task = asyncio.current_task()
            if task is not None:
                self._jobs.add(task)
            try:
                if self.lease is not None and not await self.lease.still_held():
                    return  # another runner has this ledger now: `_lease_lost` stops this one
                await job()
            except Exception as exc:
                log.exception("job %s failed", name)
                self.alerts.publish(Alert(AlertKind.FAILURE, f"job_{name}", f"{name} failed: {exc}"))
            finally:
                if task is not None:
                    self._jobs.discard(task)

        return run

    def _spawn(self, coro: Coroutine[Any, Any, object]) -> None:
        task = asyncio.ensure_future(coro)
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)

    async def stop(self) -> None:
        """Stop intake, let in-flight sends finish and be recorded, then close the venue and ledger."""
        if self._stopping:
            await self.stopped.wait()
            return
        self._stopping = True
        log_event(log, "runner_stopping")
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        for watch in self.watches.values():
            watch.close()
        tasks = [w.task for w in self.watches.values()]
        pending = [t for t in (*tasks, *self._jobs) if t is not None and not t.done()]
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
        if self.lease is not None:  # the last send is recorded: another runner may take over now
            await self.lease.release()
        if self._ledger is not None and self._owns_ledger:
            await self._ledger.close()
        log_event(log, "runner_stopped")
        self.stopped.set()

    async def run(self, *, duration_s: float | None = None, once: bool = False) -> None:
        """Start, run until SIGINT/SIGTERM (or `duration_s`), stop. `once`: one pass of every job."""
        loop = asyncio.get_running_loop()
        stop = self._halt
        handled: list[signal.Signals] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
                handled.append(sig)
        telegram: Any = None
        try:
            await self.start()
            if once:
                await self.reconcile()
            else:
                # Its pushes begin with the alerts start() published (Copy Current fills, missed changes).
                telegram = self.telegram = await self._start_telegram()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), duration_s)
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)
            if telegram is not None:
                await telegram.stop()
            await self.stop()

    async def _start_telegram(self) -> Any:
        """The control room beside the pipeline (None without a token). Copying matters more than the
        chat: a control room that cannot start is reported, and the pipeline runs on without it."""
        token = self.settings.telegram_token
        if token is None or not token.get_secret_value():
            return None
        from bot.telegram import AppContext, TelegramOptions, start_telegram

        options = self.options.telegram or TelegramOptions()
        context = AppContext(
            self.settings, ledger=self.ledger, alerts=self.alerts, runner=self, options=options
        )
        handle = None
        try:
            handle = await start_telegram(context)
            if handle is not None:
                await handle.attach_runner(self)
            return handle
        except BaseException as exc:
            if handle is not None:  # started, then failed or cancelled (a stop during start-up): no leak
                await handle.stop()
            if not isinstance(exc, Exception):
                raise
            log.exception("telegram_start_failed")
            self.alerts.publish(Alert(AlertKind.FAILURE, "telegram_start_failed", f"Telegram: {exc}"))
            return None

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
        if self._follows_ledger and self.ready.is_set():  # at start-up, start() has just loaded them
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
        await self._ensure_watch()
        for alert in told:  # "copying started" once the source is watched, not merely applied
            self.alerts.publish(alert)
        await self.copier.recovery.apply_missed(missed)

    async def sync_accounts(self) -> list[SourceChange]:
        """The follower accounts the ledger lists now, while running (`/connect`, `mirrorbot account
        add`, a removal): a new one is loaded with `load_accounts` and recovered like at start-up, then
        its plans apply with the others' (Copy Current); one no longer listed is dropped (its in-flight
        orders finish first); one whose agent was replaced (its row names another keystore) is dropped
        and loaded again with the new key, so a revoked agent never signs again. Returns the new
        accounts' missed source changes."""
        assert self.copier is not None
        listed = await self.ledger.accounts()
        rows = {normalise_account(r.address): r for r in listed if r.venue == self.venue_name}
        for address in [a for a in self.copier.desks if a not in rows or self._rekeyed(rows[a])]:
            await self._drop(address)
        self._unloadable = {a: p for a, p in self._unloadable.items() if a in rows}
        fresh = [
            row
            for address, row in rows.items()
            if address not in self.copier.desks
            and not (address in self._unloadable and self._unloadable[address] == row.keystore_path)
        ]
        accounts: list[TradingAccount] = []
        password = self.settings.keystore_password
        for row in fresh:  # one at a time: a keystore that cannot be opened never stops the others
            address = normalise_account(row.address)
            try:  # a keystore that does not open is skipped and alerted by load_accounts itself
                loaded = await load_accounts(
                    self.ledger,
                    password.get_secret_value() if password else None,
                    self.venue_name,
                    self.alerts,
                    rows=[row],  # read above: not the whole table again per account
                )
            except Exception as exc:  # no password at all, or the ledger read failed: name the type only
                log.exception("loading account %s failed", address)
                loaded, why = [], exc if isinstance(exc, RunnerError) else type(exc).__name__
                self.alerts.publish(
                    Alert(AlertKind.FAILURE, "account_skipped", f"not copied: {why}", address)
                )
            if not loaded:  # retried once its row names another keystore
                self._unloadable[address] = row.keystore_path
            else:
                self._keystores[address] = row.keystore_path
            accounts += loaded
        if not accounts:
            return []
        staged = [Desk(account, self.copier.followers.new_engine()) for account in accounts]
        missed = await self.recover(staged)
        if self._accounts is not None:
            self._accounts += accounts
        log_event(log, "accounts_loaded", followers=[d.address for d in staged])
        return missed

    def _rekeyed(self, row: Account) -> bool:
        """Whether a loaded account's row now names another keystore (its agent was replaced)."""
        address = normalise_account(row.address)
        return address in self._keystores and self._keystores[address] != row.keystore_path

    async def _drop(self, address: str) -> None:
        """Stop trading an account the ledger no longer lists: its pairs' in-flight work ends first."""
        assert self.copier is not None
        desk = self.copier.desks[address]
        async with contextlib.AsyncExitStack() as locks:
            for coin in sorted(self.copier.markets):
                await locks.enter_async_context(desk.lock(coin))
            del self.copier.desks[address]
        if self._accounts is not None:
            self._accounts = [a for a in self._accounts if normalise_account(a.address) != address]
        self._keystores.pop(address, None)
        log_event(log, "account_dropped", follower=address)

    async def _note_unloaded(self) -> None:
        """Accounts start-up could not load are not retried every plans sync, only once their row changes."""
        loaded = {normalise_account(a.address) for a in self._accounts or []}
        for row in await self.ledger.accounts():
            address = normalise_account(row.address)
            if row.venue == self.venue_name and address not in loaded:
                self._unloadable[address] = row.keystore_path
            elif row.venue == self.venue_name:
                self._keystores[address] = row.keystore_path

    async def refresh_accounts(self) -> None:
        assert self.copier is not None
        await self.copier.settler.fills.flush()  # the ledger's fills up to date with the positions read
        await self.copier.refresh_accounts()
        if self.protector is not None:
            await self.protector.sweep()  # a trigger that fired is acted on before any re-open
        await self._record_equity()

    async def _record_equity(self) -> None:
        """Equity history (`/chart equity`): the readings just taken, at most one per account a minute."""
        from bot.service.equity import MS_PER_MINUTE, record_equity

        assert self.copier is not None
        at = now_ms()
        # The ledger keeps the first reading of a minute; the accounts job runs more often than that, so
        # a later refresh in the same minute would only make writes the ledger then ignores.
        if at // MS_PER_MINUTE == self._equity_minute:
            return
        self._equity_minute = at // MS_PER_MINUTE
        readings = [(source, state.equity, "source") for source, state in self.copier.source_states.items()]
        readings += [
            (d.address, d.engine.equity, "follower") for d in self.copier.desks.values() if d.engine.equity
        ]
        for address, equity, role in readings:
            try:
                await record_equity(self.ledger, address=address, equity=equity, time_ms=at, role=role)
            except Exception as exc:  # a chart's history must never stop copying
                log_event(
                    log, "equity_record_failed", level=logging.WARNING, address=address, error=repr(exc)
                )

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

    async def arm_dead_man_switch(self) -> None:
        """Re-arm Hyperliquid's scheduleCancel for every follower: if the bot dies, its open orders are
        cancelled `dead_man_horizon_s` later (IOCs never rest, but trigger orders and manual ones do)."""
        assert self.copier is not None
        at = now_ms() + int(self.options.dead_man_horizon_s * 1000)
        for desk in self.copier.desks.values():
            try:
                await self.venue.schedule_cancel(desk.account, at)
                if self.health is not None:
                    self.health.armed(desk.address, at)
            except Exception as exc:
                self.alerts.publish(
                    Alert(AlertKind.FAILURE, "dead_man_switch", f"re-arming failed: {exc}", desk.address)
                )

    # --- the watch -------------------------------------------------------------------------------

    def _watch_of(self, name: str) -> SourceWatch:
        """The watch of source venue `name` (its intake records changes under that venue's name)."""
        assert self.copier is not None and self.sources is not None
        if name not in self.watches:
            intake = Intake(
                self.sources.open(name),
                self.ledger,
                self.alerts,
                guard_markets(self._leased(self.copier.on_changes), self.copier.markets, self.alerts, name),
                venue_name=name,
                window_ms=self.options.fill_window_ms,
                quiet_ms=self.options.quiet_ms,
            )
            self.watches[name] = SourceWatch(
                intake, self.alerts, restart_s=self.options.watch_restart_s, overlap_ms=RESTART_OVERLAP_MS
            )
        return self.watches[name]

    async def _ensure_watch(self) -> None:
        """Each source venue watches exactly its followed sources (restarted when that set changed)."""
        assert self.copier is not None and self.sources is not None
        groups = self.sources.groups(self.copier.sources())
        since = now_ms() - RESTART_OVERLAP_MS
        for name in sorted(set(groups) | set(self.watches)):
            await self._watch_of(name).ensure(groups.get(name, []), since, self._snapshot)

    def _leased(self, on_changes: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        """Source changes are acted on only while this runner holds the lease (after a freeze, the
        first change asks the ledger; a runner replaced meanwhile drops it and stops)."""

        async def leased(*args: Any) -> None:
            if self.lease is None or await self.lease.still_held():
                await on_changes(*args)

        return leased

    def _snapshot(self, source: str) -> dict[str, Decimal] | None:
        """`source`'s complete positions as last read (a coin it lacks is flat); None when never read."""
        assert self.copier is not None
        state = self.copier.source_states.get(source)
        if state is None:
            return None
        return {coin: Decimal(0) for coin in self.copier.markets} | {p.coin: p.size for p in state.positions}


def _open_orders(venue: Venue) -> OpenOrders:
    """What the kill switch cancels: our open orders as the venue lists them; none on a venue that cannot
    list them (GMX: no trigger orders, and market orders are answered once the keeper acted, so nothing
    of ours rests there)."""
    listed = venue_open_orders(venue)

    async def ours(account: TradingAccount) -> list[tuple[str, str]]:
        try:
            return await listed(account)
        except NotImplementedError:
            return []

    return ours


def main(settings: Settings, *, once: bool = False, duration_s: float | None = None) -> int:
    """`mirrorbot run`: 0 after a clean stop, 2 when it cannot start (the message says why)."""
    from bot.ledger.db import LedgerConfigError
    from bot.logs import configure_from_settings
    from bot.redaction import redact_text

    configure_from_settings(settings)
    runner = Runner(settings)
    try:
        asyncio.run(runner.run(duration_s=duration_s, once=once))
    except (RunnerError, LedgerConfigError) as exc:
        log_event(log, "runner_refused", level=logging.ERROR, error=str(exc))
        print(f"mirrorbot run: {redact_text(str(exc))}", file=sys.stderr)
        return 2
    if runner.lease is not None and runner.lease.lost:
        print(f"mirrorbot run: stopped: {runner.lease.lost}", file=sys.stderr)
        return 1
    return 0
