"""The order manager and the retry policy against the localnet's injected faults: a rejection recorded
with the venue's words, an IOC's unfilled rest retried as new decisions (revision + 1, new cloid) then
out of sync, and an intent whose outcome was never recorded looked up rather than re-sent."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from sqlmodel import col, select

from bot.alerts import AlertKind
from bot.domain import OrderRequest, OrderStatus, Side
from bot.ledger import CopyInstruction, IntentStatus, VenueOrder
from bot.ledger.db import session_factory
from bot.ledger.repository import instruction_values
from bot.pipeline.oms import OrderManager, RetryPolicy
from tests.e2e.support import QUIET, World
from tests.waiting import wait_until


async def instructions(world: World, follower: str) -> list[CopyInstruction]:
    assert world.ledger is not None
    query = (
        select(CopyInstruction)
        .where(CopyInstruction.follower == follower, col(CopyInstruction.source_event_id).startswith("fill:"))
        .order_by(col(CopyInstruction.revision))
    )
    async with session_factory(world.ledger.engine)() as session:
        return list((await session.exec(query)).all())


async def test_a_rejection_is_recorded_with_the_venues_words(world: World) -> None:
    """The user closes the follower's position by hand behind the bot's back; the next decrease is a
    reduce-only order against a flat account, and the venue refuses it."""
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address)
    runner = await world.start_runner()
    await world.leader_to(leader, "ETH", "10")
    await world.follower_at(follower, "ETH", "0.1")
    await wait_until(lambda: _count(world, AlertKind.COPIED), "the bot done with its order", equals=1)
    manual = world.sdk(world.wallets[follower])
    closed = manual.market_close("ETH")
    assert "filled" in str(closed), closed
    assert await world.position(follower, "ETH") == 0, closed
    await world.leader_to(leader, "ETH", "5")  # the bot still believes p = 0.1: sell 0.05 reduce-only

    await wait_until(lambda: _count(world, AlertKind.REJECTED), "rejection alert", equals=1)
    (alert,) = world.alerts.of_kind(AlertKind.REJECTED)
    words = "Reduce only order would increase position"
    assert alert.message.startswith(words) and alert.coin == "ETH"
    assert runner.copier is not None and "ETH" in runner.copier.desks[follower].out_of_sync
    assert world.ledger is not None
    (decrease,) = [i for i in await instructions(world, follower) if i.event_kind == "decrease"]
    intent = await world.ledger.get_intent(decrease.cloid)
    assert intent is not None and intent.status == IntentStatus.REJECTED.value and intent.reduce_only
    async with session_factory(world.ledger.engine)() as session:
        order = (await session.exec(select(VenueOrder).where(VenueOrder.intent_id == intent.id))).one()
    assert order.status == "rejected"
    assert await world.position(follower, "ETH") == 0


async def _count(world: World, kind: AlertKind) -> int:
    return len(world.alerts.of_kind(kind))


async def test_an_ioc_rest_is_retried_with_new_cloids_then_out_of_sync(world: World) -> None:
    """Every order fills half (localnet fault): 0.1 → 0.05 filled, retry 0.05 → 0.025, retry 0.025 →
    0.0125; then no more retries (2 by policy) and the pair is out of sync."""
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address)
    runner = await world.start_runner(replace(QUIET, policy=RetryPolicy(ioc_retries=2)))
    await world.leader_to(leader, "ETH", "10")  # not partial: the fault comes after the leader's trade
    await world.follower_at(follower, "ETH", "0.1")
    await world.control({"type": "fault", "partialFillRatio": "0.5"})
    await world.leader_trade(leader, "ETH", is_buy=True, size="20")  # fills half too: 10 → 20 ETH

    await wait_until(lambda: _count(world, AlertKind.OUT_OF_SYNC), "out-of-sync alert", equals=1)
    decisions = await instructions(world, follower)
    last = next(i.source_event_id for i in decisions if i.revision == 2)
    chain = [i for i in decisions if i.source_event_id == last]
    assert [i.revision for i in chain] == [0, 1, 2]
    assert len({i.cloid for i in chain}) == 3
    assert [i.event_kind for i in chain][1:] == ["retry", "retry"]
    assert [i.delta for i in chain] == [Decimal("0.1"), Decimal("0.05"), Decimal("0.025")]
    assert await world.position(follower, "ETH") == Decimal("0.1") + Decimal("0.0875")
    assert runner.copier is not None and "ETH" in runner.copier.desks[follower].out_of_sync
    (alert,) = world.alerts.of_kind(AlertKind.OUT_OF_SYNC)
    assert alert.reason == "ioc_unfilled"


async def test_an_intent_sent_before_a_crash_is_looked_up_not_resent(world: World) -> None:
    """The previous process sent the order and died before recording the answer: `resume` finds it by
    cloid. An intent that never left is sent once, after the grace window found no trace of it."""
    await world.set_mids(ETH="3000")
    follower = await world.master_follower("10000")
    assert world.ledger is not None
    venue = world.venue()
    try:
        from bot.pipeline.accounts import load_accounts
        from tests.e2e.support import PASSWORD

        (account,) = await load_accounts(world.ledger, PASSWORD)
        oms = OrderManager(venue, world.ledger, RetryPolicy(not_found_grace_s=0.3, lookup_interval_s=0.05))
        for event, already_sent in (("crash:1", True), ("crash:2", False)):
            decision = await world.ledger.record_instruction(
                instruction_values(
                    follower=follower,
                    source="0x" + "1" * 40,
                    coin="ETH",
                    source_event_id=event,
                    strategy="mirror",
                    target_before=Decimal(0),
                    target_after=Decimal("0.1"),
                    delta=Decimal("0.1"),
                )
            )
            cloid = decision.row.cloid
            await world.ledger.record_intent(
                decision.row.id,
                venue="hyperliquid",
                side=Side.BUY,
                size=Decimal("0.1"),
                limit_px=Decimal("3030"),
            )
            request = OrderRequest("ETH", True, Decimal("0.1"), Decimal("3030"), False, cloid=cloid)
            if already_sent:
                (placed,) = await venue.place(account, [request])
                assert placed.status is OrderStatus.FILLED
            result = await oms.resume(account, request)
            assert result.status is OrderStatus.FILLED
            assert len([r for r in await world.stats() if cloid in (r.get("cloids") or [])]) == 1
            intent = await world.ledger.get_intent(cloid)
            assert intent is not None and intent.status == IntentStatus.ACCEPTED.value
        assert await world.position(follower, "ETH") == Decimal("0.2")
    finally:
        await venue.close()
