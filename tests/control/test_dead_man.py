"""The dead-man switch (SPEC §4: Hyperliquid scheduleCancel): re-armed while the runner runs (the
localnet records every scheduleCancel and its time), and once the bot is gone the localnet cancels the
resting orders at the last time asked for — not before. The localnet's clock is moved, never slept on."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from adapters.localnet.server import LocalnetThread, wall_clock_ms
from tests.control.test_stop import OUR_CLOID, open_cloids, rest_an_order
from tests.e2e.support import QUIET, World
from tests.waiting import wait_until

HORIZON_S = 6.0  # the localnet refuses a time less than 5 s ahead


class SettableClock:
    """The localnet's clock: the wall clock until the test sets it, then exactly what it was set to."""

    def __init__(self) -> None:
        self.pinned: int | None = None

    def __call__(self) -> int:
        return wall_clock_ms() if self.pinned is None else self.pinned

    def set(self, at_ms: int) -> None:
        self.pinned = at_ms


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


@pytest.fixture
def localnet(clock: SettableClock) -> Iterator[LocalnetThread]:
    with LocalnetThread(seed=3, clock_ms=clock) as net:
        yield net


async def armed(world: World, follower: str) -> list[int]:
    """The times the follower's switch was armed for, in the order the localnet accepted them."""
    records: list[dict[str, Any]] = await world.stats()
    return [
        r["scheduleCancelMs"]
        for r in records
        if r["action"] == "scheduleCancel" and r["user"] == follower.lower() and r["outcome"] == "ok"
    ]


async def sweep(localnet: LocalnetThread, clock: SettableClock, at_ms: int) -> None:
    clock.set(at_ms)
    localnet.call(lambda: localnet.exchange.scheduled_cancel_due(clock()))


async def test_rearmed_while_running_and_fires_only_after_the_bot_is_gone(
    world: World, localnet: LocalnetThread, clock: SettableClock
) -> None:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address)
    options = replace(QUIET, dead_man_rearm_s=0.1, dead_man_horizon_s=HORIZON_S)
    runner = await world.start_runner(options)

    async def rearmed() -> bool:
        times = await armed(world, follower)
        return len(times) >= 3 and times == sorted(set(times))  # each re-arm pushes the time later

    await wait_until(rearmed, "the switch re-armed")
    await rest_an_order(world, follower, OUR_CLOID)
    assert runner.health is not None and follower.lower() in runner.health.dead_man
    await runner.stop()  # the bot is gone; the switch stays armed
    last = (await armed(world, follower))[-1]

    await sweep(localnet, clock, last - 1)
    assert await open_cloids(world, follower) == [OUR_CLOID]  # not yet
    await sweep(localnet, clock, last)
    assert await open_cloids(world, follower) == []  # cancelled at the scheduled time


async def test_without_the_switch_nothing_is_scheduled(world: World, localnet: LocalnetThread) -> None:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address)
    runner = await world.start_runner()  # dead_man_rearm_s=0: off
    await runner.reconcile()
    assert await armed(world, follower) == []
