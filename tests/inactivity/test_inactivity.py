"""SPEC §12, source inactivity: the rule by hand, the settings' refusals, and — live through the real
runner on the localnet — the one alert and the policies (`pause` shown in `status` and Telegram's
`/status`; `unfollow_close` closing the mirrored position)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.alerts import AlertKind
from bot.ledger.models import FollowPlan
from bot.service import InvalidInput, settings_from_json, settings_to_json
from bot.service.inactivity import Inactivity, inactive_follows
from bot.service.owner import OwnerService
from bot.telegram import render
from tests.e2e.support import ACTOR, QUIET, World
from tests.waiting import wait_until

T0 = datetime(2026, 12, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def plan(source: str, created: datetime) -> FollowPlan:
    return FollowPlan(follower="0xf", source=source, version=3, settings={}, created_at=created)


def test_a_source_is_inactive_after_its_days_without_a_fill_counted_from_the_later_of_fill_and_follow() -> (
    None
):
    rule = Inactivity(Decimal(14), "pause")
    plans = [(plan("0xa", T0), rule), (plan("0xb", T0), rule), (plan("0xc", T0 + 10 * DAY), rule)]
    fills = {"0xa": T0 + 2 * DAY, "0xc": T0 - 30 * DAY}
    # at T0 + 16 d: 0xa quiet 14 d (inactive, exactly at the limit), 0xb never filled since the follow
    # began 16 d ago (inactive), 0xc's follow is 6 d old (its old fills do not make it inactive)
    found = inactive_follows(plans, fills, T0 + 16 * DAY)
    assert [(f.source, f.since, f.policy) for f in found] == [
        ("0xa", T0 + 2 * DAY, "pause"),
        ("0xb", T0, "pause"),
    ]
    assert inactive_follows(plans, fills, T0 + 16 * DAY - timedelta(seconds=1))[0].source == "0xb"


def test_the_settings_default_to_14_days_and_alert_and_refuse_by_name() -> None:
    doc = settings_to_json(settings_from_json({}))
    assert (doc["inactive_after"], doc["inactive_policy"]) == ("14", "alert")
    assert settings_from_json({"inactive_policy": "unfollow_close"}).inactivity.policy == "unfollow_close"
    with pytest.raises(InvalidInput, match=r"inactive_policy: .*alert, pause, unfollow_keep, unfollow_close"):
        settings_from_json({"inactive_policy": "close"})
    with pytest.raises(InvalidInput, match=r"inactive_after: out of range: 0 \(accepted: \(0, 3650\]\)"):
        settings_from_json({"inactive_after": "0"})


QUICK = "0.00005"  # days: 4.32 s without a source fill
CHECKING = replace(QUIET, inactivity_check_s=0.2)


async def test_a_quiet_source_is_told_once_and_pause_shows_in_status(world: World) -> None:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address, inactive_after=QUICK, inactive_policy="pause")
    runner = await world.start_runner(CHECKING)

    async def told() -> list[str]:
        return [a.message for a in runner.alerts.recent if a.kind is AlertKind.SOURCE_INACTIVE]

    [message] = await wait_until(told, "the inactivity alert", within=40)
    assert leader.address in message and "policy pause" in message and "paused" in message
    assert world.ledger is not None
    assert (await world.ledger.control_states([follower]))[follower] == "paused"
    await wait_until(lambda: _engine_paused(world, follower), "the pause carried out", equals=True)
    assert world.service is not None
    status = await world.service.status(ACTOR)
    [quiet] = status.inactive
    assert (quiet.follower, quiet.source, quiet.policy) == (follower, leader.address, "pause")
    owner_view = await OwnerService(world.service).status(ACTOR, [follower])
    assert f"Inactive source {leader.address}" in str(render.status(owner_view, {}, {}))
    for _ in range(5):  # checks go on: still one alert for this quiet spell
        await runner.check_inactivity()
    assert len(await told()) == 1


async def _engine_paused(world: World, follower: str) -> bool:
    assert world.runner is not None and world.runner.copier is not None
    return world.runner.copier.desks[follower].engine.paused


async def test_unfollow_close_closes_the_mirrored_position_of_a_quiet_source(world: World) -> None:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address, inactive_after="0.0001", inactive_policy="unfollow_close")
    await world.start_runner(CHECKING)
    await world.leader_to(leader, "ETH", "10")
    await world.follower_at(follower, "ETH", "0.1")  # copied; then the source goes quiet
    await wait_until(
        lambda: world.position(follower, "ETH"), "the quiet source's copy closed", equals=0, within=40
    )
    assert world.ledger is not None
    [current] = [p for p in await world.ledger.current_plans() if p.follower == follower]
    assert current.actor == "system:inactivity"
    assert current.settings["active"] is False and current.settings["release"] == "close"
