"""Start-up recovery (restart safety): each pair as its latest recorded decision left it, the orders
whose outcome was never recorded, the fills a stop kept out of the ledger, the source changes missed.

The ledger reads the rows (`Ledger.latest_decisions`, `open_intents`, `unrecorded_fill_orders`); this
module derives pair state from them (`latest_pairs`), which the `Recovery` puts into the engines
(`restore`) before it settles the orders (`resume_intents`, `record_missing_fills`).
docs/decisions/reconcile.md says how a pair's state is derived from its latest decision.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import groupby
from operator import attrgetter

from bot.alerts import AlertKind
from bot.domain import OrderRequest, OrderResult, OrderStatus, SourceChange
from bot.ledger import CopyInstruction, IntentStatus, Ledger, OrderIntent
from bot.ledger.ids import normalise_account
from bot.ledger.repository import leader_event_row
from bot.logs import log_event
from bot.pipeline.account_sync import AccountSync
from bot.pipeline.convert import request_of_intent
from bot.pipeline.desk import Desk, LoadedPlan
from bot.pipeline.execute import now_ms
from bot.pipeline.followers import Followers
from bot.pipeline.mirror import Mirror
from bot.pipeline.missed import missed_changes
from bot.pipeline.oms import OrderManager
from bot.pipeline.plans import Plans
from bot.pipeline.settle import Settler
from bot.pipeline.tell import Teller
from bot.pipeline.turns import between
from strategies.model import PairState, Reason, Status

log = logging.getLogger(__name__)

_UNTRACKED = frozenset({Reason.UNTRACKED.value})
_WAITING = frozenset({Reason.COPY_CURRENT_DEVIATION.value, Reason.ENTRY_PRICE_UNKNOWN.value})
_RELEASED = frozenset({Reason.DETACHED.value})


@dataclass(frozen=True, slots=True)
class PairRecord:
    """A pair as its latest decision left it. `source_size` is the raw source size that decision
    mirrored (from its source change), or None when the ledger cannot tell (a follow or plan decision
    not preceded by a source change: the source's size then is taken from the venue at start-up)."""

    follower: str
    source: str
    coin: str
    plan_version: int | None
    status: Status
    ratio: Decimal | None
    target: Decimal
    source_size: Decimal | None
    waiting_join: bool

    def state(self, effective_source_size: Decimal) -> PairState:
        return PairState(
            self.coin,
            self.source,
            self.status,
            self.ratio,
            effective_source_size,
            self.target,
            self.waiting_join,
        )


def _status(row: CopyInstruction) -> tuple[Status, bool] | None:
    """The pair's status after `row`; None when the decision released the pair (no pair left)."""
    if row.reason in _RELEASED or (row.event_kind == "unfollow" and row.target_after == 0):
        return None
    if row.target_after != 0:
        return Status.TRACKING, False
    if row.reason in _UNTRACKED:
        return Status.UNTRACKED, False
    if row.reason in _WAITING:
        return Status.UNTRACKED, True
    return Status.FLAT, False


async def latest_pairs(ledger: Ledger, followers: set[str]) -> list[PairRecord]:
    """The latest decision of every (follower, coin) of `followers`, as pair state."""
    out: list[PairRecord] = []
    for latest in await ledger.latest_decisions(followers):
        row = latest.row
        status = _status(row)
        if status is None:
            continue
        out.append(
            PairRecord(
                row.follower,
                row.source,
                row.coin,
                row.plan_version,
                status[0],
                row.ratio,
                row.target_after,
                latest.source_size,
                status[1],
            )
        )
    return out


class Recovery:
    def __init__(
        self,
        followers: Followers,
        ledger: Ledger,
        *,
        accounts: AccountSync,
        plans: Plans,
        mirror: Mirror,
        oms: OrderManager,
        settler: Settler,
        teller: Teller,
    ) -> None:
        self.followers = followers
        self.ledger = ledger
        self.accounts = accounts
        self.plans = plans
        self.mirror = mirror
        self.oms = oms
        self.settler = settler
        self.teller = teller

    async def recover(self, staged: Sequence[Desk] = ()) -> list[SourceChange]:
        """Restart safety, before any new change is applied: each pair's state from the ledger, then the
        orders whose outcome was not recorded (looked up by cloid, sent at most once) and the fills a
        stop kept out of the ledger. Returns the source changes missed while down (applied after the
        plans are brought up to date). `staged`: followers loaded while running, recovered the same way
        (only theirs: the others' orders are in flight, not lost) and added to the followers."""
        mine = {d.address for d in staged} if staged else set(self.followers.desks)
        missed = await self.restore(await latest_pairs(self.ledger, mine), staged)
        intents = await self.ledger.open_intents()
        await self.resume_intents([i for i in intents if normalise_account(i.account) in mine])
        unrecorded = await self.ledger.unrecorded_fill_orders(self.oms.venue_name)
        await self.record_missing_fills(
            [(i, oid) for i, oid in unrecorded if normalise_account(i.account) in mine]
        )
        return missed

    async def restore(self, records: Sequence[PairRecord], staged: Sequence[Desk] = ()) -> list[SourceChange]:
        """Rebuild each engine's follows and pairs from the ledger's latest decisions (before any new
        change is applied), then read every account. Returns the source changes missed while the bot
        was down (the venue's `s` differs from the last one mirrored), to be applied as changes.
        `staged`: followers loaded while running (`records` are theirs): restored apart from `desks`,
        then added to them — no source change meets a half-restored follower."""
        book = {d.address: d for d in staged} if staged else self.followers.desks
        versions: dict[tuple[str, str], int] = {}
        for rec in records:
            if rec.follower in book and rec.plan_version is not None:
                key = (rec.follower, rec.source)
                versions[key] = max(versions.get(key, 0), rec.plan_version)
        plans = await self.ledger.plans_at((f, s, v) for (f, s), v in versions.items())
        async for (follower, source), version in between(versions.items()):
            plan = plans.get((normalise_account(follower), normalise_account(source), version))
            loaded = LoadedPlan.of(plan) if plan is not None else None
            if loaded is not None and loaded.settings.active:
                book[follower].plans[source] = loaded
                book[follower].engine.restore_follow(source, loaded.settings.config)
        # Kept: the plan apply that follows (`Runner.sync_plans`) takes what still stands of it.
        if staged:
            sources = {s for d in staged for s in d.active_sources()}
            await self.accounts.refresh(sources, staged=staged, keep=True)
        else:
            await self.accounts.refresh(keep=True)
        async for _, pairs in between(groupby(records, key=attrgetter("follower"))):  # sorted by follower
            for rec in pairs:
                desk = book.get(rec.follower)
                config = desk.engine.follows.get(rec.source) if desk is not None else None
                if desk is None or config is None:
                    continue
                venue_size = desk.engine.source_position(rec.source, rec.coin).size
                known = rec.source_size if rec.source_size is not None else venue_size
                desk.engine.restore_pair(rec.state(config.filters.effective(known)))
        # The records come sorted by follower: the first pair found per (source, coin) is the same.
        restored = sorted(book.values(), key=lambda desk: desk.address)
        missed = missed_changes(restored, self.followers.source_states.keys(), now_ms())
        if staged:
            self.followers.desks.update(book)
        # After the pairs: a guard that trips on this read (the market moved while the bot was down)
        # closes what they hold. Before them, the stop's unfollow met an engine with no pair, sent no
        # close, and left the position on the venue with no pair to manage it.
        await self.plans.enforce_risk()
        log_event(log, "pairs_restored", pairs=len(records), missed_changes=len(missed))
        return missed

    async def apply_missed(self, changes: Sequence[SourceChange]) -> None:
        """Source changes that happened while the bot was down, recorded and mirrored as changes."""
        for change in changes:
            self.teller.alert(
                AlertKind.OUT_OF_SYNC,
                "missed_source_change",
                f"{change.coin}: the source went {change.old} → {change.new} while the bot was down",
                None,
                change.source,
                change.coin,
            )
        venue_name = self.followers.source_venue_name
        events = {
            c.event_id: leader_event_row(c, venue=venue_name(c.source), payload={"missed": True})
            for c in changes
        }
        await self.mirror.on_changes(changes, events)

    async def resume_intents(self, intents: Sequence[OrderIntent]) -> None:
        """Orders persisted before a stop whose outcome was never recorded: each is looked up by cloid
        and sent only if the venue has no trace of it (a pending one was certainly never sent)."""
        for intent in intents:
            desk = self.followers.desks.get(normalise_account(intent.account))
            if desk is None:
                continue
            request = request_of_intent(intent)
            async with desk.lock(intent.coin):
                desk.bump(intent.coin)
                sent = intent.status != IntentStatus.PENDING.value
                result = await self.oms.resume(desk.account, request, sent=sent)
                await self._settled_after_restart(desk, intent, request, result)

    async def record_missing_fills(self, orders: Sequence[tuple[OrderIntent, int]]) -> None:
        """Filled orders whose fills a stop kept out of the ledger: read them from the venue by oid."""
        for intent, oid in orders:
            desk = self.followers.desks.get(normalise_account(intent.account))
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
            message = result.error or result.status.value
            self.teller.alert(kind, "resumed_order", message, desk, None, intent.coin)
