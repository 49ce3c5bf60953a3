"""The followers' fills into the ledger, batched: one `fills_since` per follower covers all its orders.

An order's answer already says how much filled and at what average price (`OrderResult`), so nothing
on the copy path waits for the fills. Their details (trade id, fee, each level's price) are for the
ledger's lineage (SPEC §5), so they are read in batches: after a follower's order is answered, one
`userFillsByTime` (weight 20 + 1 per 20 fills) from just before its oldest awaited order, no sooner than
`gather_s` after that answer (orders answered meanwhile ride along) and no more often than
`min_interval_s` per follower. The request weight orders cost is then bounded per follower and
interval, never per order. Fills are matched to the awaited order by oid and recorded with its cloid;
the ledger keeps one row per trade id, so reading a fill twice records it once. An order whose fills
have not all shown up `window_s` after its answer is alerted and dropped (a restart's
`Ledger.unrecorded_fill_orders` still records an order that has none).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from bot.alerts import Alert, AlertBus, AlertKind
from bot.domain import SourceFill, Venue
from bot.ledger import Ledger, SnapshotOrigin
from bot.ledger.ids import normalise_account
from bot.ledger.types import from_ms
from bot.logs import log_event
from bot.pipeline.convert import fill_payload

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FillReaderOptions:
    gather_s: float = 1.0  # after an answer, wait this long so the follower's next orders share the read
    min_interval_s: float = 15.0  # at most one read per follower this often: the weight orders cost
    window_s: float = 60.0  # an order whose fills are not all in this long after its answer is alerted
    lookback_ms: int = 10_000  # read from this long before the order was sent (clock skew)
    # Reads in flight at once: 1,000 followers answered together must not open 1,000 requests (the
    # HTTP pool's bookkeeping then costs more than the reads, and the orders' budget is shared).
    max_concurrent_reads: int = 16

    def __post_init__(self) -> None:
        if self.gather_s < 0 or self.min_interval_s < 0 or self.lookback_ms < 0:
            raise ValueError("gather_s, min_interval_s and lookback_ms must be >= 0")
        if self.max_concurrent_reads < 1:
            raise ValueError("max_concurrent_reads must be >= 1")
        if self.window_s <= 0:
            raise ValueError("window_s must be > 0")


@dataclass(slots=True)
class AwaitedOrder:
    """An answered order with a filled part whose fills are not (all) in the ledger yet."""

    address: str  # the follower as the venue is asked
    coin: str
    oid: int
    cloid: str | None
    filled_sz: Decimal | None  # from the answer: the fills must add up to this (None: any fill will do)
    sent_ms: int
    due: float  # loop time after which its missing fills are alerted
    recorded: Decimal = Decimal(0)

    @property
    def complete(self) -> bool:
        return self.recorded >= self.filled_sz if self.filled_sz is not None else self.recorded > 0


@dataclass(slots=True)
class _Follower:
    awaited: dict[int, AwaitedOrder] = field(default_factory=dict)  # by oid
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_read: float | None = None  # loop time of the last read
    task: asyncio.Task[None] | None = None


class FillReader:
    def __init__(
        self,
        venue: Venue,
        ledger: Ledger,
        venue_name: str,
        alerts: AlertBus | None = None,
        options: FillReaderOptions | None = None,
    ) -> None:
        self.venue = venue
        self.ledger = ledger
        self.venue_name = venue_name
        self.alerts = alerts
        self.options = options or FillReaderOptions()
        self.reads = 0  # fills reads made (status, tests)
        self._followers: dict[str, _Follower] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False
        self._slots = asyncio.Semaphore(self.options.max_concurrent_reads)

    @property
    def pending(self) -> int:
        """Orders whose fills are awaited."""
        return sum(len(f.awaited) for f in self._followers.values())

    def expect(
        self, address: str, coin: str, oid: int, cloid: str | None, filled: Decimal | None, sent_ms: int
    ) -> None:
        """An order answered with `filled` > 0: its fills are read in the follower's next batch. `None`
        when the filled size is not known (an order settled after a restart from its intent's size):
        the order's fills found by a read made after the fact are all of them."""
        loop = asyncio.get_running_loop()
        order = AwaitedOrder(address, coin, oid, cloid, filled, sent_ms, loop.time() + self.options.window_s)
        follower = self._followers.setdefault(normalise_account(address), _Follower())
        follower.awaited.setdefault(oid, order)
        self._idle.clear()
        if not self._closed and (follower.task is None or follower.task.done()):
            follower.task = asyncio.create_task(self._pump(follower))

    async def _pump(self, follower: _Follower) -> None:
        """Read this follower's fills until none of its orders is awaited (one read per interval)."""
        loop = asyncio.get_running_loop()
        while follower.awaited and not self._closed:
            at = loop.time() + self.options.gather_s
            if follower.last_read is not None:
                at = max(at, follower.last_read + self.options.min_interval_s)
            await asyncio.sleep(max(0.0, at - loop.time()))
            if not self._closed:
                await self._read(follower)
        self._check_idle()

    async def flush(self) -> None:
        """Read now for every follower with awaited orders (an accounts refresh, shutdown, tests)."""
        await asyncio.gather(*(self._read(f) for f in list(self._followers.values()) if f.awaited))
        self._check_idle()

    async def wait_idle(self) -> None:
        """Until no order's fills are awaited (each was recorded, or alerted as missing)."""
        await self._idle.wait()

    async def close(self) -> None:
        """Stop reading on the timer, after one last read for what is awaited (a graceful stop)."""
        if self._closed:
            return
        self._closed = True
        await self.flush()
        for follower in self._followers.values():
            if follower.task is not None and not follower.task.done():
                follower.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await follower.task

    def _check_idle(self) -> None:
        if not any(f.awaited for f in self._followers.values()):
            self._idle.set()

    async def _read(self, follower: _Follower) -> None:
        async with follower.lock:
            if not follower.awaited:
                return
            orders = list(follower.awaited.values())
            address = orders[0].address
            start = min(o.sent_ms for o in orders) - self.options.lookback_ms
            loop = asyncio.get_running_loop()
            follower.last_read = loop.time()
            self.reads += 1
            try:
                async with self._slots:
                    fills = await self.venue.fills_since(address, start)
            except Exception as exc:
                log_event(log, "fills_read_failed", level=logging.WARNING, follower=address, error=repr(exc))
                fills = []
            by_oid: dict[int, list[SourceFill]] = {}
            for fill in fills:
                if fill.oid in follower.awaited:
                    by_oid.setdefault(fill.oid, []).append(fill)
            for order in orders:
                if order.oid in by_oid:
                    try:
                        await self._record(order, by_oid[order.oid])
                    except Exception:  # the ledger failed: still awaited, the next read tries again
                        log.exception("recording the fills of order %s failed", order.oid)
                if order.complete:
                    del follower.awaited[order.oid]
                elif loop.time() >= order.due:
                    del follower.awaited[order.oid]
                    self._missing(order)

    async def _record(self, order: AwaitedOrder, fills: Sequence[SourceFill]) -> None:
        """The order's fills into the ledger (each trade id once), then the position the last one left
        (start position + its signed size), linked to it: the end of the fill's lineage."""
        created = False
        last_id: int | None = None
        total = Decimal(0)
        ordered = sorted(fills, key=lambda f: (f.time_ms, f.tid or 0))
        for fill in ordered:
            row = await self.ledger.record_domain_fill(
                fill,
                venue=self.venue_name,
                account=order.address,
                cloid=order.cloid,
                payload=fill_payload(fill),
            )
            created |= row.created
            last_id = row.row.id
            total += fill.sz
        order.recorded = total
        if created and order.complete:
            last = ordered[-1]
            await self.ledger.record_snapshot(
                venue=self.venue_name,
                account=order.address,
                coin=order.coin,
                size=last.start_position + last.signed_sz,
                origin=SnapshotOrigin.FILL,
                time=from_ms(last.time_ms),
                fill_id=last_id,
            )

    def _missing(self, order: AwaitedOrder) -> None:
        message = (
            f"{order.coin}: the venue answered order {order.oid} as filled"
            f"{'' if order.filled_sz is None else f' {order.filled_sz}'}, but only {order.recorded} of its "
            f"fills showed up within {self.options.window_s:g} s; the ledger lacks the rest"
        )
        log_event(
            log,
            "fills_missing",
            level=logging.WARNING,
            follower=order.address,
            oid=order.oid,
            cloid=order.cloid,
        )
        if self.alerts is not None:
            self.alerts.publish(
                Alert(
                    AlertKind.FAILURE,
                    "fills_missing",
                    message,
                    normalise_account(order.address),
                    None,
                    order.coin,
                    {"oid": order.oid, "cloid": order.cloid},
                )
            )
