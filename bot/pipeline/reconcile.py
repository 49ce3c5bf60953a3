"""The reconciliation pass (SPEC §6), run at start-up and on the runner's schedule.

1. Every followed source and every follower is read from the venue. A read that fails is UNKNOWN: its
   pairs are skipped this pass (never taken as flat).
2. Per source: the venue's `s` vs the `s` each pair last mirrored; a difference is a change we missed
   and is applied AS a change (recorded as a LeaderEvent `missed:…`, alerted). Skipped while source
   changes are being mirrored (the intake may be about to deliver it).
3. Per follower: positions that moved without an order of ours since the last read (no order for that
   coin in between) were changed by hand on the venue: alerted (`manual_position_change`).
4. Per pair: `q(τ)` vs the venue's `p`, and the follow's `out_of_sync` policy decides what is sent:
   `catch_up` sends the difference, `restrict` only a reduction, `pause` nothing (alerted);
   `rebalance` (SPEC §9's recovery) takes every tracking pair of a follow found off target to its
   strategy's target at today's ratio once (`Follower.realign`), whatever the band (alerted).
5. Orders whose outcome is still open (unknown after their grace window) are looked up by cloid again
   (NOT_FOUND is unknown for the grace window, then the SAME cloid is re-sent); a pair whose order is
   still unknown after that gets no new order this pass.
The sync score per follower is computed from the positions read (docs/decisions/reconcile.md).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from bot.alerts import Alert, AlertKind
from bot.domain import AccountState
from bot.logs import log_event
from bot.pipeline.copier import Copier
from bot.pipeline.desk import Desk
from bot.pipeline.execute import DecisionKey, now_ms
from bot.pipeline.missed import missed_changes
from bot.pipeline.turns import between
from strategies.model import Event, Status
from strategies.num import q_lot

log = logging.getLogger(__name__)

HUNDRED = Decimal(100)


@dataclass
class PassReport:
    at_ms: int
    orders: int = 0  # orders sent (a runtime guard's refusal is not counted)
    missed_changes: int = 0
    manual_changes: int = 0
    held_by_policy: int = 0
    rebalanced: int = 0  # follows the `rebalance` policy took back to today's targets
    unresolved_orders: int = 0  # pairs held: an order of theirs is still unknown after its lookups
    unknown_reads: list[str] = field(default_factory=list)
    sync_scores: dict[str, Decimal] = field(default_factory=dict)  # follower → 0..100


def sync_score(desk: Desk) -> Decimal:
    """100 × (1 − Σ|q(τ) − p|·mid / Σ|q(τ)|·mid) over the follower's tracked pairs with a mid, floored at
    0 and rounded down to 0.01: missing and excess exposure both count against it. With no target
    notional at all: 100 when the follower holds nothing in those pairs, else 0."""
    engine = desk.engine
    target = off = Decimal(0)
    for coin, pair in engine.pairs.items():
        mid = engine.mids.get(coin)
        if mid is None or pair.source is None or pair.status is Status.UNTRACKED:
            continue
        q = q_lot(pair.target, engine.markets[coin].sz_decimals)
        target += abs(q) * mid
        off += abs(q - engine.position(coin)) * mid
    if target == 0:
        return HUNDRED if off == 0 else Decimal(0)
    return max(Decimal(0), HUNDRED * (1 - off / target)).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


class Reconciler:
    def __init__(self, copier: Copier) -> None:
        self.copier = copier
        self.last: PassReport | None = None

    async def run(self) -> PassReport:
        with self.copier.accounts.risk.book.deferred():  # the guard book saved once for the whole pass
            return await self._run()

    async def _run(self) -> PassReport:
        copier = self.copier
        report = PassReport(now_ms())
        sources = copier.sources()
        desks = list(copier.desks.values())
        epochs = [{coin: desk.epoch(coin) for coin in copier.markets} for desk in desks]
        before = [dict(desk.engine.positions) for desk in desks]
        source_epochs = [copier.followers.source_epochs[s] for s in sources]
        reads = await copier.reader.read(sources, [desk.account.address for desk in desks])  # bounded
        known_sources: set[str] = set()
        # A turn of the event loop before each source and each follower (bot/pipeline/turns.py): a
        # source's state goes into every engine, and a pass over hundreds would hold the loop.
        async for source, at_read, state in between(zip(sources, source_epochs, reads.sources, strict=True)):
            if copier.followers.read_outdated(source, at_read):
                continue  # changed while read: mirrored already; its pairs are checked next pass
            if isinstance(state, AccountState):
                copier.accounts.observe_source(source, state)
                known_sources.add(source)
            else:
                report.unknown_reads.append(source)
        readable: list[Desk] = []
        followers = zip(desks, epochs, before, reads.followers, strict=True)
        async for desk, epoch, was, state in between(followers):
            if not isinstance(state, AccountState):
                report.unknown_reads.append(desk.address)
                continue
            readable.append(desk)
            # An order of ours for a coin since the read began: its own read wins for that coin.
            coins = [coin for coin in copier.markets if desk.epoch(coin) == epoch[coin]]
            for coin in coins:
                now = state.size(coin)
                if coin in was and was[coin] != now:
                    report.manual_changes += 1
                    self._alert(desk, coin, "manual_position_change", f"{coin}: {was[coin]} → {now} by hand")
            copier.accounts.observe_follower(desk, state, coins)  # the engine and the guards, one path
        for who in report.unknown_reads:
            log_event(log, "reconcile_read_unknown", level=logging.WARNING, address=who)
        if copier.idle:
            missed = missed_changes(readable, known_sources, report.at_ms)
            report.missed_changes = len(missed)
            await copier.recovery.apply_missed(missed)
        await copier.recovery.resume_intents(await copier.ledger.open_intents())
        # An order whose outcome is still unknown after its lookups may yet land: its pair gets no new
        # order this pass (a second cloid for the same difference could double it).
        unresolved = {(i.account, i.coin) for i in await copier.ledger.open_intents()}
        mids = await copier.followers.mids()
        disrupted: set[tuple[Desk, str]] = set()  # follows off target under the `rebalance` policy
        await asyncio.gather(
            *(
                self._check(desk, coin, mids, report, disrupted)
                for desk in readable
                for coin, pair in list(desk.engine.pairs.items())
                if pair.source in known_sources and not self._unresolved(desk, coin, unresolved, report)
            )
        )
        for desk, source in sorted(disrupted, key=lambda follow: (follow[0].address, follow[1])):
            await self._realign(desk, source, report)
        for desk in desks:
            report.sync_scores[desk.address] = sync_score(desk)
            desk.sync_score = report.sync_scores[desk.address]
        self.last = report
        log_event(log, "reconciled", orders=report.orders, missed=report.missed_changes)
        return report

    def _unresolved(
        self, desk: Desk, coin: str, open_pairs: set[tuple[str, str]], report: PassReport
    ) -> bool:
        if (desk.address, coin) not in open_pairs:
            return False
        report.unresolved_orders += 1
        desk.out_of_sync.add(coin)
        self._alert(desk, coin, "order_outcome_unknown", f"{coin}: an order's outcome is still unknown: held")
        return True

    async def _check(
        self,
        desk: Desk,
        coin: str,
        mids: dict[str, Decimal],
        report: PassReport,
        disrupted: set[tuple[Desk, str]],
    ) -> None:
        async with desk.lock(coin):
            pair = desk.engine.pairs.get(coin)
            if pair is None or pair.source is None:
                return
            if coin in mids:
                desk.engine.set_mid(coin, mids[coin])
            decision = desk.engine.check(coin, Event.RECONCILE)
            order = decision.order
            if order is None:
                return
            plan = desk.plan_for(pair.source)
            policy = plan.settings.out_of_sync if plan is not None else "catch_up"
            p = desk.engine.position(coin)
            reduces = abs(p + order.signed_size) < abs(p)
            if policy == "rebalance":
                disrupted.add((desk, pair.source))  # the whole follow, once the pass has read every pair
                return
            if policy == "pause" or (policy == "restrict" and not reduces):
                report.held_by_policy += 1
                desk.out_of_sync.add(coin)
                self._alert(
                    desk, coin, f"policy_{policy}", f"{coin}: off target ({p} held), out_of_sync={policy}"
                )
                return
            key = DecisionKey(pair.source, f"reconcile:{report.at_ms}", record_idle=False)
            sent = desk.epoch(coin)
            await self.copier.executor.carry_out(desk, decision, key)
            report.orders += desk.epoch(coin) != sent  # sent, not refused by a runtime guard

    async def _realign(self, desk: Desk, source: str, report: PassReport) -> None:
        """The `rebalance` policy: every tracking pair of the follow to today's target, once."""
        report.rebalanced += 1
        self.copier.alerts.publish(
            Alert(
                AlertKind.OUT_OF_SYNC,
                "policy_rebalance",
                f"off target: every pair copied from {source} rebalanced to today's ratio",
                desk.address,
                source,
            )
        )
        key = DecisionKey(source, f"rebalance:{report.at_ms}", record_idle=False)
        for coin, pair in sorted(desk.engine.pairs.items()):
            if pair.source != source or pair.status is not Status.TRACKING:
                continue
            async with desk.lock(coin):
                decision = desk.engine.realign(coin)
                if decision.order is None:
                    continue
                sent = desk.epoch(coin)
                await self.copier.executor.carry_out(desk, decision, key)
                report.orders += desk.epoch(coin) != sent

    def _alert(self, desk: Desk, coin: str, reason: str, message: str) -> None:
        self.copier.alerts.publish(Alert(AlertKind.OUT_OF_SYNC, reason, message, desk.address, None, coin))
