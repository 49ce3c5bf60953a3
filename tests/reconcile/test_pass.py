"""The reconciliation pass on a real localnet: positions changed by hand (each out-of-sync policy),
a source change the watch missed, and the sync score."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from bot.pipeline.reconcile import PassReport
from tests.e2e.support import World


async def tracked(world: World, policy: str) -> tuple[Any, str]:
    """A follower mirroring a leader long 10 ETH (target 0.1) under the out-of-sync `policy`."""
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address, out_of_sync=policy)
    await world.start_runner()
    await world.leader_to(leader, "ETH", "10")
    await world.follower_at(follower, "ETH", "0.1")
    await world.settle()
    return leader, follower


async def by_hand(world: World, follower: str, *, is_buy: bool, size: str) -> None:
    sdk = world.sdk(world.wallets[follower.lower()])
    answer = await asyncio.to_thread(sdk.market_open, "ETH", is_buy, float(size))
    assert "filled" in answer["response"]["data"]["statuses"][0], answer


async def reconcile(world: World) -> PassReport:
    assert world.runner is not None
    await world.runner.reconcile()
    assert world.runner.reconciler is not None and world.runner.reconciler.last is not None
    return world.runner.reconciler.last


def reasons(world: World) -> list[str]:
    return [alert.reason for alert in world.alerts.recent]


async def test_catch_up_restores_a_position_reduced_by_hand(world: World) -> None:
    _, follower = await tracked(world, "catch_up")
    await by_hand(world, follower, is_buy=False, size="0.05")
    report = await reconcile(world)
    assert report.manual_changes == 1 and report.orders == 1
    assert "manual_position_change" in reasons(world)
    assert await world.position(follower, "ETH") == Decimal("0.1")
    assert report.sync_scores[follower.lower()] == 100


async def test_restrict_sends_reductions_only(world: World) -> None:
    _, follower = await tracked(world, "restrict")
    await by_hand(world, follower, is_buy=False, size="0.05")
    held = await reconcile(world)
    assert held.orders == 0 and held.held_by_policy == 1 and "policy_restrict" in reasons(world)
    assert await world.position(follower, "ETH") == Decimal("0.05")
    assert held.sync_scores[follower.lower()] == 50

    await by_hand(world, follower, is_buy=True, size="0.1")  # now 0.15: above target, a reduction is owed
    reduced = await reconcile(world)
    assert reduced.orders == 1
    assert await world.position(follower, "ETH") == Decimal("0.1")


async def test_pause_sends_nothing(world: World) -> None:
    _, follower = await tracked(world, "pause")
    await by_hand(world, follower, is_buy=True, size="0.05")
    report = await reconcile(world)
    assert report.orders == 0 and "policy_pause" in reasons(world)
    assert await world.position(follower, "ETH") == Decimal("0.15")
    assert report.sync_scores[follower.lower()] == 50


async def test_a_missed_source_change_is_applied_as_a_change(world: World) -> None:
    leader, follower = await tracked(world, "catch_up")
    assert world.runner is not None and world.runner.intake is not None
    world.runner.intake.close()  # the watch stops: the next trade is never seen as fills
    await world.leader_to(leader, "ETH", "15")
    report = await reconcile(world)
    assert report.missed_changes == 1 and "missed_source_change" in reasons(world)
    assert await world.position(follower, "ETH") == Decimal("0.15")


async def test_in_sync_pass_sends_nothing(world: World) -> None:
    _, follower = await tracked(world, "catch_up")
    report = await reconcile(world)
    assert (report.orders, report.manual_changes, report.missed_changes) == (0, 0, 0)
    assert report.sync_scores[follower.lower()] == 100


async def test_a_pass_shows_the_followers_equity_to_its_guards(world: World) -> None:
    """Reconciliation reads every follower's equity: its guards see it too (one path with the copier's
    own reads), so a loss that happened between fills trips the daily loss limit at the next pass."""
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address, daily_loss_limit="0.05")
    await world.start_runner()
    await world.leader_to(leader, "ETH", "10")
    await world.follower_at(follower, "ETH", "0.1")
    await world.settle()
    await world.set_mids(ETH="1000")  # the follower's 0.1 ETH loses $200 of ~$1,000: no fill, no read
    assert "daily_loss_limit" not in reasons(world)
    await reconcile(world)
    assert "daily_loss_limit" in reasons(world)
