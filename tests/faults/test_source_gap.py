"""Fault: a source fill arrives before our state has the previous one (source_gap): its
`startPosition` is not the size we last knew. Rule: the change is applied from the venue's reported
position (old = what we knew, new = startPosition + the fill), one change, so a missed open or flip is
never assumed away; the gap is alerted."""

from __future__ import annotations

from bot.alerts import AlertKind
from bot.faults import SOURCE_GAP
from tests.e2e.support import World
from tests.faults.support import alert, converged, fault, follower_orders, no_duplicate_orders, start


async def test_a_fill_past_a_missed_one_is_applied_from_the_venues_position(world: World) -> None:
    pair = await start(world)
    await fault(world, holdWsFills=1)  # the open is never pushed
    await world.leader_to(pair.leader, "ETH", "10")
    await world.leader_to(pair.leader, "ETH", "-4")  # a flip, pushed: startPosition 10, we knew 0

    gap = await alert(world, SOURCE_GAP, AlertKind.SOURCE_GAP)
    assert gap.coin == "ETH" and "held 10" in gap.message and "knew 0" in gap.message
    await alert(world, "open", AlertKind.COPIED)  # 0 → -4 seen as one change: a short open
    await converged(pair, {"ETH": "-0.04"})
    assert len(await follower_orders(world, pair.follower)) == 1
    await no_duplicate_orders(world)
