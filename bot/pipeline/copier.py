"""The copier: source changes → each follower's engine → recorded decisions → orders → fills → positions.

Per follower a `strategies.engine.Follower` (in a `Desk`) is fed instruments, mids, equities (source
and follower, from the venue's account reads), the follower's positions as the venue reports them, and
source changes. Every decision is recorded (deferred and skipped ones too, with their reason); one
with an order goes LeaderEvent → CopyInstruction → OrderIntent (persisted before the send) → venue →
VenueOrder status → Fills → PositionSnapshot. The pairs of one follower are independent (a lock per
pair, not per follower).

The hot path (docs/decisions/hotpath.md): one source change is decided for ALL its followers first;
their decisions and orders' intents are written with the change's leader event in one transaction,
the intents marked submitted in a second, then every order is signed and sent concurrently (each
follower is its own account: one `place` each), and only then are the answers recorded and settled,
with bounded concurrency. Two transactions before the send, whatever the number of followers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from decimal import Decimal

from bot.alerts import Alert, AlertBus, AlertKind
from bot.domain import AccountState, OrderRequest, OrderResult, OrderStatus, Side, SourceChange, Venue
from bot.faults import IOC_PARTIAL, rejection_code, unfilled_ioc
from bot.ledger import OPEN_INTENT_STATUSES, FollowPlan, IntentStatus, LeaderEvent, Ledger, OrderIntent
from bot.ledger.ids import normalise_account
from bot.ledger.repository import (
    DecisionDraft,
    IntentDraft,
    RecordedDecision,
    instruction_values,
    leader_event_row,
)
from bot.logs import log_event
from bot.pipeline.convert import change_of, delta_of, missed_change, request_of
from bot.pipeline.desk import Desk, LoadedPlan
from bot.pipeline.guard_gate import RiskGate
from bot.pipeline.oms import OrderManager, RetryPolicy, crash_point, filled_part
from bot.pipeline.reads import AccountReader, gather_bounded
from bot.pipeline.recovery import PairRecord, request_of_intent
from bot.pipeline.settle import Settler
from bot.risk.book import RiskBook
from strategies.engine import AssignmentRefused, Follower
from strategies.model import SOURCE_EVENTS, Decision, Event, Market, Reason
from strategies.num import plain, q_lot

log = logging.getLogger(__name__)

_SKIPS = frozenset(
    {
        Reason.PAUSED,
        Reason.LONG_ONLY,
        Reason.SHORT_ONLY,
        Reason.SOURCE_LEVERAGE_BELOW_MIN,
        Reason.PRICE_DEVIATION,
        Reason.HELD_BY_OTHER_SOURCE,
        Reason.NO_MID,
        Reason.NO_SOURCE_EQUITY,
        Reason.COPY_CURRENT_DEVIATION,
        Reason.ENTRY_PRICE_UNKNOWN,
    }
)
CENT = Decimal("0.01")
_TOLD = SOURCE_EVENTS | {Event.COPY_CURRENT, Event.FOLLOW}
# Requests in flight at once, under the venue clients' pools (reads: bot/pipeline/reads.py). Orders have
# their own keep-alive pool, where 16 in flight already keep the venue busy (docs/benchmarks.md).
SEND_CONCURRENCY = 16
SETTLE_CONCURRENCY = 16


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class DecisionKey:
    """What makes a decision's instruction id: (follower, coin, source event id, revision)."""

    source: str
    source_event_id: str
    revision: int = 0
    leader_event_id: int | None = None
    event_kind: str | None = None  # overrides the engine's event (e.g. "retry")
    event_time_ms: int | None = None  # the source event's time, for the copy latency
    record_idle: bool = True  # record a decision that sends nothing (False: reconciliation passes)


@dataclass(slots=True)
class _Step:
    """One follower's decision on its way through the hot path: prepared, recorded, maybe sent."""

    desk: Desk
    decision: Decision
    key: DecisionKey
    draft: DecisionDraft
    request: OrderRequest | None = None  # the order to send (or resume), once recorded
    resume_sent: bool | None = None  # None: a fresh order; else resumed (True: it may have been sent)
    sent_ms: int = 0
    result: OrderResult | None = None  # a fresh order's answer
    recorded: bool = False  # its answer is in the ledger (the batch's `record_answers`)


class Copier:
    def __init__(
        self,
        venue: Venue,
        ledger: Ledger,
        alerts: AlertBus,
        markets: dict[str, Market],
        *,
        venue_name: str,
        policy: RetryPolicy | None = None,
        risk: RiskGate | None = None,
    ) -> None:
        self.venue = venue
        self.ledger = ledger
        self.alerts = alerts
        self.markets = markets
        self.venue_name = venue_name
        self.oms = OrderManager(venue, ledger, policy)
        self.settler = Settler(venue, ledger, venue_name, self._observe_follower, alerts)  # after each order
        self.risk = risk if risk is not None else RiskGate(RiskBook(), alerts)  # runtime guards
        self.desks: dict[str, Desk] = {}
        self.source_states: dict[str, AccountState] = {}
        # The venue a source trades on (the runner routes GMX sources: bot/pipeline/sources.py); its
        # `capabilities.name` is the source's venue in the ledger. Followers always trade on `venue`.
        self.source_venue: Callable[[str], Venue] = lambda _source: venue
        self.reader = AccountReader(venue, lambda source: self.source_venue(source))  # bounded
        self.latencies_ms: list[int] = []  # source event → follower order answered
        self._busy = 0  # batches of source changes being mirrored

    @property
    def idle(self) -> bool:
        """No source change is being mirrored right now (health, tests, shutdown)."""
        return self._busy == 0

    @property
    def policy(self) -> RetryPolicy:
        return self.oms.policy

    # --- followers, plans ------------------------------------------------------------------------

    def add_desk(self, desk: Desk) -> None:
        self.desks[desk.address] = desk

    def new_engine(self) -> Follower:
        return Follower(self.markets, min_notional=self.venue.capabilities.min_notional)

    def sources(self) -> list[str]:
        """Every source some follower actively follows, sorted."""
        return sorted({s for desk in self.desks.values() for s in desk.active_sources()})

    async def apply_plans(self, plans: Sequence[FollowPlan]) -> list[Alert]:
        """Bring each engine to the current plan versions: new follows (Copy Current decides on the
        source's open positions), settings changes (nothing resized), unfollows (close or keep).
        Releases go first, so a token handed from one source to another is freed before it is taken.
        Returns the `following` alerts (copying started / stopped) for the caller to publish once the
        sources' watch matches: "started" must mean the source's trades are being copied."""
        changed: list[tuple[Desk, LoadedPlan]] = []
        for plan in plans:
            desk = self.desks.get(normalise_account(plan.follower))
            applied = desk.plan_for(plan.source) if desk is not None else None
            if desk is not None and (applied is None or applied.version != plan.version):
                changed.append((desk, LoadedPlan.of(plan)))
        if not changed:
            return []
        await self.refresh_accounts({plan.plan.source for _, plan in changed})
        mids = await self._mids()  # a Copy Current join or a close is priced now
        for desk, _ in changed:
            for coin, mid in mids.items():
                if coin in self.markets:
                    desk.engine.set_mid(coin, mid)
        # (False, …) sorts first: releases before takes
        changed.sort(key=lambda item: item[1].settings.active and item[1].settings.release is None)
        told = [await self._apply_plan(desk, loaded) for desk, loaded in changed]
        return [alert for alert in told if alert is not None]

    async def _apply_plan(self, desk: Desk, loaded: LoadedPlan) -> Alert | None:
        source, version, engine = loaded.plan.source, loaded.version, desk.engine
        previous = desk.plan_for(source)
        desk.plans[source] = loaded
        was_active = source in engine.follows
        settings = loaded.settings
        told: Alert | None = None
        if not settings.active:
            if not was_active:
                return None
            decisions = engine.unfollow(source, close=settings.release == "close")
            event_id = f"unfollow:{source}:v{version}"
            kept = "closed" if settings.release == "close" else "kept, no longer managed"
            told = _following(
                "copying_stopped",
                f"Copying stopped: {desk.address} no longer follows {source} (its positions are {kept})",
                desk,
                source,
                version,
            )
        elif not was_active:
            try:
                decisions = engine.follow(source, settings.config)
            except AssignmentRefused as exc:
                self._alert(AlertKind.SKIPPED, "held_by_other_source", str(exc), desk, source, exc.coin)
                desk.plans[source] = previous if previous is not None else loaded
                return None
            event_id = f"follow:{source}:v{version}"
            told = _following(
                "copying_started",
                f"Copying started: {desk.address} follows {source} (plan v{version}); its trades are "
                "copied from now on",
                desk,
                source,
                version,
            )
        else:
            decisions = self._release_dropped(desk, source, loaded) + engine.update_config(
                source, settings.config
            )
            event_id = f"plan:{source}:v{version}"
        log_event(log, "plan_applied", follower=desk.address, source=source, version=version)
        await asyncio.gather(
            *(
                self._locked(desk, d, DecisionKey(source, event_id))
                for d in decisions
                if d.coin in self.markets
            )
        )
        return told

    def _release_dropped(self, desk: Desk, source: str, loaded: LoadedPlan) -> list[Decision]:
        """Tokens this version stops covering: close them (τ := 0) or detach them, per `release`."""
        settings = loaded.settings
        return desk.engine.release_uncovered(source, settings.config, close=settings.release == "close")

    # --- observations ----------------------------------------------------------------------------

    async def refresh_accounts(
        self,
        sources: Iterable[str] | None = None,
        *,
        followers: bool = True,
        staged: Sequence[Desk] = (),
    ) -> None:
        """Read equities and positions from the venue: the given sources (default: every followed one)
        and every follower. A read that fails leaves the last known state (unknown is not flat).
        `staged`: followers being loaded while running (not in `desks` yet): read instead of the
        others, and told the sources' states too."""
        wanted = sorted(set(self.sources() if sources is None else sources))
        desks = list(staged) if staged else list(self.desks.values()) if followers else []
        epochs = [{coin: desk.epoch(coin) for coin in self.markets} for desk in desks]
        reads = await self.reader.read(wanted, [desk.account.address for desk in desks])
        for source, state in zip(wanted, reads.sources, strict=True):
            if isinstance(state, AccountState):
                self.observe_source(source, state, staged)
            else:
                log_event(
                    log, "account_read_failed", level=logging.WARNING, address=source, error=repr(state)
                )
        for desk, before, state in zip(desks, epochs, reads.followers, strict=True):
            if isinstance(state, AccountState):
                self._observe_follower(desk, state, [c for c in self.markets if desk.epoch(c) == before[c]])
            else:
                log_event(
                    log, "account_read_failed", level=logging.WARNING, address=desk.address, error=repr(state)
                )
        if not staged:  # a staged follower's guards act once it is restored and in `desks`
            await self.enforce_risk()

    async def enforce_risk(self) -> None:
        """Carry out the follows a guard ended (max drawdown, a source's drawdown): unfollow, closing
        or detaching per the setting. Idempotent: a restart meets the same decision ids again."""
        drops = [(desk, drop) for desk in list(self.desks.values()) for drop in self.risk.drops(desk)]
        mids = await self._mids() if drops else {}  # the closes are priced now, not at the last change
        for desk, drop in drops:
            for coin, mid in mids.items():
                if coin in self.markets:
                    desk.engine.set_mid(coin, mid)
            plan = desk.plan_for(drop.source)
            decisions = desk.engine.unfollow(drop.source, close=drop.close)
            version = plan.version if plan else 0
            key = DecisionKey(drop.source, f"{drop.reason.value}:{drop.source}:v{version}")
            await asyncio.gather(*(self._locked(desk, d, key) for d in decisions if d.coin in self.markets))

    def observe_source(self, source: str, state: AccountState, staged: Sequence[Desk] = ()) -> None:
        """A source's equity and open positions (size, entry, leverage) into every engine that follows
        it — or may follow it next (Copy Current reads the sizes at the moment of the follow)."""
        self.source_states[source] = state
        desks = [*self.desks.values(), *staged]
        self.risk.observe_source(desks, source, state)
        held = {p.coin: p for p in state.positions}
        for desk in desks:
            desk.engine.set_source_equity(source, state.equity)
            for coin in self.markets:
                pos = held.get(coin)
                desk.engine.observe_source(
                    source,
                    coin,
                    size=pos.size if pos else Decimal(0),
                    entry_px=pos.entry_px if pos else None,
                    leverage=Decimal(pos.leverage) if pos and pos.leverage else None,
                )

    def _observe_follower(self, desk: Desk, state: AccountState, coins: Iterable[str]) -> None:
        desk.engine.set_equity(state.equity)
        self.risk.observe_follower(desk, state)
        for coin in coins:
            desk.engine.set_position(coin, state.size(coin))

    # --- source changes --------------------------------------------------------------------------

    async def on_changes(self, changes: Sequence[SourceChange], events: Mapping[str, LeaderEvent]) -> None:
        """Mirror a batch of source changes: coins concurrently, each coin's changes in order, each
        change to all its followers at once. Each change's leader event (`events[event_id]`, the
        intake's row with the raw fills) is recorded in the transaction that records its decisions."""
        if not changes:
            return
        self._busy += 1
        try:
            await self._mirror(changes, events)
        finally:
            self._busy -= 1

    def source_venue_name(self, source: str) -> str:
        """The venue a source trades on, as its leader events record it (a GMX source: `gmx`)."""
        return self.source_venue(source).capabilities.name

    async def _mirror(self, changes: Sequence[SourceChange], events: Mapping[str, LeaderEvent]) -> None:
        mids = await self._mids()
        by_coin: dict[str, list[SourceChange]] = {}
        for change in changes:
            by_coin.setdefault(change.coin, []).append(change)

        async def coin_run(items: list[SourceChange]) -> None:
            for change in items:
                event = events.get(change.event_id) or leader_event_row(
                    change, venue=self.source_venue_name(change.source)
                )
                await self._fan_out(change, event, mids.get(change.coin))

        await asyncio.gather(*(coin_run(items) for items in by_coin.values()))

    async def _fan_out(self, change: SourceChange, event: LeaderEvent, mid: Decimal | None) -> None:
        """Decide `change` for every follower of its source (each pair's lock held throughout), then
        record, send and settle it all as one batch (`_run`)."""
        if change.coin not in self.markets:
            await self._run([], event)  # not tradable here: recorded, nothing decided
            return
        key = DecisionKey(change.source, change.event_id, event_time_ms=change.time_ms)
        followers = [d for d in self.desks.values() if change.source in d.engine.follows]
        async with AsyncExitStack() as locks:
            for desk in followers:  # always in the desks' order: two batches never wait on each other
                await locks.enter_async_context(desk.lock(change.coin))
            steps: list[_Step] = []
            for desk in followers:
                try:
                    if mid is not None:
                        desk.engine.set_mid(change.coin, mid)
                    leverage = desk.engine.source_position(change.source, change.coin).leverage
                    step = self._prepare(desk, desk.engine.on_change(change_of(change, leverage)), key)
                except Exception as exc:
                    self._failed(desk, change.coin, key, exc)
                    continue
                if step is not None:
                    steps.append(step)
            await self._run(steps, event)

    # --- start-up recovery (restart safety) --------------------------------------------------------

    async def restore(self, records: Sequence[PairRecord], staged: Sequence[Desk] = ()) -> list[SourceChange]:
        """Rebuild each engine's follows and pairs from the ledger's latest decisions (before any new
        change is applied), then read every account. Returns the source changes missed while the bot
        was down (the venue's `s` differs from the last one mirrored), to be applied as changes.
        `staged`: followers loaded while running (`records` are theirs): restored apart from `desks`,
        then added to them — no source change meets a half-restored follower."""
        book = {d.address: d for d in staged} if staged else self.desks
        versions: dict[tuple[str, str], int] = {}
        for rec in records:
            if rec.follower in book and rec.plan_version is not None:
                key = (rec.follower, rec.source)
                versions[key] = max(versions.get(key, 0), rec.plan_version)
        for (follower, source), version in versions.items():
            plan = next(
                (p for p in await self.ledger.plan_versions(follower, source) if p.version == version), None
            )
            loaded = LoadedPlan.of(plan) if plan is not None else None
            if loaded is not None and loaded.settings.active:
                book[follower].plans[source] = loaded
                book[follower].engine.restore_follow(source, loaded.settings.config)
        if staged:
            followed = {s for d in staged for s in d.active_sources()}
            await self.refresh_accounts(followed, staged=staged)
        else:
            await self.refresh_accounts()
        stamp = now_ms()
        missed: dict[tuple[str, str], SourceChange] = {}
        for rec in records:
            desk = book.get(rec.follower)
            config = desk.engine.follows.get(rec.source) if desk is not None else None
            if desk is None or config is None:
                continue
            venue_size = desk.engine.source_position(rec.source, rec.coin).size
            known = rec.source_size if rec.source_size is not None else venue_size
            desk.engine.restore_pair(rec.state(config.filters.effective(known)))
            change = missed_change(rec.source, rec.coin, known, venue_size, stamp)
            if change is not None and rec.source_size is not None and rec.source in self.source_states:
                missed[(rec.source, rec.coin)] = change
        if staged:
            self.desks.update(book)
            await self.enforce_risk()
        log_event(log, "pairs_restored", pairs=len(records), missed_changes=len(missed))
        return list(missed.values())

    async def apply_missed(self, changes: Sequence[SourceChange]) -> None:
        """Source changes that happened while the bot was down, recorded and mirrored as changes."""
        for change in changes:
            self._alert(
                AlertKind.OUT_OF_SYNC,
                "missed_source_change",
                f"{change.coin}: the source went {change.old} → {change.new} while the bot was down",
                None,
                change.source,
                change.coin,
            )
        events = {
            c.event_id: leader_event_row(c, venue=self.source_venue_name(c.source), payload={"missed": True})
            for c in changes
        }
        await self.on_changes(changes, events)

    async def resume_intents(self, intents: Sequence[OrderIntent]) -> None:
        """Orders persisted before a stop whose outcome was never recorded: each is looked up by cloid
        and sent only if the venue has no trace of it (a pending one was certainly never sent)."""
        for intent in intents:
            desk = self.desks.get(normalise_account(intent.account))
            if desk is None:
                continue
            request = request_of_intent(intent)
            async with desk.lock(intent.coin):
                desk.bump(intent.coin)
                result = await self.oms.resume(
                    desk.account, request, sent=intent.status != IntentStatus.PENDING.value
                )
                await self._settled_after_restart(desk, intent, request, result)

    async def record_missing_fills(self, orders: Sequence[tuple[OrderIntent, int]]) -> None:
        """Filled orders whose fills a stop kept out of the ledger: read them from the venue by oid."""
        for intent, oid in orders:
            desk = self.desks.get(normalise_account(intent.account))
            if desk is None:
                continue
            result = OrderResult(OrderStatus.FILLED, intent.cloid, oid=oid, filled_sz=intent.size)
            async with desk.lock(intent.coin):
                await self._settled_after_restart(desk, intent, request_of_intent(intent), result)

    async def _settled_after_restart(
        self, desk: Desk, intent: OrderIntent, request: OrderRequest, result: OrderResult
    ) -> None:
        sent_ms = int(intent.created_at.timestamp() * 1000)
        await self.settler.settle_from_venue(desk, request, result, sent_ms)  # start-up read may hold it
        log_event(log, "order_resumed", cloid=intent.cloid, status=result.status, error=result.error)
        if result.status in (OrderStatus.UNKNOWN, OrderStatus.REJECTED):
            desk.out_of_sync.add(intent.coin)
            kind = AlertKind.UNKNOWN_OUTCOME if result.status is OrderStatus.UNKNOWN else AlertKind.REJECTED
            self._alert(kind, "resumed_order", result.error or result.status.value, desk, None, intent.coin)

    async def mids(self) -> dict[str, Decimal]:
        """Every mid now ({} when the read fails: nothing is priced on a guess)."""
        return await self._mids()

    async def carry_out(self, desk: Desk, decision: Decision, key: DecisionKey) -> None:
        """Record and carry out one decision; the caller holds the pair's lock (the reconciliation pass)."""
        await self._carry_out(desk, decision, key)

    async def _mids(self) -> dict[str, Decimal]:
        try:
            return await self.venue.mids()
        except Exception as exc:
            log_event(log, "mids_read_failed", level=logging.WARNING, error=repr(exc))
            return {}

    # --- carrying out a decision -----------------------------------------------------------------

    async def _locked(self, desk: Desk, decision: Decision, key: DecisionKey) -> None:
        async with desk.lock(decision.coin):
            await self._carry_out(desk, decision, key)

    async def _carry_out(self, desk: Desk, decision: Decision, key: DecisionKey) -> None:
        """Record the decision; send its order (intent persisted first); record what came of it.
        The caller holds the pair's lock. A failure is alerted and never escapes to the other pairs."""
        try:
            await self._execute(desk, decision, key)
        except Exception as exc:
            self._failed(desk, decision.coin, key, exc)

    async def _execute(self, desk: Desk, decision: Decision, key: DecisionKey) -> None:
        step = self._prepare(desk, decision, key)
        if step is not None:
            await self._run([step])

    def _failed(self, desk: Desk, coin: str, key: DecisionKey, exc: Exception) -> None:
        log.error("decision for %s %s failed", desk.address, coin, exc_info=exc)
        desk.out_of_sync.add(coin)
        self._alert(
            AlertKind.FAILURE, type(exc).__name__, f"copying {coin} failed: {exc}", desk, key.source, coin
        )

    def _prepare(self, desk: Desk, decision: Decision, key: DecisionKey) -> _Step | None:
        """The runtime guards' screen, then the rows to record (None: nothing to record)."""
        blocked = self.risk.screen(desk, decision, key.source)  # the runtime guards, before every order
        if blocked is not None:
            decision = replace(decision, order=None)
        if decision.order is None and not key.record_idle:
            return None
        market = self.markets[decision.coin]
        reason = blocked or decision.reason
        row = instruction_values(
            **desk.decision_fields(
                key.source,
                decision.coin,
                source_event_id=key.source_event_id,
                revision=key.revision,
                event_kind=key.event_kind or decision.event.value,
                ratio=decision.ratio,
                target_before=decision.target_before,
                target_after=decision.target,
                position=decision.position,
                delta=delta_of(decision, market.sz_decimals),
                guards=[g.value for g in decision.guards] + ([blocked.value] if blocked else []),
                reason=None if reason is None else reason.value,
                leader_event_id=key.leader_event_id,
            )
        )
        intent = None
        if decision.order is not None:
            request = request_of(decision, row["cloid"])
            side = Side.BUY if request.is_buy else Side.SELL
            intent = IntentDraft(side, request.size, request.limit_px, request.tif.value, request.reduce_only)
        return _Step(desk, decision, key, DecisionDraft(row, intent))

    async def _run(self, steps: Sequence[_Step], event: LeaderEvent | None = None) -> None:
        """Record the steps (and the change's leader event) in one transaction, mark the new orders
        submitted in a second, send every order at once, then record each answer and settle it.
        The caller holds every step's pair lock. Failures are alerted per pair."""
        try:
            stored, recorded = await self.ledger.record_decisions(
                [s.draft for s in steps], venue=self.venue_name, leader_event=event
            )
        except Exception as exc:
            if not steps:
                raise  # a change no follower acts on: its leader event is the intake's to retry
            for step in steps:
                self._failed(step.desk, step.decision.coin, step.key, exc)
            return
        orders = [s for s, r in zip(steps, recorded, strict=True) if self._order_of(s, r, stored)]
        fresh = [s for s in orders if s.resume_sent is None]
        if fresh:
            crash_point("after_intent")  # the intents are durable and pending: certainly not sent
            try:
                await self.ledger.mark_intents([s.draft.cloid for s in fresh], IntentStatus.SUBMITTED)
            except Exception as exc:
                for step in fresh:
                    self._failed(step.desk, step.decision.coin, step.key, exc)
                orders = [s for s in orders if s.resume_sent is not None]
                fresh = []
        for step in orders:
            step.desk.bump(step.decision.coin)
            step.sent_ms = now_ms()
        results = await gather_bounded([self._send(s) for s in fresh], SEND_CONCURRENCY)
        for step, result in zip(fresh, results, strict=True):
            step.result = result if isinstance(result, OrderResult) else None  # `send` never raises
        await self._record_answers(fresh)
        outcomes = await gather_bounded([self._answered(s) for s in orders], SETTLE_CONCURRENCY)
        for step, outcome in zip(orders, outcomes, strict=True):
            if isinstance(outcome, Exception):
                self._failed(step.desk, step.decision.coin, step.key, outcome)

    def _order_of(self, step: _Step, recorded: RecordedDecision, event: LeaderEvent | None) -> bool:
        """Tell the user about the decision; True when it has an order to send or to resume."""
        if event is not None and step.key.leader_event_id is None:
            step.key = replace(step.key, leader_event_id=event.id)  # its retries link to the event too
        self._tell(step.desk, step.decision, step.key, recorded.instruction_id)
        if step.decision.order is None:
            return False
        if recorded.intent_created:
            step.request = request_of(step.decision, recorded.cloid)
            return True
        intent = recorded.earlier_intent
        if intent is None:
            return False
        # This decision was recorded and its order sent before (a restart, a replayed change): the
        # stored intent is the order; look it up instead of sending anything new.
        if intent.status not in OPEN_INTENT_STATUSES:
            return False
        step.request = request_of_intent(intent)
        step.resume_sent = intent.status != IntentStatus.PENDING.value
        return True

    async def _send(self, step: _Step) -> OrderResult:
        assert step.request is not None
        return await self.oms.send(step.desk.account, step.request)

    async def _record_answers(self, steps: Sequence[_Step]) -> None:
        """Every settled answer of the batch into the ledger in one transaction (one per order cost
        ~2 ms each, serialised, with the pairs' locks held). If that fails, each is recorded on its
        own by `oms.answered` (which alerts a pair whose write fails): nothing is half-written."""
        answered = [s for s in steps if s.result is not None and self.oms.settled(s.result)]
        if not answered:
            return
        pairs = [(s.request, s.result) for s in answered if s.request is not None and s.result is not None]
        try:
            await self.oms.record_answers(pairs)
        except Exception:
            log.exception("recording %d answers at once failed; recording each on its own", len(answered))
            return
        for step in answered:
            step.recorded = True

    async def _answered(self, step: _Step) -> None:
        desk, request = step.desk, step.request
        assert request is not None
        if step.result is not None and step.recorded:
            result = step.result
        elif step.result is not None:
            result = await self.oms.answered(desk.account, request, step.result)
        else:
            result = await self.oms.resume(desk.account, request, sent=bool(step.resume_sent))
        await self._after_order(desk, step.decision, step.key, request, result, step.sent_ms)

    async def _after_order(
        self,
        desk: Desk,
        decision: Decision,
        key: DecisionKey,
        request: OrderRequest,
        result: OrderResult,
        sent_ms: int,
    ) -> None:
        coin = decision.coin
        if key.event_time_ms is not None:
            self.latencies_ms.append(now_ms() - key.event_time_ms)
        filled = filled_part(result)
        await self.settler.settle(desk, request, result, sent_ms, before=decision.position)
        log_event(
            log,
            "order_done",
            follower=desk.address,
            coin=coin,
            cloid=request.cloid,
            status=result.status,
            size=request.size,
            filled=filled,
            avg_px=result.avg_px,
            error=result.error,
        )
        if filled > 0:
            self._alert(
                AlertKind.COPIED,
                decision.event.value,
                f"{'bought' if request.is_buy else 'sold'} {filled} {coin} at {result.avg_px}",
                desk,
                key.source,
                coin,
                cloid=request.cloid,
                # what the chat shows: the value in USD, and whether it reduced (its realised PnL)
                filled=filled,
                avg_px=result.avg_px,
                is_buy=request.is_buy,
                before=decision.position,
            )
        unfilled = result.status is OrderStatus.REJECTED and unfilled_ioc(result.error)
        if result.status is OrderStatus.REJECTED and not unfilled:
            desk.out_of_sync.add(coin)
            self._alert(
                AlertKind.REJECTED,
                rejection_code(result.error),  # docs/faults.md: margin, tick, reduce-only …
                result.error or "rejected",
                desk,
                key.source,
                coin,
                cloid=request.cloid,
            )
            return
        if result.status is OrderStatus.UNKNOWN:
            desk.out_of_sync.add(coin)
            self._alert(
                AlertKind.UNKNOWN_OUTCOME,
                "order_unknown",
                result.error or "no answer",
                desk,
                key.source,
                coin,
                cloid=request.cloid,
            )
            return
        if filled >= request.size:
            desk.out_of_sync.discard(coin)
            return
        await self._retry_rest(desk, key, request)

    async def _retry_rest(self, desk: Desk, key: DecisionKey, request: OrderRequest) -> None:
        """What an IOC left unfilled: a new decision at a fresh mid (revision + 1: a new instruction id
        and cloid), at most `ioc_retries` times; then the pair is out of sync and the user is told."""
        coin = request.coin
        then = "retried at a fresh mid" if key.revision < self.policy.ioc_retries else "not retried again"
        told = f"{coin}: the IOC left part unfilled; {then}"
        self._alert(AlertKind.FAULT, IOC_PARTIAL, told, desk, key.source, coin, cloid=request.cloid)
        if key.revision >= self.policy.ioc_retries:
            desk.out_of_sync.add(coin)
            self._alert(
                AlertKind.OUT_OF_SYNC,
                "ioc_unfilled",
                f"{coin}: the order was not filled in full after {key.revision + 1} attempts",
                desk,
                key.source,
                coin,
                cloid=request.cloid,
            )
            return
        mid = (await self._mids()).get(coin)
        if mid is not None:
            desk.engine.set_mid(coin, mid)
        retry = desk.engine.check(coin, Event.RECONCILE)
        if retry.order is None:
            return  # what is left is below the minimum (deferred) or the target moved: nothing owed now
        await self._execute(desk, retry, replace(key, revision=key.revision + 1, event_kind="retry"))

    # --- telling the user ------------------------------------------------------------------------

    def _lots(self, decision: Decision) -> str:
        """τ as the venue would trade it (whole lots): the exact τ carries up to 60 digits."""
        market = self.markets.get(decision.coin)
        return plain(q_lot(decision.target, market.sz_decimals)) if market else plain(decision.target)

    def _tell(self, desk: Desk, decision: Decision, key: DecisionKey, decision_id: str) -> None:
        """Skips, deferrals and guards, each with the decision's id (the chat shows it for `/why`)."""
        if decision.event not in _TOLD or key.revision > 0:
            return
        reason = decision.reason
        if decision.order is None and reason is Reason.DEFERRED_MIN_NOTIONAL:
            mid = desk.engine.mids.get(decision.coin)
            usd = None if mid is None else abs(decision.target - decision.position) * mid
            worth = "" if usd is None else f" (about ${usd.quantize(CENT):,})"
            self._alert(
                AlertKind.DEFERRED,
                reason.value,
                f"{decision.coin}: the order to target {self._lots(decision)}{worth} is below the venue's "
                "minimum order value; it is sent once large enough",
                desk,
                key.source,
                decision.coin,
                usd=usd,
                decision=decision_id,
            )
        elif decision.order is None and reason in _SKIPS:
            assert reason is not None
            self._alert(
                AlertKind.SKIPPED,
                reason.value,
                f"{decision.coin}: not copied ({reason.value})",
                desk,
                key.source,
                decision.coin,
                decision=decision_id,
            )
        for guard in decision.guards:
            if decision.order is None and guard is reason and reason in _SKIPS:
                continue  # the skip above told it (a paused open: one message, not two)
            self._alert(
                AlertKind.GUARD,
                guard.value,
                f"{decision.coin}: {guard.value} lowered the target",
                desk,
                key.source,
                decision.coin,
                decision=decision_id,
            )

    def _alert(
        self,
        kind: AlertKind,
        reason: str,
        message: str,
        desk: Desk | None,
        source: str | None,
        coin: str | None,
        **details: object,
    ) -> None:
        self.alerts.publish(
            Alert(kind, reason, message, desk.address if desk else None, source, coin, dict(details))
        )


def _following(reason: str, message: str, desk: Desk, source: str, version: int) -> Alert:
    return Alert(AlertKind.FOLLOWING, reason, message, desk.address, source, None, {"version": version})
