"""Issue #19 item 2 on the CLI: a value that looks like the other unit (`0.05` for a percent, `0.5` for
a scaling) is refused without `--yes`, naming what it would do; a normal value applies and the output
repeats each changed value with its unit."""

from __future__ import annotations

from tests.control.test_stop import cli
from tests.e2e.support import World


async def _settings(world: World, follower: str, source: str) -> dict[str, object]:
    assert world.ledger is not None
    plan = await world.ledger.current_plan(follower, source)
    assert plan is not None
    return dict(plan.settings)


async def test_limits_in_the_other_unit_need_yes_and_changes_are_repeated(world: World) -> None:
    leader = await world.leader("1000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address)

    slip = await cli(world, "limits", leader.address, "stop_loss_pct=0.05")
    assert slip.exit_code == 2, slip.output
    assert "0.05 %" in slip.output and "type 5" in slip.output and "--yes" in slip.output
    assert (await _settings(world, follower, leader.address))["stop_loss_pct"] is None

    done = await cli(world, "limits", leader.address, "stop_loss_pct=5", "daily_loss_limit=0.05")
    assert done.exit_code == 0, done.output
    updated = done.output.splitlines()[0]
    assert updated.startswith("Updated: ") and "stop_loss_pct 5 % (was off)" in updated
    assert "daily_loss_limit 0.05 (= 5 %) (was off)" in updated
    assert "daily_loss_limit: 0.05 (= 5 %)" in done.output  # the list names the unit too

    meant = await cli(world, "limits", leader.address, "stop_loss_pct=0.05", "--yes")
    assert meant.exit_code == 0, meant.output
    assert (await _settings(world, follower, leader.address))["stop_loss_pct"] == "0.05"


async def test_a_scaling_that_looks_like_a_factor_needs_yes(world: World) -> None:
    leader = await world.leader("1000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address)

    slip = await cli(world, "follow", "update", leader.address, "--scale", "ETH=0.5")
    assert slip.exit_code == 2, slip.output
    assert "0.5 %" in slip.output and "type 50" in slip.output and "--yes" in slip.output
    assert "ETH" not in (await _settings(world, follower, leader.address))["scaling"]  # type: ignore[operator]

    done = await cli(world, "follow", "update", leader.address, "--scale", "ETH=50")
    assert done.exit_code == 0, done.output
    assert "scaling ETH 50 % (was 100 %)" in done.output
    meant = await cli(world, "follow", "update", leader.address, "--scaling", "0.5", "--yes")
    assert meant.exit_code == 0, meant.output
    assert "scaling * 0.5 % (was 100 %)" in meant.output
