"""A real Prometheus (the Debian package, scripts/prometheus.sh) scraping a live `mirrorbot run` on the
localnet while a leader trades: its HTTP API shows the orders counter and the latency histogram move,
and the repo's alert rules loaded and evaluating."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.support import PASSWORD, World
from tests.ops.prometheus import prometheus
from tests.ops.support import free_port, next_event, start_run
from tests.waiting import wait_until

ORDERS = 'sum(mirrorbot_orders_total{result="filled"})'
LAG = 'sum(mirrorbot_ingestion_lag_seconds_count{stage="answered"})'
P99 = 'histogram_quantile(0.99, sum by (le) (mirrorbot_ingestion_lag_seconds_bucket{stage="answered"}))'


async def query(url: str, promql: str) -> float | None:
    """The instant value of `promql` (None: no series yet)."""
    async with httpx.AsyncClient(timeout=10) as client:
        answer: dict[str, Any] = (await client.get(f"{url}/api/v1/query", params={"query": promql})).json()
    assert answer["status"] == "success", answer
    result = answer["data"]["result"]
    return float(result[0]["value"][1]) if result else None


async def test_prometheus_sees_orders_and_copy_latency_move(world: World, tmp_path: Path) -> None:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("10000", agent=True)
    await world.follow(follower, leader.address)
    ops_port = free_port()
    process = await start_run(
        {
            "MIRROR_HL_API_URL": world.url,
            "MIRROR_DATABASE_URL": world.db_url,
            "MIRROR_DATA_DIR": str(tmp_path / "bot"),
            "MIRROR_KEYSTORE_PASSWORD": PASSWORD,
            "MIRROR_METRICS_PORT": str(ops_port),
        },
        tmp_path,
    )
    try:
        await next_event(process, "runner_started")
        with prometheus(tmp_path / "prometheus", f"127.0.0.1:{ops_port}") as url:
            await wait_until(
                lambda: query(url, 'up{job="mirrorbot"}'), "Prometheus scraping the bot", equals=1.0
            )
            lag_before = await wait_until(
                lambda: query(url, LAG), "the latency histogram scraped", equals=0.0
            )
            assert await query(url, ORDERS) is None  # no order answered yet

            await world.leader_to(leader, "ETH", "1")
            await world.follower_at(follower, "ETH", "0.1")
            await world.leader_to(leader, "ETH", "2")
            await world.follower_at(follower, "ETH", "0.2")

            await wait_until(lambda: query(url, ORDERS), "the orders counter moving", equals=2.0)
            lag = await wait_until(
                lambda: _above(query(url, LAG), lag_before), "the latency histogram moving"
            )
            assert lag >= 2
            p99 = await query(url, P99)
            assert p99 is not None and 0 < p99 <= 60

            async with httpx.AsyncClient(timeout=10) as client:
                rules = (await client.get(f"{url}/api/v1/rules")).json()["data"]["groups"]
            loaded = {r["name"]: r["health"] for g in rules for r in g["rules"]}
            assert set(loaded) >= {
                "MirrorbotRunnerDown",
                "MirrorbotNotReady",
                "MirrorbotIngestionLagHigh",
                "MirrorbotRejectionRateHigh",
                "MirrorbotFollowersOutOfSync",
            }
            await wait_until(lambda: _evaluated(url), "the alert rules evaluated")
        process.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, rest.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _above(value: Any, floor: float | None) -> float | None:
    got = await value
    return got if got is not None and got > (floor or 0) else None


async def _evaluated(url: str) -> bool:
    async with httpx.AsyncClient(timeout=10) as client:
        rules = (await client.get(f"{url}/api/v1/rules")).json()["data"]["groups"]
    return all(
        r["health"] == "ok" and r.get("lastEvaluation", "").startswith("20")
        for g in rules
        for r in g["rules"]
    )
