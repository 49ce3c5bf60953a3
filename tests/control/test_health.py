"""Health in `mirrorbot status` (text and --json): what the runner persisted — heartbeat, last
reconciliation and what it sent, sync score, dead-man switch, alert counts of the last hour by reason —
read by the CLI (another process in real use), and "not running" once the heartbeat is stale or the
runner stopped."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.alerts import Alert, AlertKind
from bot.ledger import Ledger
from bot.pipeline.health import HealthRecorder
from bot.service import runner_health
from tests.control.test_stop import cli
from tests.e2e.support import QUIET, World
from tests.reconcile.test_pass import by_hand

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def status(world: World) -> dict[str, object]:
    result = await cli(world, "status", "--json")
    assert result.exit_code == 0, result.output
    health: dict[str, object] = json.loads(result.output)["health"]
    return health


async def test_status_shows_the_running_bot_then_not_running_after_it_stopped(world: World) -> None:
    before = await status(world)
    assert before["runner"] is None  # never ran against this ledger
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = (await world.master_follower("1000")).lower()
    await world.follow(follower, leader.address)
    runner = await world.start_runner(replace(QUIET, dead_man_rearm_s=60.0, dead_man_horizon_s=300.0))
    await world.leader_to(leader, "ETH", "10")
    await world.follower_at(follower, "ETH", "0.1")
    await world.settle()
    await by_hand(world, follower, is_buy=False, size="0.05")
    assert await runner.reconcile() == 1  # the hand change is caught up
    await runner.arm_dead_man_switch()
    assert runner.health is not None
    await runner.health.write()  # the heartbeat, now rather than at the next beat

    health = await status(world)
    runner_row = health["runner"]
    assert isinstance(runner_row, dict) and runner_row["state"] == "running"
    last = health["last_reconcile"]
    assert isinstance(last, dict) and last["orders"] == 1 and last["manual_changes"] == 1
    assert health["sync_score"] == {follower: "100"}
    dead_man = health["dead_man_switch"]
    assert isinstance(dead_man, dict) and set(dead_man) == {follower}
    alerts = health["alerts_last_hour"]
    assert isinstance(alerts, dict) and alerts.get("out_of_sync/manual_position_change") == 1
    text = (await cli(world, "status")).output
    assert "Runner: running" in text and "1 order(s) sent" in text and f"{follower} 100" in text

    await runner.stop()
    stopped = await status(world)
    assert isinstance(stopped["runner"], dict) and stopped["runner"]["state"] == "not running"
    assert "Runner: not running (last seen" in (await cli(world, "status")).output


async def test_a_stale_heartbeat_reads_as_not_running(world: World) -> None:
    assert world.ledger is not None
    ledger: Ledger = world.ledger
    recorder = HealthRecorder(
        ledger, world.alerts, dict, heartbeat_s=5.0, clock=lambda: int(T0.timestamp() * 1000)
    )
    await recorder.write()  # a runner that died without stopping: no stop time, only its last beat
    fresh = await runner_health.runner_health(ledger, T0 + timedelta(seconds=15))
    assert fresh["runner"]["state"] == "running"  # within three beats (and the grace)
    stale = await runner_health.runner_health(ledger, T0 + timedelta(seconds=21))
    assert stale["runner"]["state"] == "not running"
    assert runner_health.runner_line(stale["runner"]) == "not running (last seen 2026-03-02 09:00:00 UTC)"


async def test_alert_counts_cover_the_last_hour_only(world: World) -> None:
    assert world.ledger is not None
    now = [int(T0.timestamp() * 1000)]
    recorder = HealthRecorder(world.ledger, world.alerts, dict, clock=lambda: now[0])
    await recorder.start()
    try:
        world.alerts.publish(Alert(AlertKind.FAILURE, "venue_5xx", "the venue answered 500"))
        assert recorder.alert_counts() == {"failure/venue_5xx": 1}
        now[0] += 3_600_000  # exactly an hour later: still counted
        assert recorder.alert_counts() == {"failure/venue_5xx": 1}
        now[0] += 1
        assert recorder.alert_counts() == {}
    finally:
        await recorder.stop()
