"""The lease keep-alive thread (bot/cluster/keepalive.py), on SQLite and PostgreSQL: it keeps a process's
leases — its work and its own row — while its event loop turns but does not get to its heartbeat (busy
loading followers, copying a burst), and stops keeping them once the loop stops turning, so a wedged
process loses its work as a dead one does.

The lease times are a test clock's; only the thread's ticks are real time, and every wait below is for
something the thread did (an extension, a skipped tick), never a duration."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from bot.cluster.keepalive import KeepAlive
from bot.cluster.member import HEARTBEATS_PER_LEASE
from bot.ledger import Ledger
from bot.ledger.ownership import Keeper, LeaseKind, live
from tests.cluster.test_member import FOLLOWERS, Clock, worker
from tests.ledger.conftest import _pg_database, _sqlite_template, db_url, ledger

__all__ = ["_pg_database", "_sqlite_template", "db_url", "ledger"]

HEARTBEAT_S = 0.2  # the thread ticks every 0.1 s: the tests wait on its ticks
TTL_S = HEARTBEAT_S * HEARTBEATS_PER_LEASE
WAIT_S = 60.0  # a generous bound for a loaded machine; the waits end as soon as the thread acted


async def until(what: Callable[[], bool], why: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not what():
        assert time.monotonic() < deadline, f"the keep-alive thread did not {why}"
        await asyncio.sleep(0.01)


async def extended(keepalive: KeepAlive, times: int = 2) -> None:
    """Wait for `times` more extensions: at least one began after this call (the clock read then)."""
    target = keepalive.extensions + times
    await until(lambda: keepalive.extensions >= target, "extend the leases")


async def test_a_process_whose_loop_turns_keeps_its_work_without_a_heartbeat(ledger: Ledger) -> None:
    clock = Clock()
    a = worker(ledger, clock, "a", heartbeat_s=HEARTBEAT_S, keepalive=True)
    await a.join()
    try:
        await a.beat(FOLLOWERS)
        assert a.held == set(FOLLOWERS)
        assert a.keepalive is not None
        # a's loop is busy elsewhere: no heartbeat for ten leases. Its thread extends the leases meanwhile.
        clock.now += timedelta(seconds=10 * TTL_S)
        await extended(a.keepalive)
        b = worker(ledger, clock, "b")
        await b.join()
        beat = await b.beat(FOLLOWERS)
        assert not beat.gained and b.held == set()  # a's followers are still a's
        workers = {row.name for row in await live(ledger.engine, LeaseKind.WORKER, clock.now)}
        assert workers == {"a", "b"}  # a's own row is alive too: b counts two workers
        # a's heartbeat, when it comes, finds nothing taken from it and gives b its share.
        beat = await a.beat(FOLLOWERS)
        assert a.moves["lost"] == 0 and beat.lost == frozenset(FOLLOWERS) - a.held and len(a.held) == 4
        assert (await b.beat(FOLLOWERS)).gained == frozenset(set(FOLLOWERS) - a.held)
    finally:
        await a.leave()
    # Stopped with the leave: nothing extends the released leases again.
    assert not any(t.name == "lease-keepalive" for t in threading.enumerate())


@contextmanager
def loop_in_thread() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(WAIT_S)
        loop.close()


async def test_a_wedged_loop_gets_no_renewal_and_its_work_is_taken(ledger: Ledger) -> None:
    clock = Clock()
    a = worker(ledger, clock, "a")  # its leases, kept by a thread watching another loop (below)
    await a.join()
    await a.beat(FOLLOWERS)
    keeper = Keeper(ledger.engine, [LeaseKind.WORKER, LeaseKind.FOLLOWER], a.holder, ttl_s=TTL_S, clock=clock)
    keepalive = KeepAlive(keeper, heartbeat_s=HEARTBEAT_S, ttl_s=TTL_S)
    release = threading.Event()
    with loop_in_thread() as process_loop:
        keepalive.start(process_loop)
        try:
            await extended(keepalive)  # turning: kept
            process_loop.call_soon_threadsafe(release.wait, WAIT_S)  # wedged: a blocking call
            await until(lambda: keepalive.skipped >= 1, "notice the wedged loop")
            # From here on every tick is skipped; the leases expire a lease after the last extension.
            clock.now += timedelta(seconds=10 * TTL_S)
            skipped = keepalive.skipped
            await until(lambda: keepalive.skipped >= skipped + 2, "skip its ticks")
            b = worker(ledger, clock, "b")
            await b.join()
            beat = await b.beat(FOLLOWERS)
            assert beat.gained == frozenset(FOLLOWERS)  # a counts as gone: b takes everything
            # The loop turns again: the thread renews what is still a's — nothing of the work now.
            extensions = keepalive.extensions
            release.set()
            await extended(keepalive)
            assert keepalive.extensions > extensions
            assert (await a.beat(FOLLOWERS)).lost == frozenset(FOLLOWERS) and a.held == set()
        finally:
            release.set()
            await keepalive.stop()


async def test_a_process_that_beats_in_time_gets_no_extra_renewals(ledger: Ledger) -> None:
    """While the heartbeat on the loop keeps time the thread writes nothing: renewing every tick as well
    would triple the lease writes (10,000 rows a second for a worker of 10,000 followers)."""
    clock = Clock()
    heartbeat_s = 1.0  # a beat a heartbeat late on a loaded machine is what it takes to break this
    a = worker(ledger, clock, "a", heartbeat_s=heartbeat_s, keepalive=True)
    await a.join()
    try:
        assert a.keepalive is not None
        await a.beat(FOLLOWERS)
        await extended(a.keepalive)  # no beat since: the thread takes over
        extensions = a.keepalive.extensions
        for _ in range(25):  # now beating ten times a heartbeat: the thread has nothing to do
            await a.beat(FOLLOWERS)
            await asyncio.sleep(heartbeat_s / 10)
        assert a.keepalive.extensions <= extensions + 1  # at most one already under way
    finally:
        await a.leave()
