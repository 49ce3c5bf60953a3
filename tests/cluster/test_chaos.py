"""Issue #15 chaos, on loopback with real processes: a copy worker SIGKILLed, a watcher SIGKILLed, a worker
frozen (SIGSTOP) past its lease and woken (SIGCONT), the control process SIGKILLed, Redis SIGKILLed and
restarted — while the leaders trade. Ownership moves (measured and printed, in heartbeats), no change is
lost (every follower ends at q(τ) on the venue), no cloid reaches the venue twice, and the woken worker
sends nothing for the followers it lost (the ledger fences it)."""

from __future__ import annotations

import asyncio
import signal
import time
from decimal import Decimal
from pathlib import Path

import pytest

from bot.cluster.status import ClusterStatus
from tests.bus.support import private_redis
from tests.cluster.support import HEARTBEAT_S, Cluster, Role, order_cloids
from tests.e2e.support import World

POSTGRESQL = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def owned_by(status: ClusterStatus, name: str, kind: str) -> set[str]:
    items = status.followers if kind == "followers" else status.sources
    return {i.key for i in items if i.owner == name}


async def moved(
    cluster: Cluster, keys: set[str], kind: str, away_from: str, what: str, start: float
) -> float:
    """Seconds from `start` (the kill, the freeze) until every one of `keys` is owned by a live process
    other than `away_from`; printed."""

    def check(status: ClusterStatus) -> bool:
        items = status.followers if kind == "followers" else status.sources
        owners = {i.key: i.owner for i in items}
        return all(owners.get(k) not in (None, away_from) for k in keys)

    await cluster.until(check, f"{what}: ownership moved")
    took = time.monotonic() - start
    print(f"{what}: ownership moved in {took:.2f} s ({took / HEARTBEAT_S:.1f} heartbeats of {HEARTBEAT_S} s)")
    return took


@POSTGRESQL
async def test_kill_freeze_and_wake_lose_nothing_and_send_nothing_twice(world: World, tmp_path: Path) -> None:
    assert world.ledger is not None
    await world.set_mids(ETH="3000")
    leaders = [await world.leader("100000") for _ in range(2)]
    followers = [await world.master_follower("1000") for _ in range(4)]
    for i, follower in enumerate(followers):
        await world.follow(follower, leaders[i % 2].address)
    held = {0: Decimal(0), 1: Decimal(0)}

    async def trade(leader: int, size: str) -> None:
        await world.leader_to(leaders[leader], "ETH", size)
        held[leader] = Decimal(size)

    async def converged(what: str) -> None:
        for i, follower in enumerate(followers):
            await world.follower_at(follower, "ETH", str(held[i % 2] / 100), what=f"{what}: follower {i}")

    with private_redis(tmp_path / "redis") as redis:
        cluster = Cluster(world, redis.url)
        roles: dict[str, Role] = {}
        try:
            roles["ctl"] = await cluster.launch("control", "ctl")
            await roles["ctl"].started("control_started")
            for name in ("w1", "w2"):
                roles[name] = await cluster.launch("watch", name)
                await roles[name].started("watcher_started")
            for name in ("c1", "c2"):
                roles[name] = await cluster.launch("copy", name)
                await roles[name].started("runner_started")
            status = await cluster.settled(["c1", "c2"], ["w1", "w2"])
            await trade(0, "10")
            await trade(1, "-4")
            await converged("before the chaos")

            # A copy worker SIGKILLed; a leader trades while its followers have no owner.
            lost = owned_by(status, "c1", "followers")
            killed = time.monotonic()
            await roles["c1"].stop(signal.SIGKILL)
            await trade(0, "15")
            await trade(1, "-6")
            await moved(cluster, lost, "followers", "c1", "copy worker SIGKILL", killed)
            await converged("after a worker was killed")

            # A watcher SIGKILLed; its sources trade while nobody watches them.
            status = await cluster.status()
            unwatched = owned_by(status, "w1", "sources")
            killed = time.monotonic()
            await roles["w1"].stop(signal.SIGKILL)
            await trade(0, "5")
            await trade(1, "-2")
            await moved(cluster, unwatched, "sources", "w1", "watcher SIGKILL", killed)
            await converged("after a watcher was killed")

            # A worker frozen past its lease: another takes its followers; woken, it sends nothing for them.
            roles["c3"] = await cluster.launch("copy", "c3")
            await roles["c3"].started("runner_started")
            status = await cluster.settled(["c2", "c3"], ["w2"])
            frozen = owned_by(status, "c2", "followers")
            roles["c2"].process.send_signal(signal.SIGSTOP)
            stopped = time.monotonic()
            try:
                await moved(cluster, frozen, "followers", "c2", "copy worker SIGSTOP past its lease", stopped)
                await trade(0, "8")
                await converged("while a worker is frozen")
            finally:
                roles["c2"].process.send_signal(signal.SIGCONT)
            await trade(1, "-3")
            await converged("after the frozen worker woke")
            await cluster.settled(["c2", "c3"], ["w2"])  # it rejoined: the followers are shared again

            # The control process SIGKILLed: the copy does not depend on it.
            await roles["ctl"].stop(signal.SIGKILL)
            await trade(0, "12")
            await converged("after the control process was killed")

            # Redis SIGKILLed while a leader trades, then restarted (its append-only file): the watcher
            # holds the change until the bus is back, the workers reconnect.
            redis.kill()
            await trade(1, "-5")
            redis.start()
            await converged("after Redis was killed and restarted")
            await asyncio.sleep(0)
            codes = {n: await r.stop() for n, r in roles.items() if r.process.returncode is None}
        finally:
            for role in cluster.roles:
                if role.process.returncode is None:
                    role.process.kill()
    assert set(codes.values()) == {0}, codes

    sent = await order_cloids(world)
    assert sent and max(sent.values()) == 1, sent  # no cloid twice, whatever died when
    for cloid in sent:
        (chain,) = await world.ledger.lineage(f"cloid:{cloid}")
        assert chain.instruction is not None and chain.intent is not None and chain.order is not None, cloid
