"""The runner lease (bot/ledger/lease.py, issue #14 item 6), on SQLite and PostgreSQL: one holder per
scope, refused with the holder named, taken over when stale or provably dead, lost when taken over.
The same with real `mirrorbot run` processes: tests/restart/test_lease_processes.py."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from bot.ledger import Ledger, create_engine
from bot.ledger.lease import Holder, Lease, LeaseHeld, lease_scope
from tests.waiting import wait_until

SCOPE = lease_scope("hyperliquid")
T0 = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def lease(ledger: Ledger, clock: Clock, holder: Holder | None = None, scope: str = SCOPE) -> Lease:
    return Lease(ledger.engine, scope, stale_s=30, renew_s=5, holder=holder, clock=clock)


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


async def test_the_second_holder_is_refused_naming_the_first(ledger: Ledger) -> None:
    clock = Clock()
    first = lease(ledger, clock, Holder(pid=4242, host="alpha", node="another-machine"))
    assert await first.acquire() == 1
    clock.now += timedelta(seconds=7)
    with pytest.raises(LeaseHeld) as refused:
        await lease(ledger, clock).acquire()
    message = str(refused.value)
    assert "pid 4242 on host alpha" in message and "since 2026-12-07 03:00:00 UTC" in message
    assert "last heartbeat 7 s ago" in message and "hyperliquid followers" in message
    # Another follower venue is another scope: the GMX runner runs beside the Hyperliquid one.
    assert await lease(ledger, clock, scope=lease_scope("gmx")).acquire() == 1


async def test_a_released_lease_is_taken_with_a_higher_epoch(ledger: Ledger) -> None:
    clock = Clock()
    first = lease(ledger, clock)
    await first.acquire()
    await first.release()
    await first.release()  # idempotent
    second = lease(ledger, clock)
    assert await second.acquire() == 2
    assert not await first.renew()


async def test_a_stale_lease_is_taken_over_and_its_old_holder_finds_it_lost(ledger: Ledger) -> None:
    clock = Clock()
    old = lease(ledger, clock, Holder(pid=1, host="elsewhere", node="another-machine"))
    await old.acquire()
    clock.now += timedelta(seconds=20)
    assert await old.renew()  # renewed at 20 s: fresh until 50 s
    clock.now += timedelta(seconds=29)
    with pytest.raises(LeaseHeld):
        await lease(ledger, clock).acquire()
    clock.now += timedelta(seconds=2)  # 31 s after the last heartbeat
    new = lease(ledger, clock)
    assert await new.acquire() == 2
    assert not await old.renew()  # the fencing: the old holder cannot renew, it stops
    await old.release()  # and its release leaves the new holder's lease alone
    with pytest.raises(LeaseHeld):
        await lease(ledger, clock).acquire()
    assert await new.renew()


async def test_a_dead_holder_on_this_node_is_replaced_at_once(ledger: Ledger) -> None:
    clock = Clock()
    here = Holder()
    crashed = lease(ledger, clock, Holder(pid=dead_pid(), host=socket.gethostname(), node=here.node))
    await crashed.acquire()
    assert await lease(ledger, clock, here).acquire() == 2


async def test_a_live_holder_on_this_node_or_a_dead_pid_elsewhere_is_not_replaced(ledger: Ledger) -> None:
    clock = Clock()
    here = Holder()
    await lease(ledger, clock, Holder(pid=os.getppid(), node=here.node)).acquire()  # alive
    with pytest.raises(LeaseHeld):
        await lease(ledger, clock, here).acquire()
    other = lease_scope("gmx")
    await lease(ledger, clock, Holder(pid=dead_pid(), node="another-machine"), scope=other).acquire()
    with pytest.raises(LeaseHeld):  # a pid on another machine says nothing here
        await lease(ledger, clock, here, scope=other).acquire()


async def test_of_runners_starting_at_once_exactly_one_wins(db_url: str) -> None:
    ledgers = [Ledger(create_engine(db_url)) for _ in range(6)]
    try:
        results = await asyncio.gather(
            *(Lease(x.engine, SCOPE).acquire() for x in ledgers), return_exceptions=True
        )
    finally:
        for x in ledgers:
            await x.close()
    assert results.count(1) == 1, results
    assert all(isinstance(r, LeaseHeld) for r in results if r != 1), results


async def test_the_renewal_loop_reports_a_lost_lease_once(ledger: Ledger) -> None:
    holder = Lease(ledger.engine, SCOPE, stale_s=30, renew_s=0.02)
    await holder.acquire()
    lost: list[str] = []
    holder.start(lost.append)
    await asyncio.sleep(0.1)  # letting renewals run is the point: some five of them, none reports a loss
    assert lost == []  # renewing fine
    later = Clock()
    later.now = datetime.now(UTC) + timedelta(seconds=60)
    await lease(ledger, later).acquire()  # another runner, once this one looked stale
    await wait_until(lambda: lost, "the loss reported")
    assert len(lost) == 1 and "taken over" in lost[0]
    assert holder.lost is not None and holder.epoch is None
    await holder.release()


async def test_after_a_freeze_the_first_action_asks_the_ledger_and_a_replaced_holder_stops(
    ledger: Ledger,
) -> None:
    clock = Clock()
    holder = lease(ledger, clock, Holder(node="frozen-host"))
    await holder.acquire()
    lost: list[str] = []
    holder.start(lost.append)
    clock.now += timedelta(seconds=3)
    assert await holder.still_held() and lost == []  # renewed 3 s ago (< 1.5 intervals): no round trip
    clock.now += timedelta(seconds=60)  # frozen for a minute: the renewal loop never ran meanwhile
    assert await lease(ledger, clock).acquire() == 2  # another runner took over
    assert not await holder.still_held()
    assert len(lost) == 1 and "taken over" in lost[0]
    assert not await holder.still_held() and len(lost) == 1  # reported once
    await holder.release()


async def test_a_freeze_without_a_takeover_keeps_the_lease(ledger: Ledger) -> None:
    clock = Clock()
    holder = lease(ledger, clock)
    await holder.acquire()
    clock.now += timedelta(seconds=60)
    assert await holder.still_held()  # nobody took it: renewed, still ours
    assert holder.lost is None and holder.epoch == 1
