"""Fault: HTTP 5xx (venue_5xx). On /exchange the outcome is unknown (a 5xx may come from behind the
point where the venue executed): the order is looked up by cloid; "not found" stays unknown for the
grace window, then the SAME order (same cloid, so the venue could never run it twice) is resent. On
/info a read is simply retried after a backoff."""

from __future__ import annotations

from adapters.hyperliquid.budget import WeightBudget
from bot.alerts import AlertKind
from bot.faults import VENUE_5XX
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


async def test_a_5xx_on_an_order_is_looked_up_then_resent_with_the_same_cloid(world: World) -> None:
    pair = await start(world)
    # Seed 3: the order meets the 503 (the localnet refuses before executing), the resend passes.
    await held_leader_trade(pair, "10", rate5xx="0.5", status5xx=503, scope="exchange")

    failed = await alert(world, VENUE_5XX, AlertKind.FAULT)
    assert failed.message.startswith("/exchange order: HTTP 503")
    copied = await alert(world, "open", AlertKind.COPIED)
    await fault(world, clear=True)
    await converged(pair, {"ETH": "0.1"})
    await no_duplicate_orders(world)
    first, resent = await requests_of(world, str(copied.details["cloid"]))
    assert (first["outcome"], resent["outcome"]) == ("http503", "ok")
    assert resent["nonce"] > first["nonce"]  # re-signed after the lookup: same cloid, new request
    assert pair.runner.copier is not None and pair.runner.copier.oms.unknown_outcomes >= 1


async def test_5xx_on_reads_are_retried(world: World) -> None:
    pair = await start(world, budget=WeightBudget(60_000, burst=200))
    await held_leader_trade(pair, "10", rate5xx="0.5", scope="info")
    await alert(world, "open", AlertKind.COPIED)
    await pair.runner.refresh_accounts()  # every account read meets the seeded 500s, and succeeds

    failed = await alert(world, VENUE_5XX, AlertKind.FAULT)
    assert failed.message.startswith("/info ") and "HTTP 500" in failed.message
    await fault(world, clear=True)
    await converged(pair, {"ETH": "0.1"})
    await no_duplicate_orders(world)
    assert not world.alerts.of_kind(AlertKind.FAILURE)
