"""HIP-3 acceptance (issue #16 item 1): a source trading on the default perp dex and on a builder dex
(`test`, its own USDH collateral and clearinghouse) is mirrored on both through the real runner,
including a flip and a close on the builder dex, and an isolated-only market gets isolated margin.

Equity spans the dexes (docs/decisions/hip3.md): the source holds 100,000 USDC + 100,000 USDH, the
follower 4,000 USDC + 6,000 USDH, so ρ = 10,000 / 200,000 = 0.05 (the default dex alone would say
4,000 / 100,000 = 0.04). Every account is topped back up on each dex before a leg, so ρ stays exactly
0.05 and every size below is exact."""

from __future__ import annotations

from decimal import Decimal

from tests.e2e.support import Leader, World

DEXES = ["", "test"]


async def _fund_builder(world: World, address: str, usdh: str) -> None:
    await world.control({"type": "fund", "user": address, "usdc": usdh, "dex": "test"})


async def _level(world: World, leader: Leader, follower: str) -> None:
    """Fees and spread paid so far are topped back up on both dexes, and the bot reads the equities."""
    await world.settle()
    for address, funds in ((leader.address, ("100000", "100000")), (follower, ("4000", "6000"))):
        for dex, each in zip(DEXES, funds, strict=True):
            await world.top_up(address, each, dex)
    await world.settle()


async def test_a_source_on_two_dexes_is_mirrored_on_both_with_a_flip_and_close(world: World) -> None:
    await world.set_mids(ETH="3000", **{"test:GOLD": "2400", "test:MOON": "0.05"})
    leader = await world.leader("100000", perp_dexs=DEXES)
    await _fund_builder(world, leader.address, "100000")
    follower = await world.master_follower("4000")
    await _fund_builder(world, follower, "6000")
    await world.follow(follower, leader.address)
    await world.start_runner()

    await world.leader_to(leader, "ETH", "10")  # default dex
    await world.follower_at(follower, "ETH", "0.5")
    await _level(world, leader, follower)

    await world.leader_to(leader, "test:GOLD", "2")  # builder dex: an open
    await world.follower_at(follower, "test:GOLD", "0.1")
    await _level(world, leader, follower)

    await world.leader_to(leader, "test:GOLD", "-4")  # a flip
    await world.follower_at(follower, "test:GOLD", "-0.2")
    await _level(world, leader, follower)

    await world.leader_to(leader, "test:GOLD", "0")  # a close
    await world.follower_at(follower, "test:GOLD", "0")
    await _level(world, leader, follower)

    await world.leader_to(leader, "test:MOON", "100000")  # isolated-only: 5,000 at $0.05 = $250
    await world.follower_at(follower, "test:MOON", "5000")
    entry = await world.position_entry(follower, "test:MOON")
    assert entry is not None and entry["leverage"]["type"] == "isolated"

    # Nothing leaked across dexes: the default dex holds only ETH, the builder dex only its coins.
    assert await world.position(follower, "ETH") == Decimal("0.5")
    default_coins = {e["position"]["coin"] for e in (await world.clearinghouse(follower))["assetPositions"]}
    assert default_coins == {"ETH"}
