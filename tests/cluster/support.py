"""Processes of the distributed roles for the cluster tests: `mirrorbot watch|copy|control` on a World's
localnet and ledger (PostgreSQL) and a Redis of the test's own, their JSON log lines read as they come."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import bench.cluster
from bench.cluster import HEARTBEAT_S, Role, Site
from bot.bus.streams import Bus
from bot.cluster.member import Member
from bot.cluster.status import ClusterStatus, render
from bot.cluster.worker import CopyWorker
from bot.config import load_settings
from bot.ledger.ownership import LeaseKind
from tests.bus.support import redis_server_url
from tests.e2e.support import PASSWORD, Leader, World
from tests.waiting import wait_until

__all__ = ["HEARTBEAT_S", "Cluster", "Role", "balanced", "holds", "order_cloids"]


class Cluster(bench.cluster.Cluster):
    """The cluster tests' processes on a World's localnet and ledger."""

    def __init__(self, world: World, bus_url: str) -> None:
        site = Site(world.url, world.db_url, world.tmp, PASSWORD)
        super().__init__(site, bus_url, world.ledger, HEARTBEAT_S)
        self.world = world

    async def until(
        self, check: Callable[[ClusterStatus], bool], what: str, within: float = 60
    ) -> ClusterStatus:
        last: list[ClusterStatus] = []

        async def probe() -> ClusterStatus | None:
            last[:] = [await self.status()]
            return last[0] if check(last[0]) else None

        try:
            found: ClusterStatus = await wait_until(probe, what, within=within)
        except AssertionError as exc:
            logs = {r.name: [e.get("event") or e for e in r.events[-8:]] for r in self.roles}
            raise AssertionError(f"{exc}\n{render(last[0]) if last else ''}\n{logs}") from None
        return found

    async def settled(self, workers: list[str], watchers: list[str]) -> ClusterStatus:
        """Every source and follower owned, evenly, and every worker trading exactly what it owns."""

        def check(status: ClusterStatus) -> bool:
            owned: dict[str, set[str]] = {}
            for f in status.followers:
                if f.owner is not None:
                    owned.setdefault(f.owner, set()).add(f.key)
            followers = len(status.followers)
            return (
                balanced(status, "watcher", watchers, -(-len(status.sources) // len(watchers)))
                and balanced(status, "worker", workers, -(-followers // len(workers)))
                and all(self.loaded().get(w) == owned.get(w, set()) for w in workers)
            )

        return await self.until(check, "every source and follower owned evenly, every worker trading its own")


def holds(status: ClusterStatus, role: str) -> dict[str, int]:
    return {p.name: p.holds for p in status.processes if p.role == role and p.alive}


def balanced(status: ClusterStatus, role: str, names: list[str], each: int) -> bool:
    return holds(status, role) == dict.fromkeys(names, each) and not any(status.unowned.values())


async def order_cloids(world: World) -> Counter[str]:
    return Counter(c for r in await world.stats() if r["action"] == "order" for c in r["cloids"])


def bus_of_its_own(url: str) -> Bus:
    """The test Redis under a stream prefix of this test's own."""
    return Bus.from_url(url, prefix=f"test:{uuid.uuid4().hex[:8]}")


def in_process_worker(
    world: World, bus_url: str, bus: Bus, data_dir: Path, name: str, *, heartbeat_s: float
) -> CopyWorker:
    """A copy worker in this process, on the world's ledger, with an unpaced venue client of its own."""
    assert world.ledger is not None
    settings = load_settings(
        hl_api_url=world.url,
        data_dir=data_dir,
        database_url=world.db_url,
        keystore_password=PASSWORD,
        bus_url=bus_url,
    )
    member = Member(world.ledger, LeaseKind.WORKER, LeaseKind.FOLLOWER, name, heartbeat_s=heartbeat_s)
    venue = world.venue(data_dir=data_dir / "venue")
    return CopyWorker(settings, bus=bus, member=member, ledger=world.ledger, venue=venue)


@dataclass(frozen=True, slots=True)
class OneFollower:
    worker: CopyWorker
    bus: Bus
    leader: Leader
    follower: str


@asynccontextmanager
async def worker_of_one_follower(
    world: World, tmp: Path, *, heartbeat_s: float
) -> AsyncIterator[OneFollower]:
    """A leader, a follower following it, and an in-process copy worker "c1" started on the test Redis
    (a stream prefix of its own); stopped after."""
    assert world.ledger is not None
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address)
    url = redis_server_url()
    bus = bus_of_its_own(url)
    worker = in_process_worker(world, url, bus, tmp / "data", "c1", heartbeat_s=heartbeat_s)
    await worker.start()
    try:
        yield OneFollower(worker, bus, leader, follower)
    finally:
        await worker.stop()
        await bus.close()
