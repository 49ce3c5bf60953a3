"""The ops port of a live runner on the localnet: /metrics, /healthz and /readyz, fed from the runner."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from prometheus_client.parser import text_string_to_metric_families

from bot.ops.runtime import RunnerOps
from bot.service.runner_health import runner_health
from tests.e2e.support import World
from tests.ops.support import get
from tests.waiting import wait_until


def value(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


async def test_a_copied_trade_moves_the_orders_counter_and_the_latency_histogram(world: World) -> None:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("10000")
    await world.follow(follower, leader.address)
    runner = await world.start_runner()
    ops = RunnerOps(runner)
    await ops.start(host="127.0.0.1", port=0)
    try:
        unarmed = await get(ops.port, "/readyz")  # the dead-man switch is re-armed by a job (off here)
        assert unarmed.status_code == 503 and unarmed.json()["checks"]["dead_man_switch"]["ok"] is False
        assert await said_by_status(world) == unarmed.json()  # `status` and `/health` read the same facts
        await runner.arm_dead_man_switch()
        ready = await get(ops.port, "/readyz")
        assert ready.status_code == 200, ready.text  # the venue answered, the lease is held, …
        assert set(ready.json()["checks"]) == {"venue", "ledger", "websockets", "dead_man_switch"}
        assert await said_by_status(world) == ready.json()
        before = (await get(ops.port, "/metrics")).text
        assert value(before, "mirrorbot_orders_total", result="filled") == 0
        await world.leader_to(leader, "ETH", "1")
        await world.follower_at(follower, "ETH", "0.1")

        async def scraped() -> str:
            return (await get(ops.port, "/metrics")).text

        text = await wait_until(lambda: _with_order(scraped), "the orders counter to move")
        assert value(text, "mirrorbot_orders_total", result="filled", reason="open") == 1
        for stage in ("seen", "decided", "sent", "answered"):  # the copy's stopwatch, every stage
            assert value(text, "mirrorbot_ingestion_lag_seconds_count", stage=stage) >= 1, stage
        assert value(text, "mirrorbot_followers") == 1
        assert value(text, "mirrorbot_ready") == 1
        assert value(text, "mirrorbot_venue_weight_used_total") > 0
        assert follower.lower() not in text.lower() and leader.address not in text.lower()
        await runner.reconcile()
        text = await scraped()
        assert value(text, "mirrorbot_reconcile_passes_total") >= 1
        assert value(text, "mirrorbot_sync_score_count") >= 1
        assert value(text, "mirrorbot_sync_score_min") == float(Decimal(100))
    finally:
        await ops.stop()


async def said_by_status(world: World) -> object:
    """The readiness `mirrorbot status` and `/health` show: the runner's health row, written now."""
    assert world.runner is not None and world.runner.health is not None and world.ledger is not None
    await world.runner.health.write()
    health = await runner_health(world.ledger, datetime.now(UTC))
    return health["readiness"]


async def _with_order(scraped: object) -> str | None:
    text = await scraped()  # type: ignore[operator]
    return text if value(text, "mirrorbot_orders_total", result="filled") >= 1 else None
