"""Fault: source fills arrive out of order (out_of_order_fill). Rule: fills taken together are sorted
by venue time before their change is computed; a fill arriving after a later fill of its coin was
already mirrored is counted by that later fill's `startPosition` (the venue's own figure) and is never
applied a second time."""

from __future__ import annotations

from bot.alerts import AlertKind
from bot.faults import OUT_OF_ORDER_FILL
from tests.e2e.support import World
from tests.faults.support import (
    alert,
    converged,
    fault,
    follower_orders,
    idle,
    no_duplicate_orders,
    start,
)


async def test_reordered_fills_converge(world: World) -> None:
    pair = await start(world)
    await fault(world, reorderWsFills=True)  # each push waits for the next one, then follows it
    await world.leader_to(pair.leader, "ETH", "10")
    await world.leader_to(pair.leader, "ETH", "15")  # pushed first, then the 10

    late = await alert(world, OUT_OF_ORDER_FILL, AlertKind.FAULT)
    assert late.coin == "ETH" and late.source == pair.source
    await converged(pair, {"ETH": "0.15"})
    await no_duplicate_orders(world)


async def test_a_fill_released_after_a_later_one_is_not_applied_twice(world: World) -> None:
    pair = await start(world)
    await fault(world, holdWsFills=1)
    await world.leader_to(pair.leader, "ETH", "10")  # held back
    await world.leader_to(pair.leader, "ETH", "15")  # arrives first: startPosition 10, we knew 0
    await alert(world, "open", AlertKind.COPIED)
    await converged(pair, {"ETH": "0.15"})

    assert (await fault(world, releaseWsFills=True))["releasedWsFills"] == 1
    late = await alert(world, OUT_OF_ORDER_FILL, AlertKind.FAULT)
    assert late.details["absorbed"] is True
    await idle(pair)
    await converged(pair, {"ETH": "0.15"})  # not 0.25: the +10 was already in the 15
    assert len(await follower_orders(world, pair.follower)) == 1
    await no_duplicate_orders(world)
