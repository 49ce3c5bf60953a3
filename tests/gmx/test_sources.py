"""Source routing (bot/pipeline/sources.py): each source address → the venue its plan names."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from adapters.gmx.venue import GmxVenue
from adapters.hyperliquid.venue import HyperliquidVenue
from bot.alerts import AlertBus
from bot.config import load_settings
from bot.ledger import FollowPlan
from bot.pipeline.sources import SourceRoutes, SourceVenueError
from bot.service.settings import FollowSettings, settings_to_json

SOURCE = "0x" + "5e" * 20


def plan(follower: str, source: str, venue: str, *, active: bool = True) -> FollowPlan:
    settings = replace(FollowSettings(), source_venue=venue, active=active)
    return FollowPlan(follower=follower, source=source, version=1, settings=settings_to_json(settings))


@pytest.fixture
async def primary(tmp_path: Path) -> AsyncIterator[HyperliquidVenue]:
    """The runner's venue (never reached here: routing reads nothing)."""
    venue = HyperliquidVenue("http://127.0.0.1:9", data_dir=tmp_path, is_mainnet=False)
    yield venue
    await venue.close()


async def test_one_address_has_one_source_venue_and_a_second_one_is_held_back(
    primary: HyperliquidVenue, tmp_path: Path
) -> None:
    alerts = AlertBus()
    gmx_settings = load_settings(gmx_rpc_url="http://127.0.0.1:9", data_dir=tmp_path)
    routes = SourceRoutes.of_settings(primary, alerts, gmx_settings)
    other = "0x" + "6f" * 20
    on_gmx, on_hl, elsewhere = (
        plan("0xf1", SOURCE.upper().replace("0X", "0x"), "gmx"),
        plan("0xf2", SOURCE, "hyperliquid"),
        plan("0xf2", other, "hyperliquid"),
    )
    usable = routes.route([on_gmx, on_hl, elsewhere])
    assert usable == [on_gmx, elsewhere]
    assert isinstance(routes.venue(SOURCE), GmxVenue) and routes.venue(other) is primary
    assert routes.groups([SOURCE, other]) == {"gmx": [SOURCE], "hyperliquid": [other]}
    routes.route([on_gmx, on_hl])  # told once, however often the plans are synced
    (alert,) = [a for a in alerts.recent if a.reason == "source_venue_conflict"]
    assert alert.source == SOURCE and "followed on gmx already" in alert.message
    await routes.close()


async def test_a_gmx_plan_without_an_rpc_url_is_refused_at_start_and_held_back_while_running(
    primary: HyperliquidVenue, tmp_path: Path
) -> None:
    alerts = AlertBus()
    routes = SourceRoutes.of_settings(primary, alerts, load_settings(data_dir=tmp_path))
    with pytest.raises(SourceVenueError, match="MIRROR_GMX_RPC_URL: not set"):
        routes.route([plan("0xf1", SOURCE, "gmx")], strict=True)
    unfollowed = plan("0xf1", SOURCE, "gmx", active=False)  # an unfollow reads nothing on GMX
    assert routes.route([unfollowed], strict=True) == [unfollowed]
    hl_plan = plan("0xf1", "0x" + "6f" * 20, "hyperliquid")
    assert routes.route([plan("0xf1", SOURCE, "gmx"), hl_plan]) == [hl_plan]
    assert [a.reason for a in alerts.recent] == ["source_venue_unavailable"]
    assert routes.name(SOURCE) == "hyperliquid"  # not routed: nothing is read or watched for it


async def test_a_bad_deployment_file_names_the_setting(primary: HyperliquidVenue, tmp_path: Path) -> None:
    settings = load_settings(gmx_rpc_url="http://127.0.0.1:9", gmx_deployment_file=tmp_path / "none.json")
    routes = SourceRoutes.of_settings(primary, AlertBus(), settings)
    with pytest.raises(SourceVenueError, match=r"MIRROR_GMX_DEPLOYMENT_FILE.*none.json: cannot be read"):
        routes.open("gmx")
