"""The runtime guards on the localnet: the follower's equity and the source's move with the venue's
mids; each guard acts past its limit (and the same moves are copied before it), with its reason code
alerted and recorded, and the venue's own positions and order stats checked."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from bot.alerts import AlertKind
from bot.pipeline.runner import Runner
from bot.risk import RiskReason
from tests.e2e.support import ACTOR, World
from tests.waiting import wait_until


def guard_alerts(world: World, reason: RiskReason) -> int:
    return sum(1 for a in world.alerts.of_kind(AlertKind.GUARD) if a.reason == reason.value)


async def no_cloid_twice(world: World) -> None:
    """The localnet's stats: every cloid we sent reached the venue once."""
    cloids = Counter(c for r in await world.stats() if r["action"] == "order" for c in r["cloids"] or [])
    assert cloids and all(n == 1 for n in cloids.values()), cloids


async def refresh(world: World, runner: Runner) -> None:
    await world.settle()
    await runner.refresh_accounts()


async def test_daily_loss_limit_pauses_new_exposure_and_reductions_still_mirror(world: World) -> None:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address, daily_loss_limit="0.05")
    runner = await world.start_runner()
    await world.leader_to(leader, "ETH", "10")
    await world.follower_at(follower, "ETH", "0.1")
    await world.leader_to(leader, "ETH", "12")  # within the limit: copied
    await world.follower_at(follower, "ETH", "0.12")
    assert guard_alerts(world, RiskReason.DAILY_LOSS_LIMIT) == 0

    await world.set_mids(ETH="2500")  # 0.12 ETH lose $60: 6 % of the day's start equity
    await refresh(world, runner)
    assert guard_alerts(world, RiskReason.DAILY_LOSS_LIMIT) == 1
    await world.leader_to(leader, "ETH", "15")  # an increase: skipped (the engine is paused)
    await wait_until(lambda: _skipped(world, "paused"), "the skipped increase", equals=1)
    await world.settle()
    assert await world.position(follower, "ETH") == Decimal("0.12")
    await world.leader_to(leader, "ETH", "6")  # a decrease: mirrored (0.12 × 6 / 15)
    await world.follower_at(follower, "ETH", "0.048")
    await no_cloid_twice(world)


async def test_max_drawdown_closes_and_stays_stopped_after_a_restart(world: World) -> None:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address, max_drawdown="0.08")
    runner = await world.start_runner()
    await world.leader_to(leader, "ETH", "20")
    await world.follower_at(follower, "ETH", "0.2")
    await world.set_mids(ETH="2700")  # −$60: 6 % from the peak, not yet
    await refresh(world, runner)
    assert guard_alerts(world, RiskReason.MAX_DRAWDOWN) == 0
    await world.set_mids(ETH="2500")  # −$100: 10 % from the peak
    await refresh(world, runner)
    assert guard_alerts(world, RiskReason.MAX_DRAWDOWN) == 1
    await world.follower_at(follower, "ETH", "0", what="the stop's close")

    await runner.stop()  # the trip is in the state file: a restarted bot does not copy again
    runner = await world.start_runner()
    await refresh(world, runner)
    await world.leader_to(leader, "ETH", "30")
    await world.settle()
    assert await world.position(follower, "ETH") == 0
    await no_cloid_twice(world)


async def test_a_stop_that_trips_at_a_restart_closes_the_copy(world: World) -> None:
    """The market fell while the bot was down: the stop trips on recovery's read and closes the copy.
    (It tripped before the pairs were restored: the unfollow found no pair, sent no close, and left the
    position on the venue unmanaged.)"""
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address, max_drawdown="0.08")
    runner = await world.start_runner()
    await world.leader_to(leader, "ETH", "20")
    await world.follower_at(follower, "ETH", "0.2")
    await refresh(world, runner)  # the peak: $1,000
    await runner.stop()
    await world.set_mids(ETH="2500")  # −$100 while down: 10 % from the peak
    runner = await world.start_runner()
    await world.follower_at(follower, "ETH", "0", what="the stop's close at the restart")
    assert guard_alerts(world, RiskReason.MAX_DRAWDOWN) == 1
    await world.leader_to(leader, "ETH", "30")  # stopped: not copied
    await world.settle()
    assert await world.position(follower, "ETH") == 0
    await no_cloid_twice(world)


async def test_source_drawdown_unfollows_with_an_alert(world: World) -> None:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address, source_max_drawdown="0.05", max_drawdown="0.9")
    runner = await world.start_runner()
    await world.leader_to(leader, "ETH", "10")
    await world.follower_at(follower, "ETH", "0.1")
    await world.set_mids(ETH="2600")  # the source loses $4,000: 4 %
    await refresh(world, runner)
    assert guard_alerts(world, RiskReason.SOURCE_DRAWDOWN) == 0
    await world.set_mids(ETH="2400")  # $6,000: 6 % below its peak
    await refresh(world, runner)
    await wait_until(lambda: _count(world, RiskReason.SOURCE_DRAWDOWN), "source drawdown alert", equals=1)
    await world.follower_at(follower, "ETH", "0", what="the unfollow's close")
    assert runner.copier is not None and leader.address.lower() not in runner.copier.sources()
    await no_cloid_twice(world)


async def test_source_leverage_cap_unfollows_when_the_source_runs_above_it(world: World) -> None:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address, source_leverage_cap="20")
    runner = await world.start_runner()
    await world.leader_to(leader, "ETH", "10")  # the venue's default 20x: at the cap, copied
    await world.follower_at(follower, "ETH", "0.1")
    await refresh(world, runner)
    await world.leader_to(leader, "ETH", "12")  # still at the cap: the increase is copied
    await world.follower_at(follower, "ETH", "0.12")
    assert guard_alerts(world, RiskReason.SOURCE_LEVERAGE_CAP) == 0
    assert world.service is not None
    await world.service.follow_update(ACTOR, follower, leader.address, source_leverage_cap="10")
    await runner.sync_plans()
    await world.leader_to(leader, "ETH", "15")  # 20x is above the cap now: not copied, the follow ends
    await wait_until(lambda: _unfollowed(world, RiskReason.SOURCE_LEVERAGE_CAP), "the trip alert", equals=1)
    await refresh(world, runner)  # the drop is carried out: unfollowed with a close (τ := 0)
    await world.follower_at(follower, "ETH", "0", what="the unfollow's close")
    assert runner.copier is not None and leader.address.lower() not in runner.copier.sources()
    assert await _unfollowed(world, RiskReason.SOURCE_LEVERAGE_CAP) == 1  # alerted once
    buys = [r for r in await world.stats() if r["action"] == "order" and r["user"] == follower.lower()]
    assert len(buys) == 3  # 0.1, +0.02 and the close: the growth above the cap was never sent
    await no_cloid_twice(world)


async def _unfollowed(world: World, reason: RiskReason) -> int:
    """The trip alerts of a source guard (the order it refused is alerted apart)."""
    return sum(
        1 for a in world.alerts.of_kind(AlertKind.GUARD) if a.reason == reason and "unfollowed" in a.message
    )


async def _count(world: World, reason: RiskReason) -> int:
    return guard_alerts(world, reason)


async def _skipped(world: World, reason: str) -> int:
    return sum(1 for a in world.alerts.of_kind(AlertKind.SKIPPED) if a.reason == reason)
