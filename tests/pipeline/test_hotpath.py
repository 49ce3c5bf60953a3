"""The copy's hot path on the localnet (issue #7, docs/decisions/hotpath.md): the fills of one websocket
message make one change with no batching wait; a change's leader event, decisions and intents are one
transaction and the intents' "submitted" mark a second, both before the orders leave; one change fans
out to every follower in one batch."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from sqlmodel import col, func, select

from bot.domain import SourceChange
from bot.ledger import CopyInstruction, IntentStatus, LeaderEvent, Ledger
from bot.ledger.db import session_factory
from bot.pipeline.runner import RunnerOptions
from tests.e2e.support import QUIET, World

SWEEP = "200"  # ETH: more than the localnet's best ask level holds (~120), so it fills at two prices


class Calls:
    """Counts the calls of a ledger method (the real one runs)."""

    def __init__(self, ledger: Ledger, name: str) -> None:
        self.count = 0
        original: Callable[..., Awaitable[Any]] = getattr(ledger, name)

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await original(*args, **kwargs)

        setattr(ledger, name, counted)


async def leader_events(world: World, source: str) -> list[LeaderEvent]:
    assert world.ledger is not None
    query = select(LeaderEvent).where(LeaderEvent.source == source).order_by(col(LeaderEvent.id))
    async with session_factory(world.ledger.engine)() as session:
        return list((await session.exec(query)).all())


async def fill_instructions(world: World, source: str) -> list[CopyInstruction]:
    assert world.ledger is not None
    query = select(CopyInstruction).where(
        CopyInstruction.source == source, col(CopyInstruction.source_event_id).startswith("fill")
    )
    async with session_factory(world.ledger.engine)() as session:
        return list((await session.exec(query)).all())


async def order_count(world: World, users: set[str]) -> int:
    return sum(1 for r in await world.stats() if r["action"] == "order" and r["user"] in users)


def test_the_intake_waits_for_nothing_by_default() -> None:
    assert RunnerOptions().quiet_ms == 0


async def test_one_messages_fills_make_one_change_and_one_order(world: World) -> None:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address)
    await world.start_runner()  # quiet_ms 0: no batching window

    await world.leader_to(leader, "ETH", SWEEP)
    fills = (
        await world.http.post(f"{world.url}/info", json={"type": "userFills", "user": leader.address})
    ).json()
    assert len(fills) >= 2 and len({f["px"] for f in fills}) >= 2 and len({f["time"] for f in fills}) == 1

    await world.follower_at(follower, "ETH", "2")  # ρ = 1,000 / 100,000 of 200 ETH, in ONE order
    await world.settle()
    source = leader.address.lower()
    (event,) = await leader_events(world, source)
    assert event.old_size == 0 and event.new_size == Decimal(SWEEP)
    assert len(event.payload["fills"]) == len(fills)  # every fill of the message, kept with its change
    (decision,) = await fill_instructions(world, source)
    assert decision.leader_event_id == event.id and decision.target_after == 2
    assert await order_count(world, {follower}) == 1


async def test_a_change_fans_out_in_two_transactions_before_any_send(world: World) -> None:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    followers = [await world.master_follower(usdc) for usdc in ("1000", "2000", "3000")]
    for follower in followers:
        await world.follow(follower, leader.address)
    runner = await world.start_runner(QUIET)
    assert world.ledger is not None
    recorded, marked = Calls(world.ledger, "record_decisions"), Calls(world.ledger, "mark_intents")

    await world.leader_to(leader, "ETH", "10")
    for follower, size in zip(followers, ("0.1", "0.2", "0.3"), strict=True):
        await world.follower_at(follower, "ETH", size)
    await world.settle()
    assert (recorded.count, marked.count) == (1, 1)  # one change: one batch for all three followers
    source = leader.address.lower()
    (event,) = await leader_events(world, source)
    decisions = await fill_instructions(world, source)
    assert sorted(d.follower for d in decisions) == sorted(followers)
    assert {d.leader_event_id for d in decisions} == {event.id}
    for decision in decisions:
        intent = await world.ledger.get_intent(decision.cloid)
        assert intent is not None and intent.status == IntentStatus.ACCEPTED.value
        (chain,) = await world.ledger.lineage(f"cloid:{decision.cloid}")
        assert chain.leader_event is not None and chain.leader_event.id == event.id
        assert chain.order is not None and chain.order.status == "filled"
    assert runner.copier is not None and runner.copier.oms.sends == 3
    assert await order_count(world, set(followers)) == 3


async def test_the_same_change_twice_sends_nothing_new(world: World) -> None:
    """A change replayed after it was mirrored (a restart, a duplicate delivery) finds its decisions and
    intents already recorded: nothing is sent again."""
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address)
    runner = await world.start_runner()
    await world.leader_to(leader, "ETH", "10")
    await world.follower_at(follower, "ETH", "0.1")
    await world.settle()
    assert runner.copier is not None and runner.intake is not None
    source = leader.address.lower()
    (event,) = await leader_events(world, source)
    sends = runner.copier.oms.sends

    replay = SourceChange(source, "ETH", event.old_size, event.new_size, 0, event.event_id)
    await runner.copier.on_changes([replay], {})
    assert runner.copier.oms.sends == sends
    async with session_factory(runner.ledger.engine)() as session:
        count = (await session.exec(select(func.count()).select_from(LeaderEvent))).one()
    assert count == 1
    assert await order_count(world, {follower}) == 1
