"""After an order: its fills and the follower's resulting position, from the venue into the ledger.

What happens after the venue answered is kept out of the copier's decide → send path, so it can be
changed (batched, deferred) without touching how decisions are made and orders sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from bot.domain import AccountState, OrderRequest, OrderResult, Venue
from bot.ledger import Ledger, SnapshotOrigin
from bot.ledger.types import from_ms
from bot.logs import log_event
from bot.pipeline.convert import fill_payload
from bot.pipeline.desk import Desk
from bot.pipeline.oms import filled_part

log = logging.getLogger(__name__)

FILL_LOOKBACK_MS = 10_000  # fills of an order are read from this long before it was sent (clock skew)

Observe = Callable[[Desk, AccountState, Iterable[str]], None]


class Settler:
    def __init__(self, venue: Venue, ledger: Ledger, venue_name: str, observe: Observe) -> None:
        self.venue = venue
        self.ledger = ledger
        self.venue_name = venue_name
        self.observe = observe  # the follower's fresh state into its engine and the guards

    async def settle(self, desk: Desk, request: OrderRequest, result: OrderResult, sent_ms: int) -> None:
        """Record the order's fills (if any) and the follower's position in its coin afterwards."""
        fill_id = await self.record_fills(desk, result, request, sent_ms) if filled_part(result) > 0 else None
        await self.position_after(desk, request.coin, fill_id)

    async def record_fills(
        self, desk: Desk, result: OrderResult, request: OrderRequest, sent_ms: int
    ) -> int | None:
        """The follower's fills of this order, from the venue, into the ledger; the last one's id."""
        if result.oid is None:
            return None
        try:
            fills = await self.venue.fills_since(desk.account.address, sent_ms - FILL_LOOKBACK_MS)
        except Exception as exc:
            log_event(log, "fills_read_failed", level=logging.WARNING, follower=desk.address, error=repr(exc))
            return None
        last: int | None = None
        for fill in sorted((f for f in fills if f.oid == result.oid), key=lambda f: (f.time_ms, f.tid or 0)):
            row = await self.ledger.record_domain_fill(
                fill,
                venue=self.venue_name,
                account=desk.address,
                cloid=request.cloid,
                payload=fill_payload(fill),
            )
            last = row.row.id
        return last

    async def position_after(self, desk: Desk, coin: str, fill_id: int | None) -> None:
        """The follower's position in `coin` as the venue reports it now, into the engine and the ledger."""
        try:
            state = await self.venue.account(desk.account.address)
        except Exception as exc:
            log_event(
                log, "account_read_failed", level=logging.WARNING, address=desk.address, error=repr(exc)
            )
            return
        self.observe(desk, state, [coin])
        entry = next((p.entry_px for p in state.positions if p.coin == coin), None)
        await self.ledger.record_snapshot(
            venue=self.venue_name,
            account=desk.address,
            coin=coin,
            size=state.size(coin),
            origin=SnapshotOrigin.VENUE,
            entry_px=entry,
            time=from_ms(state.time_ms) if state.time_ms > 0 else None,
            fill_id=fill_id,
        )
