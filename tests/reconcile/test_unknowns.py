"""What the reconciliation pass does with what it cannot see: an order of ours the venue reports "not
found" (unknown for the grace window, then re-sent under the SAME cloid — never a new one, never
twice), and a position read that fails (unknown is not flat: nothing is sent until a read succeeds)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from bot.ledger import IntentStatus
from bot.pipeline.oms import RetryPolicy
from tests.e2e.support import QUIET, World
from tests.reconcile.test_pass import by_hand, reconcile, tracked

FAST = replace(QUIET, policy=RetryPolicy(not_found_grace_s=0.2, lookup_interval_s=0.05, max_resends=1))


async def our_orders(world: World) -> list[tuple[tuple[str, ...], str]]:
    """(cloids, outcome) of every order request with cloids (ours; the leader's SDK sends none), in
    order. A request answered by a fault has no user in the stats: the cloid says whose it is."""
    return [
        (tuple(r["cloids"]), r["outcome"])
        for r in await world.stats()
        if r["action"] == "order" and r["cloids"]
    ]


async def test_an_order_the_venue_never_saw_is_unknown_then_resent_under_its_cloid(world: World) -> None:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address)
    runner = await world.start_runner(FAST)
    assert runner.intake is not None and world.ledger is not None
    runner.intake.close()  # the watch stops: the pass finds the change as missed
    await world.leader_to(leader, "ETH", "10")

    await world.control({"type": "fault", "rate5xx": "1", "scope": "exchange"})  # sends lost
    lost = await reconcile(world)
    assert lost.missed_changes == 1
    sent = await our_orders(world)
    # the send and its re-send after the grace window, then the pass's own lookup and re-send
    assert [outcome for _, outcome in sent] == ["http500"] * 3
    (cloid,) = {c for cloids, _ in sent for c in cloids}  # the same cloid every time
    assert lost.orders == 0 and lost.unresolved_orders == 1  # no second order on a still-unknown one
    intent = await world.ledger.get_intent(cloid)
    assert intent is not None and intent.status == IntentStatus.UNKNOWN.value  # not "gone", not flat
    assert await world.position(follower, "ETH") == 0

    await world.control({"type": "fault", "clear": True})
    found = await reconcile(world)  # looked up again: not found past the grace window → re-sent
    assert await world.position(follower, "ETH") == Decimal("0.1")
    sent = await our_orders(world)
    assert sent[-1] == ((cloid,), "ok") and len(sent) == 4  # one more send, the same cloid, no other
    assert found.orders == 0  # the pass itself owed nothing more once the order was found
    intent = await world.ledger.get_intent(cloid)
    assert intent is not None and intent.status != IntentStatus.UNKNOWN.value


async def test_a_failed_position_read_sends_nothing_until_a_read_succeeds(world: World) -> None:
    _, follower = await tracked(world, "catch_up")
    await by_hand(world, follower, is_buy=False, size="0.05")
    await world.control({"type": "fault", "rate5xx": "1", "scope": "info"})  # every read fails
    blind = await reconcile(world)
    await world.control({"type": "fault", "clear": True})
    assert follower.lower() in blind.unknown_reads
    assert blind.orders == 0 and blind.manual_changes == 0
    assert await world.position(follower, "ETH") == Decimal("0.05")  # nothing sent on a guess
    assert world.runner is not None and world.runner.copier is not None
    desk = world.runner.copier.desks[follower.lower()]
    assert desk.engine.position("ETH") == Decimal("0.1")  # the last known size, not 0

    seen = await reconcile(world)  # the read works again: the hand change is found and caught up
    assert seen.unknown_reads == [] and seen.manual_changes == 1 and seen.orders == 1
    assert await world.position(follower, "ETH") == Decimal("0.1")
