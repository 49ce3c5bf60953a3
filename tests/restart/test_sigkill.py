"""The bot killed (SIGKILL) at each step of an order's life, then restarted: the order is sent at most
once, the follower's position ON THE VENUE converges (also to a source change missed while it was
down), the pair is still tracked afterwards and the order's lineage is complete in the ledger."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from decimal import Decimal

import pytest

from bot.pipeline.oms import CRASH_ENV
from tests.e2e.support import World
from tests.pipeline.test_run_command import MIRRORBOT, environment, events

# What the ledger holds for the order when the bot dies at each point.
AT_DEATH = {"after_intent": "pending", "after_send": "submitted", "after_ack": "accepted"}


async def launch(
    world: World, crash_at: str | None = None, env: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    env = environment(world) | (env or {})
    if crash_at is not None:
        env[CRASH_ENV] = crash_at
    process = await asyncio.create_subprocess_exec(
        MIRRORBOT,
        "run",
        env=env,
        cwd=world.tmp,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    seen: list[str] = []
    while "runner_started" not in seen:
        line = await asyncio.wait_for(process.stderr.readline(), 60)
        assert line, "the bot exited before it started"
        seen += events(line)
    return process


async def order_cloids(world: World) -> Counter[str]:
    return Counter(c for r in await world.stats() if r["action"] == "order" for c in r["cloids"])


@pytest.mark.parametrize("crash_at", sorted(AT_DEATH))
async def test_killed_then_restarted_sends_once_and_converges(world: World, crash_at: str) -> None:
    assert world.ledger is not None
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address)

    bot = await launch(world, crash_at)
    await world.leader_to(leader, "ETH", "10")
    assert await asyncio.wait_for(bot.wait(), 60) == -signal.SIGKILL
    (opened,) = [d for d in await world.ledger.last_decisions(20) if d.event_kind == "open"]
    intent = await world.ledger.get_intent(opened.cloid)
    assert intent is not None and intent.status == AT_DEATH[crash_at]
    sent_before = (await order_cloids(world))[opened.cloid]
    assert sent_before == (0 if crash_at == "after_intent" else 1)

    await world.leader_to(leader, "ETH", "15")  # while the bot is down: a missed change
    bot = await launch(world)
    await world.follower_at(follower, "ETH", "0.15", what="the restarted bot converged")
    await world.leader_to(leader, "ETH", "5")  # the pair is still tracked: the decrease is mirrored
    await world.follower_at(follower, "ETH", "0.05", what="the restored pair mirrored a decrease")
    bot.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(bot.wait(), 60) == 0

    sent = await order_cloids(world)
    assert sent[opened.cloid] == 1 and max(sent.values()) == 1, sent
    (chain,) = await world.ledger.lineage(f"cloid:{opened.cloid}")
    assert chain.leader_event is not None and chain.order is not None and chain.order.status == "filled"
    assert sum(f.size for f in chain.fills) == Decimal("0.1") and chain.snapshots


def test_the_crash_point_is_inert_unless_set() -> None:
    from bot.pipeline.oms import crash_point

    assert CRASH_ENV not in os.environ
    for point in AT_DEATH:
        crash_point(point)  # still alive
