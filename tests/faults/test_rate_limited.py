"""Fault: HTTP 429 (rate_limited). A 429 is the venue's rate limiter refusing before the action is
processed, so nothing executed: every request of the process pauses (the shared weight budget is
emptied, so requests resume at the venue's sustained rate), then the SAME signed request — same nonce,
same cloid — is resent. Reads are retried the same way. The order goes through once."""

from __future__ import annotations

from adapters.hyperliquid.budget import WeightBudget
from bot.alerts import AlertKind
from bot.faults import RATE_LIMITED
from tests.e2e.support import World
from tests.faults.support import (
    alert,
    converged,
    fault,
    held_leader_trade,
    no_duplicate_orders,
    requests_of,
    start,
)


async def test_a_429_on_an_order_is_resent_as_the_same_request_once(world: World) -> None:
    pair = await start(world)
    # Seed 3: the first /exchange request meets the 429, the resend passes.
    await held_leader_trade(pair, "10", rate429="0.5", scope="exchange")

    limited = await alert(world, RATE_LIMITED, AlertKind.FAULT)
    assert "/exchange order" in limited.message and "paused" in limited.message
    copied = await alert(world, "open", AlertKind.COPIED)
    await fault(world, clear=True)
    await converged(pair, {"ETH": "0.1"})
    await no_duplicate_orders(world)
    refused, executed = await requests_of(world, str(copied.details["cloid"]))
    assert (refused["outcome"], executed["outcome"]) == ("http429", "ok")
    assert refused["nonce"] == executed["nonce"]  # the same signed request, not a new one


async def test_429s_on_reads_back_off_and_retry(world: World) -> None:
    # A 429 empties the shared budget; refilled at 1,000 weight a minute, the bucket would make this
    # test wait seconds for its reads. A faster budget keeps the same rule and a short test.
    pair = await start(world, budget=WeightBudget(60_000, burst=200))
    await held_leader_trade(pair, "10", rate429="0.5", scope="info")
    await alert(world, "open", AlertKind.COPIED)
    await pair.runner.refresh_accounts()  # every account read meets the seeded 429s, and succeeds

    limited = await alert(world, RATE_LIMITED, AlertKind.FAULT)
    assert limited.message.startswith("/info ") and "paused" in limited.message
    assert pair.venue.budget.pauses >= 1  # every request waited, orders too
    await fault(world, clear=True)
    await converged(pair, {"ETH": "0.1"})
    await no_duplicate_orders(world)
