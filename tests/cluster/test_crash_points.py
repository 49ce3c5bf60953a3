"""Issue #15 chaos: copy workers SIGKILLed at each of the three crash points of the restart tests
(after the intent is written, after the send, after the venue's answer), all at once on their first
orders; a fresh worker takes their followers over, resolves the open intents by cloid, and every follower
converges — no cloid reaches the venue twice."""

from __future__ import annotations

import signal
from decimal import Decimal
from pathlib import Path

import pytest

from bot.pipeline.oms import CRASH_ENV
from tests.bus.support import private_redis
from tests.cluster.support import Cluster, order_cloids
from tests.e2e.support import World
from tests.restart.test_sigkill import AT_DEATH

POSTGRESQL = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


@POSTGRESQL
async def test_workers_killed_at_each_crash_point_send_each_order_once(world: World, tmp_path: Path) -> None:
    assert world.ledger is not None
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    followers = [await world.master_follower("1000") for _ in range(3)]
    for follower in followers:
        await world.follow(follower, leader.address)
    points = sorted(AT_DEATH)

    with private_redis(tmp_path / "redis") as redis:
        cluster = Cluster(world, redis.url)
        try:
            watcher = await cluster.launch("watch", "w1")
            await watcher.started("watcher_started")
            dying = []
            for n, point in enumerate(points, start=1):
                cluster.extra_env[f"c{n}"] = {CRASH_ENV: point}
                dying.append(await cluster.launch("copy", f"c{n}"))
                await dying[-1].started("runner_started")
            await cluster.settled([r.name for r in dying], ["w1"])  # one follower each
            await world.leader_to(leader, "ETH", "10")
            for role in dying:  # each dies at its crash point, on its first order
                died = await role.stop(signal.SIGCONT)
                assert role.events[-1].get("event") == "test_crash_point", role.events[-3:]
                # asyncio reports 255 for a child another waiter reaped first (its child watcher's
                # "unknown child" path: seen once on a loaded machine); the log's last line says how it died
                assert died in (-signal.SIGKILL, 255), (died, role.events[-3:])
            await world.leader_to(leader, "ETH", "15")  # while nobody copies
            fresh = await cluster.launch("copy", "c4")
            await fresh.started("runner_started")
            for follower in followers:
                await world.follower_at(follower, "ETH", "0.15", what="the new owner converged")
            codes = [await r.stop() for r in (fresh, watcher)]
        finally:
            for role in cluster.roles:
                if role.process.returncode is None:
                    role.process.kill()
    assert codes == [0, 0]
    sent = await order_cloids(world)
    assert sent and max(sent.values()) == 1, sent
    statuses = {d.cloid: d for d in await world.ledger.last_decisions(50) if d.event_kind == "open"}
    assert len(statuses) == 3  # one open per follower, each sent once (or resolved by its cloid)
    for cloid in statuses:
        (chain,) = await world.ledger.lineage(f"cloid:{cloid}")
        assert (
            chain.order is not None
            and chain.order.status == "filled"
            and sum(f.size for f in chain.fills) == Decimal("0.1")
        )
