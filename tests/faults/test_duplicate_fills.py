"""Fault: the venue delivers a source fill twice (duplicate_fill). Rule: a fill is identified by
(tid, oid); the watch's de-duplicator drops the repeat (and the intake's coalescer would drop any that
reached it), so the change is mirrored once."""

from __future__ import annotations

from bot.alerts import AlertKind
from bot.faults import DUPLICATE_FILL
from tests.e2e.support import World
from tests.faults.support import alert, converged, fault, follower_orders, no_duplicate_orders, start


async def test_a_fill_pushed_twice_is_mirrored_once(world: World) -> None:
    pair = await start(world)
    await fault(world, duplicateWsFills=1)  # every userFills push is sent twice
    await world.leader_to(pair.leader, "ETH", "10")
    await alert(world, DUPLICATE_FILL, AlertKind.FAULT)
    await world.leader_to(pair.leader, "ETH", "15")

    await alert(world, "increase", AlertKind.COPIED)
    await converged(pair, {"ETH": "0.15"})
    await no_duplicate_orders(world)
    assert len(await follower_orders(world, pair.follower)) == 2  # the open and the increase
    duplicates = [a for a in world.alerts.of_kind(AlertKind.FAULT) if a.reason == DUPLICATE_FILL]
    assert len(duplicates) == 2 and pair.source in duplicates[0].message
