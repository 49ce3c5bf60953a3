"""SPEC §2's worked examples on live localnet accounts: the leader trades through the real SDK, the bot
runs, and the follower's position is read from the venue after every step."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import col, select

from bot.alerts import AlertKind
from bot.ledger import CopyInstruction, OrderIntent
from bot.ledger.db import session_factory
from tests.e2e.support import ACTOR, World
from tests.waiting import wait_until


async def source_decisions(world: World, follower: str, coin: str) -> list[CopyInstruction]:
    """The follower's decisions on source changes (fills), oldest first."""
    assert world.ledger is not None
    query = (
        select(CopyInstruction)
        .where(
            CopyInstruction.follower == follower,
            CopyInstruction.coin == coin,
            col(CopyInstruction.source_event_id).startswith("fill:"),
            CopyInstruction.revision == 0,
        )
        .order_by(col(CopyInstruction.created_at))
    )
    async with session_factory(world.ledger.engine)() as session:
        return list((await session.exec(query)).all())


async def decided(world: World, follower: str, coin: str, count: int) -> list[CopyInstruction]:
    """Wait until the bot has recorded `count` decisions on source changes, and return them."""

    async def seen() -> int:
        return len(await source_decisions(world, follower, coin))

    await wait_until(seen, f"decisions for {follower} {coin}", equals=count)
    return await source_decisions(world, follower, coin)


async def intent_of(world: World, decision: CopyInstruction) -> OrderIntent | None:
    assert world.ledger is not None
    return await world.ledger.get_intent(decision.cloid)


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
async def test_example_1_locked_ratio_eth(world: World) -> None:
    """E_S 100,000, E_F 1,000, k 100 → ρ 0.01; the ratio stays locked; a new open takes ρ(now)."""
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address)
    await world.start_runner()

    steps = [("10", "0.1"), ("15", "0.15")]
    for source, expected in steps:
        await world.leader_to(leader, "ETH", source)
        await world.follower_at(follower, "ETH", expected)

    await world.top_up(leader.address, "200000")  # source equity becomes 200,000 → nothing
    await world.settle()
    assert await world.position(follower, "ETH") == Decimal("0.15")

    for source, expected in [("20", "0.2"), ("16", "0.16"), ("0", "0")]:
        await world.leader_to(leader, "ETH", source)
        await world.follower_at(follower, "ETH", expected)

    await world.settle()
    await world.top_up(leader.address, "200000")
    await world.top_up(follower, "1000")
    await world.settle()
    await world.leader_to(leader, "ETH", "10")  # a new open: ρ(now) = 0.005
    await world.follower_at(follower, "ETH", "0.05")

    decisions = await decided(world, follower, "ETH", 6)
    assert [d.event_kind for d in decisions] == ["open", "increase", "increase", "decrease", "close", "open"]
    assert [d.delta for d in decisions] == [
        Decimal(x) for x in ("0.1", "0.05", "0.05", "-0.04", "-0.16", "0.05")
    ]
    assert decisions[-1].ratio == Decimal("0.005")
    intents = [await intent_of(world, d) for d in decisions]
    assert [i.reduce_only for i in intents if i is not None] == [False, False, False, True, True, False]


async def test_example_2_scaling_then_flip_btc_agent_wallet(world: World) -> None:
    """E_S 50,000, E_F 5,000: +2 BTC → 0.2; k := 50 → nothing; +3 → +0.1 (locked); flip to −1 → one
    sell of 0.35. The follower trades through an agent (API) wallet."""
    await world.set_mids(BTC="60000")
    leader = await world.leader("50000")
    follower = await world.master_follower("5000", agent=True)
    await world.follow(follower, leader.address)
    runner = await world.start_runner()

    await world.leader_to(leader, "BTC", "2")
    await world.follower_at(follower, "BTC", "0.2")

    assert world.service is not None
    await world.service.follow_update(ACTOR, follower, leader.address, scale={"BTC": 50})
    await runner.sync_plans()
    assert await world.position(follower, "BTC") == Decimal("0.2")

    await world.leader_to(leader, "BTC", "3")
    await world.follower_at(follower, "BTC", "0.3")

    await world.settle()
    await world.top_up(leader.address, "50000")
    await world.top_up(follower, "5000")
    await world.settle()
    await world.leader_to(leader, "BTC", "-1")
    await world.follower_at(follower, "BTC", "-0.05")

    decisions = await decided(world, follower, "BTC", 3)
    flip = decisions[-1]
    assert (flip.event_kind, flip.delta, flip.ratio) == ("flip", Decimal("-0.35"), Decimal("0.05"))
    intent = await intent_of(world, flip)
    assert intent is not None and not intent.reduce_only and intent.size == Decimal("0.35")
    assert flip.plan_version == 2  # decided under the version that set k = 50


async def test_example_3_copy_current_on_and_off_fan_out(world: World) -> None:
    """The source holds −40 SOL when followed (E_S 20,000, E_F 2,000, k 150): with Copy Current the
    follower joins (sell 6) and then mirrors; without it the token stays untracked until the source
    opens again (+10 → buy 1.5). Both followers follow the same source: one change, two orders."""
    await world.set_mids(SOL="150")
    leader = await world.leader("20000")
    await world.leader_to(leader, "SOL", "-40")
    await world.top_up(leader.address, "20000")
    joining = await world.master_follower("2000")
    waiting = await world.vault_follower("2000")
    await world.follow(joining, leader.address, scaling=150, copy_current=True)
    await world.follow(waiting, leader.address, scaling=150, copy_current=False)
    await world.start_runner()

    await world.follower_at(joining, "SOL", "-6", what="Copy Current join")
    assert await world.position(waiting, "SOL") == 0

    for source, joined in [("-20", "-3"), ("0", "0")]:
        await world.leader_to(leader, "SOL", source)
        await world.follower_at(joining, "SOL", joined)
        decisions = await decided(world, waiting, "SOL", 1 if source == "-20" else 2)
        assert decisions[-1].reason == "untracked" or decisions[-1].event_kind == "close"
        assert await world.position(waiting, "SOL") == 0

    await world.settle()
    await world.top_up(leader.address, "20000")
    await world.top_up(joining, "2000")
    await world.top_up(waiting, "2000")
    await world.settle()
    await world.leader_to(leader, "SOL", "10")
    await world.follower_at(waiting, "SOL", "1.5", what="vault follower opens")
    await world.follower_at(joining, "SOL", "1.5")


async def test_example_4_min_notional_deferral(world: World) -> None:
    """SOL at 150, ρ = 0.0012: +50 → τ 0.06 ($9) deferred; +60 → buy 0.07; 0 → sell 0.07 reduce-only."""
    await world.set_mids(SOL="150")
    leader = await world.leader("100000")
    follower = await world.master_follower("120")
    await world.follow(follower, leader.address)
    await world.start_runner()

    await world.leader_to(leader, "SOL", "50")
    (deferred,) = await decided(world, follower, "SOL", 1)
    assert (deferred.reason, deferred.target_after, deferred.delta) == (
        "deferred_min_notional",
        Decimal("0.06"),
        Decimal("0.06"),
    )
    assert await intent_of(world, deferred) is None
    assert await world.position(follower, "SOL") == 0
    (told,) = world.alerts.of_kind(AlertKind.DEFERRED)  # the dollar amount it waits for (issue #19)
    assert "(about $9.00)" in told.message and told.details["usd"] == Decimal(9)
    assert told.details["decision"] == deferred.id  # the chat shows it for /why

    await world.leader_to(leader, "SOL", "60")
    await world.follower_at(follower, "SOL", "0.07")
    await world.leader_to(leader, "SOL", "0")
    await world.follower_at(follower, "SOL", "0")
    close = (await decided(world, follower, "SOL", 3))[-1]
    intent = await intent_of(world, close)
    assert intent is not None and intent.reduce_only and intent.size == Decimal("0.07")
