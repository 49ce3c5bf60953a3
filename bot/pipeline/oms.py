"""The order manager: every order the pipeline sends — copies, retries, stop-loss / take-profit triggers —
is recorded, sent, cancelled and looked up here, and what became of it is recorded here.

- The intent (with its cloid) is in the ledger before `submit` is called; `submit` marks it submitted,
  sends it, and records the venue's answer as a VenueOrder status.
- An UNKNOWN outcome (timeout, lost connection, 5xx) is never re-sent blindly: the order is looked up by
  cloid. NOT_FOUND stays "unknown" for a grace window (the venue may not have processed it yet); only
  after it does the SAME request (same cloid) go out again, at most `max_resends` times. A cloid is never
  replaced for the same decision.
- REJECTED is recorded with the venue's words.
- The fresh-mid retry of an IOC's unfilled rest is a new decision (revision + 1, so a new instruction id
  and cloid): the copier drives it with `RetryPolicy.ioc_retries`, since only the engine knows the rest.
- A trigger order (`place_trigger`) is sent BEFORE its intent is recorded, so that a restart never
  resends it as a plain order (docs/decisions/protect.md); a duplicate cloid refused by the venue is
  looked up and adopted: one order per cloid, ever.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from bot.domain import OrderRequest, OrderResult, OrderStatus, TradingAccount, Venue
from bot.ledger import IntentStatus, LeaderEvent, Ledger
from bot.ledger.ownership import Fence, Fenced
from bot.ledger.repository import DecisionDraft, OrderAnswer, RecordedDecision
from bot.logs import log_event

log = logging.getLogger(__name__)

CRASH_ENV = "MIRROR_TEST_CRASH_AT"  # test-only: see crash_point
CRASH_POINTS = frozenset({"after_intent", "after_send", "after_ack"})
_SETTLED = frozenset({OrderStatus.FILLED, OrderStatus.RESTING, OrderStatus.REJECTED, OrderStatus.CANCELED})
# What a lookup can find of a cloid the venue refused as a duplicate: an order of ours placed before.
_HELD = frozenset({OrderStatus.RESTING, OrderStatus.FILLED, OrderStatus.CANCELED})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """The numbers of SPEC §2's retry policy (docs/decisions/pipeline.md says why these)."""

    ioc_retries: int = 2  # fresh-mid re-sends of an IOC's unfilled rest, then the pair is out of sync
    not_found_grace_s: float = 5.0  # after an unknown outcome, NOT_FOUND is still unknown this long
    lookup_interval_s: float = 0.25  # between order-status lookups inside the grace window
    max_resends: int = 2  # same-cloid re-sends after the grace window found nothing

    def __post_init__(self) -> None:
        if self.ioc_retries < 0 or self.max_resends < 0:
            raise ValueError("ioc_retries and max_resends must be >= 0")
        if self.not_found_grace_s < 0 or self.lookup_interval_s <= 0:
            raise ValueError("not_found_grace_s must be >= 0 and lookup_interval_s > 0")


def crash_point(name: str) -> None:
    """Restart tests only: SIGKILL this process at the named point when `MIRROR_TEST_CRASH_AT` names it
    (`after_intent`: intent persisted, not sent; `after_send`: sent, the answer not read; `after_ack`:
    the answer recorded, its fills and position not). Inert unless that variable is set."""
    if os.environ.get(CRASH_ENV) == name:
        log_event(log, "test_crash_point", level=logging.WARNING, point=name)
        os.kill(os.getpid(), signal.SIGKILL)


class Fencing(Protocol):
    """A process's leases of followers: their epochs now, and a renewal that learns which were lost."""

    def epochs(self) -> Fence: ...

    async def refresh(self) -> None: ...


def _follower(draft: DecisionDraft) -> str:
    return str(draft.instruction["follower"]).lower()


def _details(result: OrderResult) -> dict[str, Any]:
    details: dict[str, Any] = {"filled_sz": str(result.filled_sz)}
    if result.avg_px is not None:
        details["avg_px"] = str(result.avg_px)
    if result.error:
        details["error"] = result.error
    return details


class OrderManager:
    def __init__(
        self, venue: Venue, ledger: Ledger, policy: RetryPolicy | None = None, *, venue_name: str = ""
    ) -> None:
        self.venue = venue
        self.ledger = ledger
        self.policy = policy or RetryPolicy()
        self.venue_name = venue_name or venue.capabilities.name  # the orders' venue in the ledger
        # The distributed copy worker's leases (bot/cluster/worker.py): follower → epoch, checked by the
        # ledger in the transaction that writes intents (the fencing rule). None: one process owns all.
        self.fence: Fencing | None = None
        self.sends = 0  # requests sent (tests, status)
        self.unknown_outcomes = 0  # answers that never came (each was looked up before anything else)

    async def record(
        self, drafts: Sequence[DecisionDraft], leader_event: LeaderEvent | None = None
    ) -> tuple[LeaderEvent | None, list[RecordedDecision | None]]:
        """Decisions with their orders' intents (and the change's leader event) in one transaction,
        before anything is sent (`Ledger.record_decisions`: a decision recorded before is returned).
        One result per draft; None: not recorded, the follower is no longer this process's (`_fenced`)."""
        if self.fence is None:
            venue = self.venue_name
            stored, recorded = await self.ledger.record_decisions(
                drafts, venue=venue, leader_event=leader_event
            )
            return stored, list(recorded)
        try:
            return await self._fenced(drafts, leader_event)
        except Fenced:  # a lease was lost since the last heartbeat: learn which, then once more
            await self.fence.refresh()
            return await self._fenced(drafts, leader_event)

    async def _fenced(
        self, drafts: Sequence[DecisionDraft], leader_event: LeaderEvent | None
    ) -> tuple[LeaderEvent | None, list[RecordedDecision | None]]:
        """`record` under this process's leases; the ledger refuses the batch if an epoch is stale. A
        follower it no longer holds gets nothing recorded, not even a decision without its order: the
        ledger would then say the change was mirrored for it, and its new owner's recovery (which
        copies what the ledger says was never mirrored) would never send the order."""
        assert self.fence is not None
        epochs = self.fence.epochs()
        mine = [i for i, d in enumerate(drafts) if _follower(d) in epochs]
        stored, recorded = await self.ledger.record_decisions(
            [drafts[i] for i in mine], venue=self.venue_name, leader_event=leader_event, fence=epochs
        )
        out: list[RecordedDecision | None] = [None] * len(drafts)
        for i, done in zip(mine, recorded, strict=True):
            out[i] = done
        for draft in drafts:
            if _follower(draft) not in epochs:
                log_event(log, "decision_not_ours", follower=_follower(draft), reason="lease lost")
        return stored, out

    async def submit(self, account: TradingAccount, request: OrderRequest) -> OrderResult:
        """Send a persisted intent; return its settled result (UNKNOWN only if nothing could tell)."""
        assert request.cloid is not None, "an intent has a cloid before it is sent"
        crash_point("after_intent")
        await self.ledger.mark_intent(request.cloid, IntentStatus.SUBMITTED)
        return await self.answered(account, request, await self.send(account, request))

    async def send(self, account: TradingAccount, request: OrderRequest) -> OrderResult:
        """`submit`'s send alone, for an intent the caller already marked submitted (a fan-out marks
        all its intents in one transaction, sends them all, then has each answer `answered`)."""
        result = await self._send(account, request)
        crash_point("after_send")
        return result

    async def answered(
        self, account: TradingAccount, request: OrderRequest, result: OrderResult
    ) -> OrderResult:
        """`submit`'s second half: record the answer to a `send`, looking up an unknown outcome."""
        return await self._settle(account, request, result, resends=0)

    @staticmethod
    def settled(result: OrderResult) -> bool:
        """The venue said what became of the order (no lookup needed)."""
        return result.status in _SETTLED

    async def record_answers(self, answers: Sequence[tuple[OrderRequest, OrderResult]]) -> None:
        """`answered` for many settled answers at once (a fan-out's): their statuses in ONE ledger
        transaction instead of one each. Only settled answers: an unknown outcome needs `answered`'s
        lookup. Raises if the ledger refuses; then nothing was recorded."""
        rows: list[OrderAnswer] = []
        for request, result in answers:
            assert request.cloid is not None and result.status in _SETTLED, "a settled, persisted order"
            rows.append(OrderAnswer(request.cloid, result.status.value, result.oid, _details(result)))
        await self.ledger.record_order_statuses(rows)
        if rows:
            crash_point("after_ack")

    async def resume(
        self, account: TradingAccount, request: OrderRequest, *, sent: bool = True
    ) -> OrderResult:
        """An intent persisted earlier whose outcome we never learnt (a restart, a replayed change):
        look it up first; it is sent only if the venue has no trace of it after the grace window.
        `sent=False` (the intent is still pending: it is marked submitted before any send, so it
        certainly never left) needs no grace window: one lookup, then the one send."""
        assert request.cloid is not None
        unknown = OrderResult(OrderStatus.UNKNOWN, request.cloid, error="resumed: outcome not recorded")
        grace = self.policy.not_found_grace_s if sent else 0.0
        return await self._settle(account, request, unknown, resends=0, grace_s=grace)

    async def place_trigger(self, account: TradingAccount, request: OrderRequest) -> OrderResult:
        """Send a trigger order whose intent is not recorded yet (the caller records it with the answer).
        Refused or unanswered, it is looked up by cloid: one the venue holds (placed before a stop cut
        the recording short, or an answer lost) is adopted. UNKNOWN / NOT_FOUND: nothing to record; the
        same cloid goes out again next time."""
        assert request.cloid is not None
        result = await self._send(account, request)
        if result.status in (OrderStatus.UNKNOWN, OrderStatus.REJECTED):
            found = await self.venue.order_status(account, request.cloid)
            if found.status in _HELD or result.status is OrderStatus.UNKNOWN:
                result = found
        return result

    async def cancel(self, account: TradingAccount, coin: str, cloid: str) -> bool:
        """Cancel a resting order of ours; False when the venue would not (gone, filled, unknown)."""
        return await self.venue.cancel(account, coin, cloid)

    async def open_orders(self, account: TradingAccount) -> list[tuple[str, str]]:
        """Our open orders as the venue lists them, as (coin, cloid): those with a cloid (a manual order
        is the user's). None on a venue that cannot list them (GMX: no trigger orders, and market orders
        are answered once the keeper acted, so nothing of ours rests there)."""
        listing = getattr(self.venue, "open_orders", None)
        if listing is None:
            return []
        try:
            orders = await listing(account)
        except NotImplementedError:
            return []
        return [(o.coin, o.cloid) for o in orders if o.cloid]

    async def status(self, account: TradingAccount, cloid: str) -> OrderResult:
        """The order's status on the venue, by cloid."""
        return await self.venue.order_status(account, cloid)

    async def record_status(self, cloid: str, result: OrderResult) -> None:
        """A status the venue reported for an order of ours, onto its intent (none recorded: nothing)."""
        if await self.ledger.get_intent(cloid) is None:
            return  # never recorded (an unknown placement): nothing to attach the status to
        await self.ledger.record_order_status(
            cloid, status=result.status.value, oid=result.oid, details=_details(result)
        )

    async def _send(self, account: TradingAccount, request: OrderRequest) -> OrderResult:
        self.sends += 1
        try:
            (result,) = await self.venue.place(account, [request])
        except Exception as exc:  # a venue client must not raise here, but an unknown is an unknown
            log.exception("place %s raised", request.cloid)
            result = OrderResult(OrderStatus.UNKNOWN, request.cloid, error=f"{type(exc).__name__}: {exc}")
        return result

    async def _settle(
        self,
        account: TradingAccount,
        request: OrderRequest,
        result: OrderResult,
        *,
        resends: int,
        grace_s: float | None = None,
    ) -> OrderResult:
        cloid = request.cloid
        assert cloid is not None
        while result.status not in _SETTLED:
            self.unknown_outcomes += 1
            await self.ledger.mark_intent(cloid, IntentStatus.UNKNOWN, error=result.error)
            log_event(log, "order_outcome_unknown", level=logging.WARNING, cloid=cloid, error=result.error)
            result = await self._look_up(account, cloid, grace_s)
            grace_s = None  # a re-send gets the full grace window
            if result.status is not OrderStatus.NOT_FOUND:
                if result.status is OrderStatus.UNKNOWN:
                    return result  # the venue could not tell us: never re-send on a guess
                break
            if resends >= self.policy.max_resends:
                return OrderResult(
                    OrderStatus.UNKNOWN, cloid, error=f"not found on the venue after {resends} re-sends"
                )
            resends += 1
            log_event(log, "order_resend", cloid=cloid, attempt=resends)
            await self.ledger.mark_intent(cloid, IntentStatus.SUBMITTED)
            result = await self._send(account, request)
        await self.ledger.record_order_status(
            cloid, status=result.status.value, oid=result.oid, details=_details(result)
        )
        crash_point("after_ack")
        return result

    async def _look_up(self, account: TradingAccount, cloid: str, grace_s: float | None) -> OrderResult:
        """The order's status by cloid, asked until it is known or the grace window ends."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.policy.not_found_grace_s if grace_s is None else grace_s)
        while True:
            try:
                found = await self.venue.order_status(account, cloid)
            except Exception as exc:  # the lookup itself failed: still unknown
                found = OrderResult(OrderStatus.UNKNOWN, cloid, error=f"lookup failed: {type(exc).__name__}")
            if found.status in _SETTLED:
                return found
            if loop.time() >= deadline:
                return found
            await asyncio.sleep(self.policy.lookup_interval_s)


def filled_part(result: OrderResult) -> Decimal:
    return result.filled_sz if result.status is OrderStatus.FILLED else Decimal(0)
