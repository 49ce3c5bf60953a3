"""Intake: the venue's source fills → one `FillCoalescer` per source → batches of `SourceChange`s, handed
to the copier with their raw fills (it records each as a LeaderEvent with the decisions it leads to,
in one transaction, before any order is sent).

Fills arriving together (one websocket message, a backfill page) are taken as one batch: everything
already queued is taken at once (the fills of one message are queued in one go), so the fills of one
block are coalesced into one change without waiting. `quiet_ms` > 0 also waits that long after the last
fill for more (SPEC §2: the window is configurable), for a venue that delivers one block's fills in
several messages; the default is no wait (docs/decisions/hotpath.md). The coalescers outlive a restart
of the watch (a new source set), so a fill delivered twice — websocket, backfill, our own catch-up — is
mirrored once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal

from bot.alerts import Alert, AlertBus, AlertKind
from bot.domain import SourceChange, SourceFill, Venue
from bot.faults import SOURCE_GAP, out_of_order_alert
from bot.ledger import LeaderEvent, Ledger
from bot.ledger.repository import leader_event_row
from bot.logs import log_event
from bot.normalise import FillCoalescer
from bot.pipeline.convert import fill_payload

log = logging.getLogger(__name__)

Handler = Callable[[list[SourceChange], Mapping[str, LeaderEvent]], Awaitable[None]]  # rows by event id


class WatchStopped(Exception):
    """The venue's watch ended or failed; the runner restarts it."""


class Intake:
    def __init__(
        self,
        venue: Venue,
        ledger: Ledger,
        alerts: AlertBus,
        handler: Handler,
        *,
        venue_name: str,
        window_ms: int = 0,
        quiet_ms: int = 0,
    ) -> None:
        self.venue = venue
        self.ledger = ledger
        self.alerts = alerts
        self.handler = handler
        self.venue_name = venue_name
        self.window_ms = window_ms
        self.quiet_s = quiet_ms / 1000
        self.coalescers: dict[str, FillCoalescer] = {}
        self._gaps_told: dict[str, int] = {}
        self._disorder_told: dict[str, int] = {}  # out-of-order fills alerted, per source
        self._closing = asyncio.Event()
        self.batches = 0  # processed (tests, health)

    def prime(self, source: str, positions: Mapping[str, Decimal]) -> None:
        """(Re)start tracking `source` from a complete position snapshot (a coin it lacks is flat): for a
        source that is not being watched, whose last known sizes may be stale."""
        self.coalescers[source] = FillCoalescer(source, initial=positions, window_ms=self.window_ms)
        self._gaps_told[source] = 0
        self._disorder_told[source] = 0

    def close(self) -> None:
        """Stop taking fills: `run` returns after the batch in hand is mirrored (never cut in half)."""
        self._closing.set()

    def reopen(self) -> None:
        self._closing.clear()

    async def run(self, sources: Sequence[str], since_ms: int) -> None:
        """Watch `sources` until cancelled; raises `WatchStopped` if the venue's watch fails."""
        queue: asyncio.Queue[SourceFill | BaseException] = asyncio.Queue()

        async def pump() -> None:
            try:
                async with contextlib.aclosing(self.venue.watch(sources)) as stream:  # type: ignore[type-var]
                    async for fill in stream:
                        queue.put_nowait(fill)
                queue.put_nowait(WatchStopped("the venue's watch ended"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                queue.put_nowait(exc)

        task = asyncio.create_task(pump(), name="intake-watch")
        try:
            # Fills between `since_ms` and the moment the watch is live: read them once (duplicates
            # of what the watch delivers are dropped by the coalescers).
            for source in sources:
                for fill in await self.venue.fills_since(source, since_ms):
                    queue.put_nowait(replace(fill, source=source))
            while not self._closing.is_set():
                getting = asyncio.ensure_future(self._next_batch(queue))
                closing = asyncio.ensure_future(self._closing.wait())
                await asyncio.wait({getting, closing}, return_when=asyncio.FIRST_COMPLETED)
                closing.cancel()
                if not getting.done():
                    getting.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await getting
                    break
                await self.process(getting.result())
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _next_batch(self, queue: asyncio.Queue[SourceFill | BaseException]) -> list[SourceFill]:
        """The next fill and every fill queued with it; with `quiet_ms` > 0, also those that follow
        within that window of the last one."""
        batch: list[SourceFill] = []
        item = await queue.get()
        while True:
            if isinstance(item, BaseException):
                if batch:  # mirror what arrived before the failure first
                    queue.put_nowait(item)
                    return batch
                raise WatchStopped(f"watch failed: {type(item).__name__}: {item}") from item
            batch.append(item)
            if not queue.empty():
                item = queue.get_nowait()
                continue
            if self.quiet_s <= 0:
                # One loop turn: a message's fills pass through the venue's own queue first, so the
                # rest of them may be one hop behind this one. Costs microseconds, never a wait.
                await asyncio.sleep(0)
                if queue.empty():
                    return batch
                item = queue.get_nowait()
                continue
            try:
                item = await asyncio.wait_for(queue.get(), self.quiet_s)
            except TimeoutError:
                return batch

    async def process(self, fills: Sequence[SourceFill]) -> list[SourceChange]:
        """Coalesce a batch into changes; hand them and their leader events to the copier."""
        by_source: dict[str, list[SourceFill]] = {}
        for fill in fills:
            by_source.setdefault(fill.source, []).append(fill)
        changes: list[SourceChange] = []
        for source, items in by_source.items():
            coalescer = self.coalescers.setdefault(source, FillCoalescer(source, window_ms=self.window_ms))
            if not coalescer.add_all(items):
                continue
            changes += coalescer.flush()
            self._tell_gaps(coalescer)
        if not changes:
            return []
        # The copier records each change's leader event in the transaction that records its decisions
        # (one write before the send, not two).
        events: dict[str, LeaderEvent] = {}
        for change in changes:
            payload = {"fills": [fill_payload(f) for f in _fills_of(change, changes, fills)]}
            events[change.event_id] = leader_event_row(change, venue=self.venue_name, payload=payload)
            log_event(
                log,
                "source_change",
                source=change.source,
                coin=change.coin,
                old=change.old,
                new=change.new,
                event_id=change.event_id,
            )
        self.batches += 1
        await self.handler(changes, events)
        return changes

    def _tell_gaps(self, coalescer: FillCoalescer) -> None:
        told = self._gaps_told.get(coalescer.source, 0)
        for gap in coalescer.gaps[told:]:
            self.alerts.publish(
                Alert(
                    AlertKind.SOURCE_GAP,
                    SOURCE_GAP,
                    f"{gap.coin}: the source held {gap.reported}, we last knew {gap.expected}; "
                    "the change is applied from the venue's figure",
                    source=gap.source,
                    coin=gap.coin,
                    details={"event_id": gap.event_id},
                )
            )
        self._gaps_told[coalescer.source] = len(coalescer.gaps)
        told = self._disorder_told.get(coalescer.source, 0)
        for fill in coalescer.out_of_order[told:]:
            absorbed = fill in coalescer.absorbed_fills
            self.alerts.publish(out_of_order_alert(coalescer.source, fill, absorbed))
        self._disorder_told[coalescer.source] = len(coalescer.out_of_order)


def _fills_of(
    change: SourceChange, changes: Sequence[SourceChange], fills: Sequence[SourceFill]
) -> list[SourceFill]:
    """The batch's fills that made `change`: same source and coin, from its time to the next change's."""
    later = [
        c.time_ms
        for c in changes
        if (c.source, c.coin) == (change.source, change.coin) and c.time_ms > change.time_ms
    ]
    until = min(later) if later else None
    return [
        f
        for f in fills
        if (f.source, f.coin) == (change.source, change.coin)
        and f.time_ms >= change.time_ms
        and (until is None or f.time_ms < until)
    ]
