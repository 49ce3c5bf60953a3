"""SIGTERM while a copy worker is still starting stops it then, not once the start is over (issue #15):
at 10,000 followers a start lasts minutes, and the signal waited for all of it (the process was killed
with -9 instead). The start is given up — crash-safe, as a kill is — and the followers it took are given
back at once, not left to expire. A real `mirrorbot copy` on loopback, its start slowed by the
localnet's latency fault on every info read."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from bot.ledger.ownership import LeaseKind, leases
from tests.bus.support import private_redis
from tests.cluster.support import Cluster
from tests.e2e.support import World

POSTGRESQL = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


@POSTGRESQL
async def test_sigterm_while_a_worker_starts_stops_it_and_gives_its_followers_back(
    world: World, tmp_path: Path
) -> None:
    assert world.ledger is not None
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    followers = [await world.master_follower("1000") for _ in range(4)]
    for follower in followers:
        await world.follow(follower, leader.address)
    # Every info read takes 1.5 s: the start (its recovery reads each account) lasts many seconds.
    await world.control({"type": "fault", "latencyMs": 1500, "scope": "info"})
    with private_redis(tmp_path / "redis") as redis:
        cluster = Cluster(world, redis.url)
        try:
            worker = await cluster.launch("copy", "c1")
            await worker.started("worker_joined", within=180)  # its followers taken, their load begun
            code = await asyncio.wait_for(worker.stop(signal.SIGTERM), 60)
        finally:
            cluster.kill_all()
            await world.control({"type": "fault", "clear": True})
    assert code == 0, worker.events[-5:]
    assert worker.seen("start_abandoned") and not worker.seen("runner_started")
    rows = {r.name: r for r in await leases(world.ledger.engine, LeaseKind.FOLLOWER)}
    assert set(rows) == {f.lower() for f in followers}
    assert all(r.released_at is not None for r in rows.values())  # given back, not left to expire
