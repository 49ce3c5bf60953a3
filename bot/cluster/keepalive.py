"""A process's leases kept alive from a thread of its own, so the work on its event loop cannot starve them.

A copy worker loading hundreds of followers, or copying a burst, keeps its event loop busy for seconds; on
a loaded host its heartbeat (a task on that loop) then came more than a lease late, its leases expired
while it was working, other workers took its followers, and each move made somebody load followers
again — the leases never settled (docs/benchmarks.md, "Scale", 4 workers on 2 cores).

So each process also extends its leases — its own row and its work, in one transaction
(`bot.ledger.ownership.Keeper`) — from this thread, over a ledger connection of its own, when the
heartbeat is late (checked every half heartbeat). It only extends: taking, giving back and noticing a
loss stay with the heartbeat on the event loop (`Member.beat`), which alone knows what the process holds.

It extends them **only while the event loop still turns within a lease**: every tick it asks the loop to
note the time (`call_soon_threadsafe`), and a loop that has not answered for a lease (wedged in a
blocking call, a busy loop) gets no renewal, so its leases expire and others take its work, as if the
process were gone. A frozen process (SIGSTOP) freezes this thread too. Safety never rests on this
thread: a write of intents still needs the current epoch (the fencing rule).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable

from bot.ledger.ownership import Keeper
from bot.logs import log_event

log = logging.getLogger(__name__)

TICKS_PER_HEARTBEAT = 2


def _never() -> float:
    return -math.inf


class KeepAlive:
    def __init__(
        self,
        keeper: Keeper,
        *,
        heartbeat_s: float,
        ttl_s: float,
        beaten: Callable[[], float] = _never,
    ) -> None:
        """`beaten`: when (monotonic) the heartbeat on the loop last renewed the row and the leases
        itself: while it keeps time, this thread writes nothing (renewing every tick as well would
        triple the lease writes: 10,000 rows a second for a worker of 10,000 followers)."""
        self.keeper, self.ttl_s, self.heartbeat_s, self.beaten = keeper, ttl_s, heartbeat_s, beaten
        self.tick_s = heartbeat_s / TICKS_PER_HEARTBEAT
        self.turned = time.monotonic()  # when the event loop last answered (monotonic)
        self.renewed = -math.inf  # when this thread last extended the leases (monotonic)
        self.extensions = 0  # transactions that extended the leases (tests, logs)
        self.skipped = 0  # ticks without a renewal because the loop had not answered for a lease
        self._loop: asyncio.AbstractEventLoop | None = None
        self._own_loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Start the thread, watching the turns of `loop` (the running one when None)."""
        if self._thread is not None:
            return
        self._loop = loop or asyncio.get_running_loop()
        self.turned = time.monotonic()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._main, args=(ready,), name="lease-keepalive", daemon=True)
        self._thread.start()
        ready.wait()

    async def stop(self) -> None:
        """Stop it and wait for its last transaction to end (before the leases are given back)."""
        thread, loop, stop = self._thread, self._own_loop, self._stop
        if thread is None:
            return
        self._thread = None
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # its loop already ended (the thread died)
                loop.call_soon_threadsafe(stop.set)
        await asyncio.to_thread(thread.join)

    def _turn(self) -> None:
        self.turned = time.monotonic()

    def _main(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._run(ready))
        except Exception:  # the heartbeat on the event loop still renews: degraded, not wrong
            log.exception("lease keep-alive thread failed")
        finally:
            ready.set()
            loop.close()

    async def _run(self, ready: threading.Event) -> None:
        self._own_loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        ready.set()
        stalled = False
        try:
            while not self._stop.is_set():
                await self._tick()
                quiet = time.monotonic() - self.turned > self.ttl_s
                if quiet != stalled:
                    stalled = quiet
                    log_event(
                        log,
                        "keepalive_paused" if quiet else "keepalive_resumed",
                        level=logging.WARNING if quiet else logging.INFO,
                        stalled_s=round(time.monotonic() - self.turned, 1),
                    )
                if quiet:
                    self.skipped += 1
                elif time.monotonic() - max(self.renewed, self.beaten()) >= self.heartbeat_s:  # late
                    try:
                        await self._extend()
                    except Exception:  # the ledger down: the heartbeat's own renewal will say so
                        log.warning("lease keep-alive could not extend the leases", exc_info=True)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.tick_s)
        finally:
            await self.keeper.close()

    async def _tick(self) -> None:
        """Ask the watched loop to note that it turned (answered when it next gets to its ready queue)."""
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(self._turn)
        except RuntimeError:  # the process's loop is closed: nothing left to keep alive
            assert self._stop is not None
            self._stop.set()

    async def _extend(self) -> None:
        await self.keeper.extend()
        self.renewed = time.monotonic()
        self.extensions += 1
