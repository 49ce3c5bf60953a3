"""A source change missed while down, when the pair's only decision is its follow (issue #15: found by
bench.failover — a copy worker that takes over a follower its dead owner never traded for recovers it
exactly like this restart)."""

from __future__ import annotations

from tests.e2e.support import World


async def test_a_flat_source_that_opened_while_down_is_copied_at_restart(world: World) -> None:
    """Followed while flat (the follow's decisions recorded, nothing copied yet), the bot stops, the source
    opens: at restart that is a missed change (SPEC §6) and is copied — not a position the source held
    before the follow (those wait for Copy Current)."""
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address)
    runner = await world.start_runner()
    await world.settle()
    await runner.stop()
    world.runner = None

    await world.leader_to(leader, "ETH", "10")
    await world.start_runner()
    await world.follower_at(follower, "ETH", "0.1", what="the change made while down copied at restart")


async def test_a_position_held_before_the_follow_still_waits_for_copy_current(world: World) -> None:
    """The rule's other side: a source already holding the coin when followed (no Copy Current) is not
    joined at restart either."""
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    await world.leader_to(leader, "ETH", "10")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address)
    runner = await world.start_runner()
    await world.settle()
    await runner.stop()
    world.runner = None

    await world.leader_to(leader, "ETH", "12")
    restarted = await world.start_runner()
    await world.settle()
    assert restarted.copier is not None
    assert await world.position(follower, "ETH") == 0
