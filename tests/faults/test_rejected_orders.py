"""Faults: the venue refuses an order — for margin (rejected_margin), for its price's tick
(rejected_tick), for reduce-only (rejected_reduce_only). Rule: nothing is resent blindly (the same order
would be refused the same way); the refusal is recorded with the venue's words and its code, the pair is
out of sync, and the reconciliation pass — which reads the venue's position afresh and prices at a
fresh mid — sends what is still owed."""

from __future__ import annotations

import pytest

from bot.alerts import AlertKind
from bot.faults import REJECTED_MARGIN, REJECTED_REDUCE_ONLY, REJECTED_TICK
from tests.e2e.support import World
from tests.faults.support import (
    Pair,
    alert,
    converged,
    fault,
    held_leader_trade,
    no_duplicate_orders,
    start,
)

ETH_ASSET = 1  # ETH's index in the localnet's meta universe (only the error text's tail)


async def caught_up(pair: Pair, coin: str, expected: str) -> None:
    """The pair is out of sync after the refusal; one reconciliation pass brings it to q(τ)."""
    copier = pair.runner.copier
    assert copier is not None and coin in copier.desks[pair.follower].out_of_sync
    assert await pair.runner.reconcile() == 1
    await converged(pair, {coin: expected})
    assert coin not in copier.desks[pair.follower].out_of_sync


@pytest.mark.parametrize(
    ("words", "code"),
    [
        (f"Insufficient margin to place order. asset={ETH_ASSET}", REJECTED_MARGIN),
        ("Order has invalid price.", REJECTED_TICK),  # our rounding never makes one: the venue's text
    ],
)
async def test_a_refused_order_is_coded_then_caught_up_by_reconciliation(
    world: World, words: str, code: str
) -> None:
    pair = await start(world)
    await held_leader_trade(pair, "10", rejectNext=1, rejectMessage=words)

    refused = await alert(world, code, AlertKind.REJECTED)
    assert refused.message == words and refused.coin == "ETH"
    await fault(world, clear=True)
    assert await world.position(pair.follower, "ETH") == 0
    await caught_up(pair, "ETH", "0.1")
    await no_duplicate_orders(world)


async def test_a_reduce_only_refusal_is_coded_then_caught_up(world: World) -> None:
    """The user closes the follower's position by hand; the next decrease is reduce-only against a
    flat account and the venue refuses it. Reconciliation reads p = 0 and buys q(τ)."""
    pair = await start(world)
    await world.leader_to(pair.leader, "ETH", "10")
    await world.follower_at(pair.follower, "ETH", "0.1")
    await alert(world, "open", AlertKind.COPIED)
    manual = world.sdk(world.wallets[pair.follower])
    assert "filled" in str(manual.market_close("ETH"))
    await world.leader_to(pair.leader, "ETH", "5")  # the bot still believes p = 0.1: sell 0.05 reduce-only

    refused = await alert(world, REJECTED_REDUCE_ONLY, AlertKind.REJECTED)
    assert refused.message.startswith("Reduce only order would increase position")
    await caught_up(pair, "ETH", "0.05")
    await no_duplicate_orders(world)
