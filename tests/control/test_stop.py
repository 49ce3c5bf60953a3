"""The kill switch (SPEC §4) through the CLI with the real Runner on the localnet: refused without its
one confirmation; confirmed, our resting orders are cancelled (a manual one is the user's), every
mirrored position is closed, copying stops, and the follows end in the ledger as new plan versions."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

from hyperliquid.utils.types import Cloid
from typer.testing import CliRunner, Result

from bot.cli import app
from bot.service.owner import OwnerService
from tests.control.test_pause_resume import mirroring
from tests.e2e.support import ACTOR, World

OUR_CLOID = "0x" + "ab" * 16


async def cli(world: World, *args: str) -> Result:
    env = {
        "MIRROR_DATABASE_URL": world.db_url,
        "MIRROR_HL_API_URL": world.url,
        "MIRROR_DATA_DIR": str(world.tmp / "cli"),
    }
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)


async def rest_an_order(world: World, follower: str, cloid: str | None) -> None:
    """A buy far below the mid, so it rests on the book."""
    sdk = world.sdk(world.wallets[follower.lower()])
    tag = Cloid.from_str(cloid) if cloid else None
    answer = await asyncio.to_thread(
        sdk.order, "ETH", True, 0.01, 1500.0, {"limit": {"tif": "Gtc"}}, False, tag
    )
    assert "resting" in answer["response"]["data"]["statuses"][0], answer


async def open_cloids(world: World, follower: str) -> list[str]:
    return sorted((o.cloid or "manual") for o in await world.info.open_orders(follower))


async def test_stop_needs_its_confirmation_then_cancels_closes_and_ends_the_follows(world: World) -> None:
    leader, follower, runner = await mirroring(world)
    await world.leader_to(leader, "BTC", "1")
    await world.follower_at(follower, "BTC", "0.01")
    await rest_an_order(world, follower, OUR_CLOID)
    await rest_an_order(world, follower, None)

    refused = await cli(world, "stop")
    assert refused.exit_code == 2 and "confirm with --yes" in refused.output
    await runner.sync_plans()
    assert await world.position(follower, "ETH") == Decimal("0.1")
    assert await open_cloids(world, follower) == [OUR_CLOID, "manual"]

    done = await cli(world, "stop", "--yes", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["action"] == "stop"
    await runner.sync_plans()  # the runner's plans job: it reads the stop from the ledger
    assert await open_cloids(world, follower) == ["manual"]  # ours cancelled, the user's kept
    await world.follower_at(follower, "ETH", "0", what="ETH closed")
    await world.follower_at(follower, "BTC", "0", what="BTC closed")
    assert runner.copier is not None and runner.copier.sources() == []
    assert world.ledger is not None and world.service is not None
    plans = await world.ledger.current_plans(follower)
    assert [(p.version, p.settings["active"], p.settings["release"]) for p in plans] == [(2, False, "close")]
    assert await OwnerService(world.service).states([follower.lower()]) == {follower.lower(): "stopped"}

    await world.leader_to(leader, "ETH", "15")  # copying has stopped
    await world.settle()
    assert await world.position(follower, "ETH") == 0


async def test_without_a_stop_the_orders_and_positions_stay(world: World) -> None:
    leader, follower, runner = await mirroring(world)
    await rest_an_order(world, follower, OUR_CLOID)
    assert world.service is not None
    await OwnerService(world.service).pause(ACTOR, [follower])  # a pause is not a stop: nothing cancelled
    await runner.sync_plans()
    assert await open_cloids(world, follower) == [OUR_CLOID]
    assert await world.position(follower, "ETH") == Decimal("0.1")
    assert runner.copier is not None and runner.copier.sources() == [leader.address.lower()]
