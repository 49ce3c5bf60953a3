"""A fan-out's answers (issue #7): one leader trade copied to several followers records every order's
answer in ONE ledger transaction, not one per order, and each follower's order and position come out
as before (the real runner against the localnet; the ledger's methods are observed, not replaced)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any

from bot.ledger import IntentStatus, Ledger
from bot.ledger.repository import OrderAnswer
from tests.e2e.support import World

ETH = "ETH"


def observe(ledger: Ledger, method: str, calls: list[Any]) -> None:
    """Append each call's first argument (or cloid) to `calls`, then run the real method."""
    original: Callable[..., Awaitable[Any]] = getattr(ledger, method)

    async def observed(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0] if args else kwargs)
        return await original(*args, **kwargs)

    setattr(ledger, method, observed)


async def test_one_transaction_records_every_answer_of_a_fan_out(world: World) -> None:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    followers = [await world.master_follower("1000") for _ in range(3)]  # ρ = 0.01 each
    for follower in followers:
        await world.follow(follower, leader.address)
    runner = await world.start_runner()
    assert world.ledger is not None
    batches: list[list[OrderAnswer]] = []
    singles: list[Any] = []
    observe(world.ledger, "record_order_statuses", batches)
    observe(world.ledger, "record_order_status", singles)

    await world.leader_to(leader, ETH, "10")
    for follower in followers:
        await world.follower_at(follower, ETH, "0.1")
    await world.settle()

    assert singles == []
    assert len(batches) == 1 and sorted(a.status for a in batches[0]) == ["filled"] * 3
    for answer in batches[0]:
        intent = await world.ledger.get_intent(answer.cloid)
        assert intent is not None and intent.status == IntentStatus.ACCEPTED.value
        assert intent.account in followers and answer.oid is not None
        (chain,) = await world.ledger.lineage(answer.cloid)
        assert chain.order is not None and chain.order.oid == answer.oid and chain.order.status == "filled"
    assert runner.copier is not None
    assert all(runner.copier.desks[f].engine.position(ETH) == Decimal("0.1") for f in followers)


async def test_when_the_batch_write_fails_each_answer_is_recorded_on_its_own(world: World) -> None:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    followers = [await world.master_follower("1000") for _ in range(2)]
    for follower in followers:
        await world.follow(follower, leader.address)
    await world.start_runner()
    ledger = world.ledger
    assert ledger is not None
    refused: list[Any] = []

    async def database_gone(answers: Sequence[OrderAnswer]) -> None:
        refused.append(answers)
        raise OSError("disk I/O error")  # the one transaction fails: nothing of it is written

    ledger.record_order_statuses = database_gone  # type: ignore[method-assign]
    singles: list[Any] = []
    observe(ledger, "record_order_status", singles)

    await world.leader_to(leader, ETH, "10")
    for follower in followers:
        await world.follower_at(follower, ETH, "0.1")
    await world.settle()

    assert len(refused) == 1 and len(refused[0]) == 2
    assert sorted(singles) == sorted(a.cloid for a in refused[0])
    for answer in refused[0]:
        (chain,) = await ledger.lineage(answer.cloid)
        assert chain.order is not None and chain.order.status == "filled"
