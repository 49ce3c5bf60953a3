"""The live pipeline beyond the worked examples: several sources for one follower, a lost answer that
must not become a second order, and a fill's lineage read back from the ledger alone."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import col, select

from bot.alerts import AlertKind
from bot.ledger import CopyInstruction, Fill
from bot.ledger.db import session_factory
from bot.pipeline.oms import RetryPolicy
from bot.pipeline.runner import RunnerOptions
from tests.e2e.support import ACTOR, World
from tests.waiting import wait_until


async def test_one_follower_two_sources_on_different_tokens(world: World) -> None:
    """ETH is copied from one source and BTC from another; each source's other token is not copied."""
    await world.set_mids(ETH="3000", BTC="60000")
    eth_source = await world.leader("100000")
    btc_source = await world.leader("50000")
    follower = await world.master_follower("5000")
    await world.follow(follower, eth_source.address, tokens="ETH")
    await world.follow(follower, btc_source.address, tokens="BTC")
    runner = await world.start_runner()
    assert runner.copier is not None and runner.copier.sources() == sorted(
        [eth_source.address, btc_source.address]
    )

    await world.leader_to(eth_source, "ETH", "10")  # ρ = 5,000 / 100,000 = 0.05
    await world.leader_to(btc_source, "BTC", "1")  # ρ = 5,000 / 50,000 = 0.1
    await world.follower_at(follower, "ETH", "0.5")
    await world.follower_at(follower, "BTC", "0.1")

    await world.leader_to(btc_source, "ETH", "5")  # not this source's token for the follower
    await world.leader_to(eth_source, "ETH", "5")
    await world.follower_at(follower, "ETH", "0.25")
    assert await world.position(follower, "BTC") == Decimal("0.1")

    # Every follower fill leads back to the source change that caused it, from the ledger alone.
    await world.settle()
    await _lineage_of_last_fill(world, follower, "ETH", eth_source.address)


async def _lineage_of_last_fill(world: World, follower: str, coin: str, source: str) -> None:
    assert world.ledger is not None and world.service is not None
    async with session_factory(world.ledger.engine)() as session:
        query = select(Fill).where(Fill.account == follower, Fill.coin == coin).order_by(col(Fill.id).desc())
        fill = (await session.exec(query)).first()
    assert fill is not None
    (chain,) = await world.ledger.lineage(f"tid:{fill.trade_id}")
    assert chain.leader_event is not None and chain.leader_event.source == source
    assert chain.instruction is not None and chain.instruction.leader_event_id == chain.leader_event.id
    assert chain.intent is not None and chain.intent.cloid == chain.instruction.cloid == fill.cloid
    assert chain.order is not None and chain.order.oid == fill.oid and chain.statuses
    assert chain.plan is not None and chain.plan.version == chain.instruction.plan_version
    assert [s.size for s in chain.snapshots] == [await world.position(follower, fill.coin)]
    why = await world.service.why(ACTOR, fill.trade_id)
    assert why.chains == 1 and source in why.text.lower()


async def test_timeout_on_place_is_looked_up_not_resent(world: World) -> None:
    """The venue answers the follower's order only after the bot gave up waiting: the bot looks the
    order up by cloid (NOT_FOUND at first: still unknown) and never places it a second time."""
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address)
    options = RunnerOptions(
        plans_refresh_s=0,
        accounts_refresh_s=0,
        reconcile_s=0,
        dead_man_rearm_s=0,
        policy=RetryPolicy(not_found_grace_s=10, lookup_interval_s=0.1),
    )
    runner = await world.start_runner(options, timeout_s=0.3)
    await world.control({"type": "fault", "latencyMs": 1500, "scope": "exchange"})

    await world.leader_to(leader, "ETH", "10")  # the leader's own order waits 1.5 s too; it is not ours
    await world.follower_at(follower, "ETH", "0.1")
    assert world.ledger is not None
    intent = None

    async def settled() -> str | None:
        nonlocal intent
        (decision,) = [d for d in await _decisions(world, follower) if d.event_kind == "open"]
        intent = await world.ledger.get_intent(decision.cloid) if world.ledger else None
        return intent.status if intent else None

    await wait_until(settled, "the intent's status after the lookup", equals="accepted")
    assert intent is not None
    sent = [r for r in await world.stats() if intent.cloid in (r.get("cloids") or [])]
    assert len(sent) == 1, sent
    assert runner.copier is not None and runner.copier.oms.unknown_outcomes >= 1  # it did time out
    await world.control({"type": "fault", "clear": True})
    assert world.alerts.of_kind(AlertKind.UNKNOWN_OUTCOME) == []


async def _decisions(world: World, follower: str) -> list[CopyInstruction]:
    assert world.ledger is not None
    async with session_factory(world.ledger.engine)() as session:
        query = select(CopyInstruction).where(CopyInstruction.follower == follower)
        return list((await session.exec(query)).all())
