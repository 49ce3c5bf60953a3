"""Portfolio-allocation mode (SPEC §9) live on the localnet through the real runner: an allocation
follower beside a mirror follower of the same source, the scheduled rebalance tick, and the out-of-sync
policy `rebalance` as the recovery from a disruption.

Equities are topped up to round figures before each decision (`level`), so ρ(now) = 10,000 / 100,000
= 0.1 exactly and every target below is hand-computed: band = 1 % of $10,000 = $100, trigger = $500.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlmodel import col, select

from bot.ledger import CopyInstruction, OrderIntent
from bot.ledger.db import session_factory
from bot.pipeline.rebalance import JOB_PREFIX
from bot.pipeline.runner import Runner
from tests.e2e.support import ACTOR, Leader, World

NEVER = 86_400  # a tick only when the test asks for one
ALLOCATION = {"strategy": "allocation", "rebalance_band_pct": "1", "rebalance_trigger_pct": "5"}


async def _level(world: World, runner: Runner, leader: Leader, *followers: str) -> None:
    """Everyone back at round equities (fees paid since), and the engines told."""
    await world.settle()
    await world.top_up(leader.address, "100000")
    for follower in followers:
        await world.top_up(follower, "10000")
    await runner.refresh_accounts()


async def _orders(world: World, follower: str) -> int:
    return len([r for r in await world.stats() if r["action"] == "order" and r["user"] == follower])


async def _kinds(world: World, follower: str) -> list[str]:
    """The event of every decision that sent an order, in the order they were sent (the ledger's)."""
    assert world.ledger is not None
    async with session_factory(world.ledger.engine)() as session:
        query = (
            select(CopyInstruction.event_kind)
            .join(OrderIntent, col(OrderIntent.instruction_id) == col(CopyInstruction.id))
            .where(CopyInstruction.follower == follower)
            .order_by(col(OrderIntent.id))
        )
        return [str(kind) for kind in (await session.exec(query)).all()]


async def test_allocation_beside_mirror_trades_at_ticks_and_beyond_the_trigger(world: World) -> None:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    mirror = await world.master_follower("10000")
    alloc = await world.master_follower("10000")
    await world.follow(mirror, leader.address)
    await world.follow(alloc, leader.address, rebalance_every=NEVER, **ALLOCATION)
    runner = await world.start_runner()
    assert runner.rebalancer is not None
    tick = runner.rebalancer.tick

    async def step(size: str, mirror_at: str, alloc_at: str) -> None:
        await world.leader_to(leader, "ETH", size)
        await world.follower_at(mirror, "ETH", mirror_at)
        await _level(world, runner, leader, mirror, alloc)
        assert await world.position(alloc, "ETH") == Decimal(alloc_at)

    await step("1", "0.1", "0")  # alloc: $300 < trigger $500: waits for the tick
    assert await tick(alloc, leader.address) == 1  # $300 ≥ band $100
    await world.follower_at(alloc, "ETH", "0.1")
    await _level(world, runner, leader, mirror, alloc)

    await step("1.2", "0.12", "0.1")  # alloc: $60 < trigger
    assert await tick(alloc, leader.address) == 0  # $60 < band: holds
    assert await world.position(alloc, "ETH") == Decimal("0.1")

    await step("3", "0.3", "0.3")  # alloc: $600 ≥ trigger: at once
    await step("-1", "-0.1", "-0.1")  # a flip: one order each, at once
    await step("0", "0", "0")  # a close, at once

    # Mirror: open, increase, increase, flip, close; allocation: a tick, the trigger, flip, close.
    assert (await _orders(world, mirror), await _orders(world, alloc)) == (5, 4)
    assert await _kinds(world, mirror) == ["open", "increase", "increase", "flip", "close"]
    assert await _kinds(world, alloc) == ["rebalance", "increase", "flip", "close"]


async def test_the_scheduler_ticks_each_allocation_follow_at_its_own_interval(world: World) -> None:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    alloc = await world.master_follower("10000")
    await world.follow(alloc, leader.address, rebalance_every=1, **ALLOCATION)
    runner = await world.start_runner()
    job = f"{JOB_PREFIX}{alloc}:{leader.address}"
    assert runner.scheduler is not None and runner.scheduler.get_job(job) is not None

    await world.leader_to(leader, "ETH", "1")  # below the trigger: only a tick sends it
    await world.follower_at(alloc, "ETH", "0.1", what="the allocation follower after a scheduled tick")
    assert runner.rebalancer is not None and runner.rebalancer.ticks >= 1

    assert world.service is not None  # an unfollow removes its job at the next plan sync
    await world.service.follow_remove(ACTOR, alloc, leader.address, close=False)
    await runner.sync_plans()
    assert runner.scheduler.get_job(job) is None


async def test_out_of_sync_rebalance_takes_a_disrupted_follow_to_todays_ratio(world: World) -> None:
    """A mirror follow with `out_of_sync=rebalance`: its position is changed by hand, and its equity
    doubles. The pass finds it off target and takes it to ρ(now) · s = 0.2 · 1 (catch_up would go back
    to the locked 0.1); from there it mirrors with ρ₀ = 0.2."""
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("10000")
    await world.follow(follower, leader.address, out_of_sync="rebalance")
    runner = await world.start_runner()
    await world.leader_to(leader, "ETH", "1")
    await world.follower_at(follower, "ETH", "0.1")
    await world.settle()

    sdk = await asyncio.to_thread(world.sdk, world.wallets[follower])
    answer = await asyncio.to_thread(sdk.market_open, "ETH", False, 0.05)  # by hand, off target
    assert "filled" in answer["response"]["data"]["statuses"][0], answer
    await world.top_up(follower, "20000")
    await world.top_up(leader.address, "100000")
    assert await runner.reconcile() == 1
    await world.follower_at(follower, "ETH", "0.2")
    assert runner.reconciler is not None and runner.reconciler.last is not None
    assert runner.reconciler.last.rebalanced == 1

    await world.leader_to(leader, "ETH", "2")  # an increase at the new ρ₀ = 0.2
    await world.follower_at(follower, "ETH", "0.4")
