"""The leader commission on copied orders (SPEC §14): a follow's builder (`commission_to`,
`commission_tenths_bp`) rides on its orders as `{"b", "f"}` only once the follower's master approved
that builder at least at that rate. The approval is read from the venue (`maxBuilderFee`) and kept for
`ttl_s`; a refusal in the venue's words forgets it and the order goes again without the builder. A
follower without approval is told once per follow and rate, and its orders go without the field: **a
commission never blocks a copy** (a failed read neither: the order goes without it, nobody is told).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from bot.alerts import AlertKind
from bot.domain import BuilderFee, OrderRequest, OrderResult, OrderStatus, Venue
from bot.domain.refusals import Refusal, refusal_of
from bot.pipeline.desk import Desk
from bot.pipeline.tell import Teller

log = logging.getLogger(__name__)

APPROVAL_TTL_S = 300.0  # an approval read is trusted this long (a venue refusal re-reads at once)
NOT_APPROVED = "builder_not_approved"  # the alert's reason code
NO_BUILDER_CODES = "no_builder_codes"


def refused_for_builder(result: OrderResult) -> bool:
    """The venue refused the order because of its builder (not approved, or at a lower rate)."""
    return result.status is OrderStatus.REJECTED and refusal_of(result.error) is Refusal.BUILDER_FEE


class Commission:
    def __init__(
        self,
        venue: Venue,
        teller: Teller,
        *,
        ttl_s: float = APPROVAL_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.venue = venue
        self.teller = teller
        self.ttl_s = ttl_s
        self.clock = clock
        self._approved: dict[tuple[str, str], tuple[int | None, float]] = {}  # None: the read failed
        self._told: set[tuple[str, str, BuilderFee]] = set()  # (follower, source, builder) told once
        self.reads = 0  # maxBuilderFee reads (tests: the cache works)

    async def builder_for(self, desk: Desk, source: str) -> BuilderFee | None:
        """The builder the follow's orders carry now, or None (no commission, not approved, unknown)."""
        plan = desk.plan_for(source)
        wanted = None if plan is None else plan.settings.commission
        if wanted is None:
            return None
        caps = self.venue.capabilities
        if not caps.builder_codes or wanted.tenths_bp > caps.max_builder_tenths_bp:
            why = (
                "this follower's orders cannot name a builder (no builder codes where it trades)"
                if not caps.builder_codes
                else f"{caps.display} caps a builder fee at {caps.max_builder_tenths_bp} tenths of a bp"
            )
            self._tell(desk, source, wanted, NO_BUILDER_CODES, f"{why}: orders go without the commission")
            return None
        approved = await self._approved_rate(desk.account.address, wanted.address)
        if approved is None:
            return None
        if approved < wanted.tenths_bp:
            self._tell_not_approved(desk, source, wanted, approved)
            return None
        self._told.discard((desk.address, source, wanted))  # approved now: a later revocation is told
        return wanted

    def forget(self, user: str, builder: str) -> None:
        """The venue refused a builder: the cached approval is stale (the next order re-reads it)."""
        self._approved.pop((user.lower(), builder.lower()), None)

    async def send(
        self,
        desk: Desk,
        source: str,
        request: OrderRequest,
        send: Callable[[OrderRequest], Awaitable[OrderResult]],
    ) -> tuple[OrderRequest, OrderResult]:
        """`request` with the follow's builder when approved, sent through `send` (the one order path);
        refused for the builder, sent again without it (same cloid: the refusal executed nothing)."""
        builder = await self.builder_for(desk, source)
        sent = request if builder is None else replace(request, builder=builder)
        result = await send(sent)
        if builder is None or not refused_for_builder(result):
            return sent, result
        self.forget(desk.account.address, builder.address)
        self._tell_not_approved(desk, source, builder, None)
        bare = replace(sent, builder=None)
        return bare, await send(bare)

    async def _approved_rate(self, user: str, builder: str) -> int | None:
        key = (user.lower(), builder.lower())
        cached = self._approved.get(key)
        now = self.clock()
        if cached is not None and now - cached[1] < self.ttl_s:
            return cached[0]
        self.reads += 1
        try:
            rate: int | None = await self.venue.max_builder_fee(*key)
        except Exception as exc:  # a read that fails never holds a copy back
            log.warning("maxBuilderFee %s → %s unreadable: %s", key[0], key[1], type(exc).__name__)
            rate = None
        self._approved[key] = (rate, now)
        return rate

    def _tell_not_approved(self, desk: Desk, source: str, wanted: BuilderFee, approved: int | None) -> None:
        rate = f"{wanted.tenths_bp} tenths of a bp"
        had = "" if not approved else f" (approved: {approved} tenths of a bp)"
        self._tell(
            desk,
            source,
            wanted,
            NOT_APPROVED,
            f"the commission to {wanted.address} ({rate}) is not approved by the account's master{had}: "
            "orders are copied without it. Approve it once: `mirrorbot builder approve` or /builder",
        )

    def _tell(self, desk: Desk, source: str, wanted: BuilderFee, reason: str, message: str) -> None:
        key = (desk.address, source, wanted)
        if key in self._told:
            return
        self._told.add(key)
        self.teller.alert(
            AlertKind.COMMISSION,
            reason,
            message,
            desk,
            source,
            None,
            builder=wanted.address,
            tenths_bp=wanted.tenths_bp,
        )
