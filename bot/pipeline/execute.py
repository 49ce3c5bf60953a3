"""Carrying out decisions: record them, send their orders, settle the answers, retry an IOC's rest.

One decision or a whole fan-out's goes the same way (docs/decisions/hotpath.md): the runtime guards
screen each (`prepare`); the decisions and their orders' intents are written in one transaction (with
the source change's leader event), the intents marked submitted in a second, then every order is
signed and sent concurrently (each follower is its own account: one `place` each), and only then are
the answers recorded and settled, with bounded concurrency. Two transactions before the send, whatever
the number of followers. The caller holds every pair's lock.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.domain import OrderRequest, OrderResult, OrderStatus
from bot.faults import unfilled_ioc
from bot.ledger import OPEN_INTENT_STATUSES, IntentStatus, LeaderEvent
from bot.ledger.repository import DecisionDraft, RecordedDecision
from bot.logs import log_event
from bot.pipeline.commission import Commission
from bot.pipeline.convert import delta_of, request_of, request_of_intent
from bot.pipeline.desk import Desk
from bot.pipeline.followers import Followers
from bot.pipeline.guard_gate import RiskGate
from bot.pipeline.keys import DecisionKey as DecisionKey  # its home was here: importers keep working
from bot.pipeline.lag import CopyClock
from bot.pipeline.oms import OrderManager, crash_point, filled_part
from bot.pipeline.prices import REF_IDLE_MS, REF_MAX_AGE_MS
from bot.pipeline.reads import gather_bounded
from bot.pipeline.settle import Settler
from bot.pipeline.tell import Teller
from bot.risk.guards import RiskReason
from strategies.engine import Saved
from strategies.model import Decision, Event

log = logging.getLogger(__name__)

# Requests in flight at once, under the venue clients' pools (reads: bot/pipeline/reads.py). Orders have
# their own keep-alive pool, where 16 in flight already keep the venue busy (docs/benchmarks.md).
SEND_CONCURRENCY = 16
SETTLE_CONCURRENCY = 16


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(slots=True)
class Step:
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
    undo: Saved | None = None  # the pair as it was before a source change was decided (`Follower.save`)


class Executor:
    def __init__(
        self,
        followers: Followers,
        oms: OrderManager,
        settler: Settler,
        risk: RiskGate,
        teller: Teller,
        commission: Commission,
        clock: CopyClock | None = None,
    ) -> None:
        self.followers = followers
        self.clock = clock or CopyClock()  # copy latency by stage (bot/pipeline/lag.py)
        self.markets = followers.markets
        self.oms = oms
        self.settler = settler
        self.risk = risk
        self.teller = teller
        self.commission = commission

    async def locked(self, desk: Desk, decisions: Sequence[Decision], key: DecisionKey) -> None:
        """`carry_out` for one follower's decisions under one key (a plan's, one per coin), recorded in
        ONE transaction and sent together (`run`, as a fan-out is) under their pairs' locks: one ledger
        round trip for the plan, not one per coin. The locks are taken in coin order (a fan-out takes
        one coin's across desks in the desks' order, `Runner._drop` a desk's in coin order: no two
        wait on each other). A coin decided twice is carried out after its first decision's batch
        ends: one order of a pair at a time. A failure is alerted per pair."""
        for batch in _batches(decisions):
            async with contextlib.AsyncExitStack() as locks:
                for coin in sorted({d.coin for d in batch}):
                    await locks.enter_async_context(desk.lock(coin))
                steps: list[Step] = []
                for decision in batch:
                    try:
                        step = self.prepare(desk, decision, key)
                    except Exception as exc:
                        self.failed(desk, decision.coin, key, exc)
                        continue
                    if step is not None:
                        steps.append(step)
                if not steps:
                    continue
                try:
                    await self.run(steps)
                except Exception as exc:
                    for step in steps:
                        self.failed(desk, step.decision.coin, key, exc)

    async def carry_out(self, desk: Desk, decision: Decision, key: DecisionKey) -> None:
        """Record the decision; send its order (intent persisted first); record what came of it.
        The caller holds the pair's lock. A failure is alerted and never escapes to the other pairs."""
        try:
            await self._execute(desk, decision, key)
        except Exception as exc:
            self.failed(desk, decision.coin, key, exc)

    async def _execute(self, desk: Desk, decision: Decision, key: DecisionKey) -> None:
        step = self.prepare(desk, decision, key)
        if step is not None:
            await self.run([step])

    def failed(self, desk: Desk, coin: str, key: DecisionKey, exc: Exception) -> None:
        log.error("decision for %s %s failed", desk.address, coin, exc_info=exc)
        desk.out_of_sync.add(coin)
        self.teller.failure(desk, coin, key.source, exc)

    def prepare(
        self, desk: Desk, decision: Decision, key: DecisionKey, undo: Saved | None = None
    ) -> Step | None:
        """The runtime guards' screen, then the rows to record (None: nothing to record). `undo`: what
        to put back in the engine if the record fails (`run`)."""
        blocked = self.risk.screen(desk, decision, key.source)  # the runtime guards, before every order
        if blocked is None and decision.order is not None:
            mid = desk.engine.mids.get(decision.coin)
            if not self.followers.prices.screen(desk.address, decision.coin, mid, key):
                blocked = RiskReason.PRICE_OUTLIER  # held, not dropped: `release_held` sends it later
        if blocked is not None:
            decision = replace(decision, order=None)
        if decision.order is None and not key.record_idle:
            return None
        reason = blocked or decision.reason
        draft = desk.draft(
            key.source,
            decision.coin,
            request=None if decision.order is None else functools.partial(request_of, decision),
            source_event_id=key.source_event_id,
            revision=key.revision,
            event_kind=key.event_kind or decision.event.value,
            ratio=decision.ratio,
            target_before=decision.target_before,
            target_after=decision.target,
            position=decision.position,
            delta=delta_of(decision, self.markets[decision.coin].sz_decimals),
            guards=[g.value for g in decision.guards] + ([blocked.value] if blocked else []),
            reason=None if reason is None else reason.value,
            leader_event_id=key.leader_event_id,
            vol_sigma=None if decision.vol is None else decision.vol.sigma,
            vol_mult=None if decision.vol is None else decision.vol.mult,
        )
        return Step(desk, decision, key, draft, undo=undo)

    async def run(self, steps: Sequence[Step], event: LeaderEvent | None = None) -> None:
        """Record the steps (and the change's leader event) in one transaction, mark the new orders
        submitted in a second, send every order at once, then record each answer and settle it.
        The caller holds every step's pair lock. Failures are alerted per pair."""
        try:
            stored, recorded = await self.oms.record([s.draft for s in steps], event)
        except Exception as exc:
            if not steps:
                raise  # a change no follower acts on: its leader event is the intake's to retry
            for step in steps:
                # Nothing recorded, nothing sent: the engine must not believe the change mirrored, or
                # no pass would ever send it (a flat pair's position is not the bot's to close). Put
                # back, the next reconciliation pass finds the change missed and mirrors it.
                if step.undo is not None:
                    step.desk.engine.restore(step.undo)
                self.failed(step.desk, step.decision.coin, step.key, exc)
            return
        orders = [
            s for s, r in zip(steps, recorded, strict=True) if r is not None and self._order_of(s, r, stored)
        ]
        fresh = [s for s in orders if s.resume_sent is None]
        if fresh:
            crash_point("after_intent")  # the intents are durable and pending: certainly not sent
            try:
                await self.oms.ledger.mark_intents([s.draft.cloid for s in fresh], IntentStatus.SUBMITTED)
            except Exception as exc:
                for step in fresh:
                    self.failed(step.desk, step.decision.coin, step.key, exc)
                orders = [s for s in orders if s.resume_sent is not None]
                fresh = []
        for step in orders:
            step.desk.bump(step.decision.coin)
            step.sent_ms = now_ms()
            self.clock.reached("sent", step.key.event_time_ms, step.sent_ms)
        results = await gather_bounded([self._send(s) for s in fresh], SEND_CONCURRENCY)
        for step, result in zip(fresh, results, strict=True):
            step.result = result if isinstance(result, OrderResult) else None  # `send` never raises
        await self._record_answers(fresh)
        outcomes = await gather_bounded([self._answered(s) for s in orders], SETTLE_CONCURRENCY)
        for step, outcome in zip(orders, outcomes, strict=True):
            if isinstance(outcome, Exception):
                self.failed(step.desk, step.decision.coin, step.key, outcome)

    def _order_of(self, step: Step, recorded: RecordedDecision, event: LeaderEvent | None) -> bool:
        """Tell the user about the decision; True when it has an order to send or to resume."""
        if event is not None and step.key.leader_event_id is None:
            step.key = replace(step.key, leader_event_id=event.id)  # its retries link to the event too
        self.teller.decision(
            step.desk, step.decision, step.key.source, step.key.revision, recorded.instruction_id
        )
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

    async def _send(self, step: Step) -> OrderResult:
        """A fresh order, with the follow's builder when its master approved it (SPEC §14)."""
        assert step.request is not None
        desk = step.desk
        step.request, result = await self.commission.send(
            desk, step.key.source, step.request, functools.partial(self.oms.send, desk.account)
        )
        return result

    async def _record_answers(self, steps: Sequence[Step]) -> None:
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

    async def _answered(self, step: Step) -> None:
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
        filled = filled_part(result)
        self.clock.reached("answered", key.event_time_ms, now_ms())
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
            self.teller.copied(desk, decision, key.source, request, result, filled)
        unfilled = result.status is OrderStatus.REJECTED and unfilled_ioc(result.error)
        if (result.status is OrderStatus.REJECTED and not unfilled) or result.status is OrderStatus.UNKNOWN:
            desk.out_of_sync.add(coin)
            self.teller.order_failed(desk, key.source, request, result)
            return
        if filled >= request.size:
            desk.out_of_sync.discard(coin)
            return
        await self._retry_rest(desk, key, request)

    async def _retry_rest(self, desk: Desk, key: DecisionKey, request: OrderRequest) -> None:
        """What an IOC left unfilled: a new decision at a fresh mid (revision + 1: a new instruction id
        and cloid), at most `ioc_retries` times; then the pair is out of sync and the user is told."""
        coin, retries = request.coin, self.oms.policy.ioc_retries
        self.teller.ioc_partial(desk, key.source, request, retried=key.revision < retries)
        if key.revision >= retries:
            desk.out_of_sync.add(coin)
            self.teller.ioc_unfilled(desk, key.source, request, attempts=key.revision + 1)
            return
        mid = (await self.followers.mids()).get(coin)
        if mid is not None:
            desk.engine.set_mid(coin, mid)
        retry = desk.engine.check(coin, Event.RECONCILE)
        if retry.order is None:
            return  # what is left is below the minimum (deferred) or the target moved: nothing owed now
        await self._execute(desk, retry, replace(key, revision=key.revision + 1, event_kind="retry"))

    async def release_held(self) -> int:
        """Bring the venue's reference prices up to date (bot/pipeline/prices.py: every REF_MAX_AGE_MS
        while a decision is held, every REF_IDLE_MS otherwise — the read's weight is the reason), then
        re-examine the decisions a price outlier holds (SPEC §11) at the mids now: a pair whose mid
        the reference confirms gets what it owes (`q(τ) − p` at the fresh mid, under the held key's
        next revision); one held past the alert delay is alerted once. The number released."""
        prices = self.followers.prices
        # the reference kept fresh here, off the hot path
        await prices.refresh(self.followers.venue, max_age_ms=REF_MAX_AGE_MS if prices.held else REF_IDLE_MS)
        if not prices.held:
            return 0
        mids = await self.followers.mids()
        released = 0
        for (address, coin), held in list(prices.held.items()):
            desk = self.followers.desks.get(address)
            mid = mids.get(coin)
            if desk is None:
                prices.held.pop((address, coin), None)
                continue
            if mid is None or not prices.sound(coin, mid):
                if prices.overdue(held):
                    self.teller.price_outlier_held(desk, held.source, coin, mid, prices.reference(coin))
                continue
            async with desk.lock(coin):
                if prices.held.get((address, coin)) is not held:
                    continue  # another order of the pair took the hold away meanwhile
                desk.engine.set_mid(coin, mid)
                decision = desk.engine.check(coin, Event.RECONCILE)
                if decision.order is None:
                    prices.held.pop((address, coin), None)  # nothing owed now (the target moved back)
                    continue
                await self.carry_out(desk, decision, prices.release_key(held))
                released += 1
        return released


def _batches(decisions: Sequence[Decision]) -> list[list[Decision]]:
    """`decisions` in order, cut where a coin comes again: no batch holds two decisions of one pair."""
    batches: list[list[Decision]] = []
    for decision in decisions:
        if not batches or any(d.coin == decision.coin for d in batches[-1]):
            batches.append([])
        batches[-1].append(decision)
    return batches
