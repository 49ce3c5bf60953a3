"""Issue #15 acceptance, on loopback: a localnet, a PostgreSQL ledger, a Redis, and real processes of the
distributed roles — 3 watchers, 3 copy workers and the control process — mirror a scripted leader set
into many followers. Every follower ends at q(τ) on the venue, every order's lineage is whole, and no
cloid reaches the venue twice."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.bus.support import private_redis
from tests.cluster.support import Cluster, order_cloids
from tests.e2e.support import World
from tests.pipeline.test_run_command import MIRRORBOT

POSTGRESQL = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)

# Each leader's positions, step by step (every follower holds 1 % of its leader: 1,000 vs 100,000 USDC).
SCRIPT: list[tuple[int, str, str]] = [
    (0, "ETH", "10"),
    (1, "BTC", "1"),
    (2, "ETH", "-5"),
    (0, "ETH", "15"),
    (1, "BTC", "0.5"),
]


@POSTGRESQL
async def test_three_watchers_and_three_workers_mirror_every_follower(world: World, tmp_path: Path) -> None:
    assert world.ledger is not None
    await world.set_mids(ETH="3000", BTC="60000")
    leaders = [await world.leader("100000") for _ in range(3)]
    followers = [await world.master_follower("1000") for _ in range(6)]
    for i, follower in enumerate(followers):
        await world.follow(follower, leaders[i % 3].address)

    with private_redis(tmp_path / "redis") as redis:
        cluster = Cluster(world, redis.url)
        try:
            # One after the other: seven start-ups at once on a 2-core machine only make them slower.
            await (await cluster.launch("control", "ctl")).started("control_started")
            for n in range(1, 4):
                await (await cluster.launch("watch", f"w{n}")).started("watcher_started")
            for n in range(1, 4):
                await (await cluster.launch("copy", f"c{n}")).started("runner_started")
            await cluster.settled(["c1", "c2", "c3"], ["w1", "w2", "w3"])
            expected: dict[tuple[int, str], Decimal] = {}
            for leader, coin, size in SCRIPT:
                await world.leader_to(leaders[leader], coin, size)
                expected[(leader, coin)] = Decimal(size) / 100
            for n, follower in enumerate(followers):
                for (leader, coin), target in expected.items():
                    if leader == n % 3:
                        what = f"follower {n} {coin} at q(τ)"
                        await world.follower_at(follower, coin, str(target), what=what)
            status = await cluster.status()
            shown = await asyncio.create_subprocess_exec(
                MIRRORBOT,
                "cluster",
                "status",
                "--json",
                env=cluster.env("status"),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(shown.communicate(), 60)
            codes = await cluster.stop_all()
        finally:
            for role in cluster.roles:
                if role.process.returncode is None:
                    role.process.kill()
    assert set(codes.values()) == {0}, {r.name: r.events[-5:] for r in cluster.roles}
    assert {p.name for p in status.processes} >= {"w1", "w2", "w3", "c1", "c2", "c3", "ctl"}

    # `mirrorbot cluster status --json`: every process, its budget and holdings, the workers' groups.
    assert shown.returncode == 0, err.decode()
    report = json.loads(out)
    alive = {p["name"]: p for p in report["processes"] if p["alive"]}
    assert set(alive) == {"w1", "w2", "w3", "c1", "c2", "c3", "ctl"}
    assert [alive[w]["holds"] for w in ("w1", "w2", "w3")] == [1, 1, 1] and alive["w1"]["ws_users"] == 10
    assert [alive[c]["holds"] for c in ("c1", "c2", "c3")] == [2, 2, 2]
    assert {g["group"] for g in report["streams"]} == {"copy:c1", "copy:c2", "copy:c3"}
    assert report["unowned"] == {"sources": [], "followers": []}
    assert all(s["staleness_s"] is not None and s["owner"] for s in report["sources"])

    sent = await order_cloids(world)
    assert sent and max(sent.values()) == 1, sent  # no cloid twice
    for cloid in sent:
        (chain,) = await world.ledger.lineage(f"cloid:{cloid}")
        assert chain.leader_event is not None and chain.instruction is not None and chain.intent is not None
        assert chain.order is not None and chain.order.status == "filled" and chain.fills, cloid
