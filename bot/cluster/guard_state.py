"""A copy worker's guard book kept in the ledger (bot/ledger/guard_store.py), so that a follower's guard
state moves with its lease: a follower taken over keeps its drawdown peak, its day's start equity, its
trips and the follows a source guard dropped. Each worker had kept them in a file of its own, so a
follower that moved started its peak afresh from its equity then — below a peak already lost from, the
max-drawdown stop and the daily loss limit both let it lose more than its owner set.

- A follower's state is read when the worker loads it (start-up, a gain) — before its account is read —
  and let go when the worker drops it; the sources' peaks are read with it (each only rises).
- Changes are written behind the event loop, coalesced, by one task, `BATCH` followers a transaction:
  the guards act on the book in memory at once, as before. Each write carries the lease epoch the
  change was made under and the ledger refuses a follower's write under an epoch no longer current (a
  worker that lost the follower cannot overwrite its new owner's state). What a crash loses is the last
  writes in flight: the next owner reads the follower's equity again against the peak written before.
- A worker drains the writes before it gives its leases back (`drain`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Collection
from decimal import Decimal
from typing import Any

from bot.ledger import Ledger
from bot.ledger.ownership import Fence
from bot.logs import log_event
from bot.risk.book import RiskBook

log = logging.getLogger(__name__)

RETRY_S = 1.0  # after a failed write (the ledger unreachable): what waits is kept, newer first
DRAIN_S = 10.0  # at stop, the writes waiting are given this long
BATCH = 200  # followers' states per transaction


class LedgerBookStore:
    """`BookStore` in the ledger for the followers this process owns (`fence`: their lease epochs)."""

    def __init__(self, ledger: Ledger, fence: Callable[[], Fence]) -> None:
        self.ledger = ledger
        self.fence = fence
        self._states: dict[str, tuple[dict[str, Any], int]] = {}  # follower → (its state, its epoch then)
        self._peaks: dict[str, Decimal] = {}
        self._task: asyncio.Task[None] | None = None
        self.refused = 0  # follower states the ledger refused (their lease had moved on): tests, logs

    def load(self) -> dict[str, Any]:
        return {}  # nothing until followers are adopted

    def write(self, book: RiskBook) -> None:
        followers, sources = book.take_changes()
        epochs = self.fence()
        for follower in followers:
            epoch = epochs.get(follower)
            if epoch is not None:  # not ours (any more): its owner writes it
                self._states[follower] = (book.follower_doc(follower), epoch)
        for source in sources:  # a book's peak only rises: its latest is the highest
            self._peaks[source] = book.source_peaks[source]
        if (self._states or self._peaks) and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._flush(), name="guard-state-writes")

    async def adopt(self, book: RiskBook, followers: Collection[str]) -> None:
        states = await self.ledger.guard_states(followers)
        for follower in followers:
            book.absorb(follower, states.get(follower.lower()))
        book.absorb_peaks(await self.ledger.source_peaks())

    def let_go(self, book: RiskBook, followers: Collection[str]) -> None:
        for follower in followers:  # a write still waiting lands only if its epoch still holds
            book.forget(follower)

    async def drain(self, within_s: float = DRAIN_S) -> None:
        """Until every change written so far is in the ledger (or refused), for at most `within_s` (the
        ledger unreachable: what is left is lost, as in a crash)."""
        if self._task is None or self._task.done():
            return
        done, _ = await asyncio.wait({self._task}, timeout=within_s)
        if not done:
            self._task.cancel()
            log_event(log, "guard_state_unwritten", level=logging.WARNING, followers=len(self._states))

    async def _flush(self) -> None:
        while self._states or self._peaks:
            # A batch at a time: the write locks its followers' lease rows, which their intents' writes
            # also lock (the fencing rule) — a start-up's 10,000 in one transaction held them for seconds.
            states = dict(itertools.islice(self._states.items(), BATCH))
            for follower in states:
                del self._states[follower]
            peaks, self._peaks = self._peaks, {}
            try:
                refused = await self.ledger.save_guard_states(
                    {f: doc for f, (doc, _) in states.items()}, {f: e for f, (_, e) in states.items()}, peaks
                )
            except Exception:
                log.exception("guard state: writing to the ledger failed; retrying")
                self._states = {**states, **self._states}  # a change made since is newer
                for source, peak in peaks.items():
                    self._peaks[source] = max(peak, self._peaks.get(source, peak))
                await asyncio.sleep(RETRY_S)
                continue
            if refused:
                self.refused += len(refused)
                log_event(log, "guard_state_fenced", level=logging.WARNING, followers=refused)
