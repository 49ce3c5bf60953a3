"""After an order: the follower's resulting position, and the order's fills on their way to the ledger.

What happens after the venue answered is kept out of the copier's decide → send path. The answer says
what the order did (`OrderResult.filled_sz`, `avg_px`, `oid`), so the engine's position is moved by
exactly that (previous ± filled, signed) at once, with no account read per order; the snapshot is
recorded as `derived`. The order's fills (trade id, fee, each price) follow in the follower's next
batched read (`bot/pipeline/fills.py`). The venue is read only when the answer cannot tell: an unknown
outcome, or an order settled after a restart (the position read at start-up may already hold it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from decimal import Decimal

from bot.alerts import AlertBus
from bot.domain import AccountState, OrderRequest, OrderResult, OrderStatus, Venue
from bot.ledger import Ledger, SnapshotOrigin
from bot.ledger.types import from_ms
from bot.logs import log_event
from bot.pipeline.desk import Desk
from bot.pipeline.fills import FillReader, FillReaderOptions
from bot.pipeline.oms import filled_part

log = logging.getLogger(__name__)

Observe = Callable[[Desk, AccountState, Iterable[str]], None]
Moved = Callable[[Desk, str], None]  # the follower's position in a coin changed (e.g. the Protector)


class Settler:
    def __init__(
        self,
        venue: Venue,
        ledger: Ledger,
        venue_name: str,
        observe: Observe,
        alerts: AlertBus | None = None,
        options: FillReaderOptions | None = None,
    ) -> None:
        self.venue = venue
        self.ledger = ledger
        self.venue_name = venue_name
        self.observe = observe  # the follower's fresh state into its engine and the guards
        self.fills = FillReader(venue, ledger, venue_name, alerts, options)
        # Orders answered UNKNOWN: if the same intent is settled again (looked up later), the engine's
        # position may or may not hold it already, so the venue's figure is taken then.
        self._unsure: set[str] = set()
        self.after_position: list[Moved] = []  # called (not awaited) once a position is known to move

    async def settle(
        self,
        desk: Desk,
        request: OrderRequest,
        result: OrderResult,
        sent_ms: int,
        *,
        before: Decimal | None = None,
    ) -> None:
        """The order's outcome into the engine and the ledger; the caller holds the pair's lock.
        `before` is the position the order was decided against (default: the engine's now). It is the
        base, not the engine's position now: an account read that reached the venue after the order
        and returned before its answer has already put the order into the engine's position."""
        cloid = request.cloid or ""
        if result.status is OrderStatus.UNKNOWN or cloid in self._unsure:
            if result.status is OrderStatus.UNKNOWN:
                self._unsure.add(cloid)
            else:
                self._unsure.discard(cloid)
            await self.settle_from_venue(desk, request, result, sent_ms)
            return
        filled = filled_part(result)
        if filled == 0:
            return  # rejected, resting or nothing matched: the position is what it was
        coin = request.coin
        base = desk.engine.position(coin) if before is None else before
        size = base + (filled if request.is_buy else -filled)
        desk.engine.set_position(coin, size)
        desk.bump(coin)  # an account read that started before this answer must not undo it
        await self.ledger.record_snapshot(
            venue=self.venue_name, account=desk.address, coin=coin, size=size, origin=SnapshotOrigin.DERIVED
        )
        self._expect(desk, request, result, sent_ms)
        for hook in self.after_position:
            hook(desk, coin)

    async def settle_from_venue(
        self, desk: Desk, request: OrderRequest, result: OrderResult, sent_ms: int
    ) -> None:
        """After a restart (or an unknown outcome): the order's fills read now, and the position the
        venue reports. Not the steady-state path: it costs a fills read and an account read."""
        if self._expect(desk, request, result, sent_ms, exact=False):
            await self.fills.flush()
        await self.position_from_venue(desk, request.coin)

    def _expect(
        self, desk: Desk, request: OrderRequest, result: OrderResult, sent_ms: int, *, exact: bool = True
    ) -> bool:
        """Await the order's fills. `exact=False` after the fact (a restart fills `filled_sz` in from
        the intent's size, which a partly filled IOC never reached): whatever fills the read finds."""
        filled = filled_part(result)
        if filled == 0 or result.oid is None:
            return False
        size = filled if exact else None
        self.fills.expect(desk.account.address, request.coin, result.oid, request.cloid, size, sent_ms)
        return True

    async def position_from_venue(self, desk: Desk, coin: str) -> None:
        """The follower's position in `coin` as the venue reports it now, into the engine and the ledger."""
        try:
            state = await self.venue.account(desk.account.address)
        except Exception as exc:
            log_event(
                log, "account_read_failed", level=logging.WARNING, address=desk.address, error=repr(exc)
            )
            return
        self.observe(desk, state, [coin])
        for hook in self.after_position:
            hook(desk, coin)
        entry = next((p.entry_px for p in state.positions if p.coin == coin), None)
        await self.ledger.record_snapshot(
            venue=self.venue_name,
            account=desk.address,
            coin=coin,
            size=state.size(coin),
            origin=SnapshotOrigin.VENUE,
            entry_px=entry,
            time=from_ms(state.time_ms) if state.time_ms > 0 else None,
        )

    async def close(self) -> None:
        """The fills still awaited are read once more (a graceful stop), then the reader stops."""
        await self.fills.close()
