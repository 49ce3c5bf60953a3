"""A copy worker keeps its leases while it loads the followers it gained (issue #15: found by bench.scale
— at 1,000 followers, loading a share of 500 (keystores, recovery reads) outlasted the 4 s lease; the
heartbeat waited for the load, so the worker lost every follower to the other and loaded them again, for
ever). In process, on a localnet, a PostgreSQL ledger and the test Redis; the load is made slow on purpose."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from bot.cluster.status import cluster_status
from bot.domain import SourceChange
from tests.bus.support import redis_server_url
from tests.cluster.support import bus_of_its_own, in_process_worker, worker_of_one_follower
from tests.e2e.support import World
from tests.waiting import wait_until

POSTGRESQL = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
HEARTBEAT_S = 0.5
LEASE_S = 1.0  # two heartbeats
LOAD_S = 4.0  # four leases


@POSTGRESQL
async def test_a_load_longer_than_a_lease_keeps_the_leases(world: World, tmp_path: Path) -> None:
    assert world.ledger is not None
    async with worker_of_one_follower(world, tmp_path, heartbeat_s=HEARTBEAT_S) as started:
        worker, leader, first = started.worker, started.leader, started.follower
        copier = worker.copier
        assert copier is not None and set(copier.desks) == {first}
        real = worker.sync_plans
        loading = asyncio.Event()

        async def slow(missed: Sequence[SourceChange] = ()) -> None:  # as hundreds of keystores are
            loading.set()
            await asyncio.sleep(LOAD_S)
            await real(missed)

        worker.sync_plans = slow  # type: ignore[method-assign]
        second = await world.master_follower("1000")
        await world.follow(second, leader.address)
        await wait_until(loading.is_set, "the worker began loading the follower it gained")

        await asyncio.sleep(2 * LEASE_S)  # mid-load: two leases have passed since it began
        status = await cluster_status(world.ledger, "hyperliquid")
        assert {f.key: f.owner for f in status.followers} == {first: "c1", second: "c1"}
        assert worker.member.held == {first, second}

        await wait_until(lambda: set(copier.desks) == {first, second}, "the new follower loaded")


@POSTGRESQL
async def test_a_load_skips_the_followers_given_back_meanwhile(world: World, tmp_path: Path) -> None:
    """Workers started together see each other a heartbeat in: the first may hold every follower when
    its load begins and give most back before it gets to them. It loads only what it still holds."""
    assert world.ledger is not None
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    followers = [await world.master_follower("1000") for _ in range(3)]
    for follower in followers:
        await world.follow(follower, leader.address)
    url = redis_server_url()
    bus = bus_of_its_own(url)
    worker = in_process_worker(world, url, bus, tmp_path / "data", "c1", heartbeat_s=HEARTBEAT_S)
    await worker.member.join()
    try:
        await worker.member.beat(followers)
        roster = worker._roster()
        listed = await roster.listed()
        assert set(listed) == set(followers)  # all held when the load is listed
        await worker.member.work.release([followers[1]])  # given back while the load runs
        loaded = await roster.load_new(set(), listed)
        assert sorted(a.address.lower() for a in loaded) == sorted([followers[0], followers[2]])
    finally:
        await worker.member.leave()
        await bus.close()
