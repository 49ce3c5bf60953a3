"""`mirrorbot positions` (the service's `positions`) reads each account on its own venue: a source on the
venue its follow plan names, a follower on the venue it is registered for. A GMX source followed by a
Hyperliquid follower shows the source's GMX size, not flat."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.config import load_settings
from bot.service import MirrorService, VenueError
from bot.venues import Venues
from tests.e2e.support import ACTOR, PASSWORD, World
from tests.gmx.evm import GmxChainDouble
from tests.gmx.rpc import RpcBridge, write_deployment
from tests.gmx.test_cross_venue import gmx_source
from tests.gmx.test_gmx_follower import gmx_follower, gmx_settings

D = Decimal


async def test_positions_read_a_gmx_source_on_gmx(
    world: World, chain: GmxChainDouble, bridge: RpcBridge, tmp_path: Path
) -> None:
    await world.set_mids(ETH="3000")
    source = await gmx_source(chain, "100000")
    await source.trade("ETH", True, "10")
    follower = await world.master_follower("1000")
    # Copy Current on: the follower means to join the source's ETH, so the row shows the estimated target
    # (off, it would read "not joined", issue #19).
    await world.follow(follower, source.address, source_venue="gmx", copy_current=True)
    assert world.ledger is not None and world.service is not None
    settings = gmx_settings(world, bridge, write_deployment(chain, tmp_path / "gmx.json"))
    venues = Venues.for_reads(settings)
    service = MirrorService(world.ledger, venues)

    view = await service.positions(ACTOR, follower)
    (row,) = view.rows
    assert (row.source, row.coin, row.source_size, row.follower_size) == (source.address, "ETH", D(10), D(0))
    assert (row.target, row.target_basis) == (D("0.1"), "estimate")  # ρ = 1,000 / 100,000, from GMX's equity

    # Without a GMX node configured the read is refused, naming the setting (never shown as flat).
    without = Venues.for_reads(load_settings(hl_api_url=world.url))
    with pytest.raises(VenueError, match="MIRROR_GMX_RPC_URL: not set"):
        await MirrorService(world.ledger, without).positions(ACTOR, follower)
    await venues.close()
    await without.close()


async def test_positions_read_a_gmx_follower_on_gmx_through_the_cli(
    world: World, chain: GmxChainDouble, bridge: RpcBridge, tmp_path: Path
) -> None:
    await world.set_mids(ETH="3000")
    source = await gmx_source(chain, "100000")
    follower = await gmx_follower(world, chain, "1000")
    await world.follow(follower.address, source.address, source_venue="gmx")
    await source.trade("ETH", True, "10")
    await follower.trade("ETH", True, "0.1")
    env = {
        "MIRROR_DATABASE_URL": world.db_url,
        "MIRROR_HL_API_URL": world.url,
        "MIRROR_DATA_DIR": str(tmp_path / "cli"),
        "MIRROR_KEYSTORE_PASSWORD": PASSWORD,
        "MIRROR_GMX_RPC_URL": bridge.url,
        "MIRROR_GMX_DEPLOYMENT_FILE": str(write_deployment(chain, tmp_path / "gmx.json")),
    }
    shown = await asyncio.to_thread(CliRunner().invoke, app, ["positions", "--json"], env=env)
    assert shown.exit_code == 0, shown.stderr
    rows = json.loads(shown.stdout)["rows"]
    assert [(r["follower"], r["coin"], r["source_size"], r["follower_size"]) for r in rows] == [
        (follower.address, "ETH", "10", "0.1")
    ]
