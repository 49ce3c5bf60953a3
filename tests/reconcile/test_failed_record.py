"""A change whose decisions could not be recorded (the ledger refused the transaction: a deadlock, a lock
timeout, the disk) sends nothing — and must not be forgotten: the follower is brought to its target by the
next reconciliation pass. The engine had already taken the change in; left as it was, it believed the
pair mirrored and no pass ever sent the order (found by bench.scale: 20 of 1,000 followers kept a
position their sources had closed).

The real runner on the localnet; the only seam is the ledger's `record_decisions`, made to fail once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import OperationalError

from tests.e2e.support import World
from tests.waiting import wait_until


def fail_once(world: World) -> list[int]:
    """The ledger's next `record_decisions` fails as a deadlocked transaction does; calls counted."""
    assert world.ledger is not None
    ledger = world.ledger
    real: Callable[..., Awaitable[Any]] = ledger.record_decisions
    calls = [0]

    async def record_decisions(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == 1:
            raise OperationalError("INSERT INTO instruction …", {}, Exception("deadlock detected"))
        return await real(*args, **kwargs)

    ledger.record_decisions = record_decisions  # type: ignore[method-assign]
    return calls


async def test_a_change_that_could_not_be_recorded_is_caught_up_by_the_next_pass(world: World) -> None:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address)
    runner = await world.start_runner()
    await world.leader_to(leader, "ETH", "10")
    await world.follower_at(follower, "ETH", "0.1")
    await world.settle()

    calls = fail_once(world)
    await world.leader_to(leader, "ETH", "0")
    await wait_until(lambda: calls[0] >= 1, "the close decided (and its record refused)")
    await world.settle()
    assert await world.position(follower, "ETH") == Decimal("0.1")  # nothing was sent

    await runner.reconcile()
    await world.follower_at(follower, "ETH", "0", what="the close caught up")
    assert runner.reconciler is not None and runner.reconciler.last is not None
    assert runner.reconciler.last.missed_changes == 1  # found missed, mirrored as a change
