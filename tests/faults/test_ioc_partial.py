"""Fault: an IOC fills in part (ioc_partial). Rule (SPEC §2): the unfilled rest is retried by policy as
a new decision at a fresh mid (revision + 1, a new cloid), then the pair is out of sync and the user is
told (ioc_unfilled); the reconciliation pass sends what is still owed."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from bot.alerts import AlertKind
from bot.faults import IOC_PARTIAL
from tests.e2e.support import World
from tests.faults.support import (
    OPTIONS,
    alert,
    converged,
    fault,
    follower_orders,
    held_leader_trade,
    no_duplicate_orders,
    start,
)


async def test_a_partial_ioc_is_retried_at_a_fresh_mid_then_caught_up(world: World) -> None:
    pair = await start(world, options=replace(OPTIONS, policy=replace(OPTIONS.policy, ioc_retries=1)))
    await held_leader_trade(pair, "10", partialFillRatio="0.5")

    out = await alert(world, "ioc_unfilled", AlertKind.OUT_OF_SYNC)
    partials = [a for a in world.alerts.of_kind(AlertKind.FAULT) if a.reason == IOC_PARTIAL]
    assert [a.message.endswith("retried at a fresh mid") for a in partials] == [True, False]
    assert out.coin == "ETH"
    # 0.1 sent, half filled; the retry of 0.05 half filled: 0.075 held.
    assert await world.position(pair.follower, "ETH") == Decimal("0.075")
    await fault(world, clear=True)
    assert await pair.runner.reconcile() == 1
    await converged(pair, {"ETH": "0.1"})
    orders = await follower_orders(world, pair.follower)
    assert len(orders) == 3  # the order, its retry, the reconciliation's catch-up: three cloids
    await no_duplicate_orders(world)
