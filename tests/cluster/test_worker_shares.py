"""Copy workers lease followers by source (issue #15: docs/benchmarks.md, "Scale" — with followers leased
by address every worker held followers of every source, so each paid every source change's fixed cost
and adding workers made it slower). Two workers, four sources of three followers: each source's
followers are on one worker, and each worker's feed lists only its sources. In process, on a localnet, a
PostgreSQL ledger and the test Redis."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.cluster.worker import CopyWorker, by_source
from bot.ledger import FollowPlan
from bot.service.settings import FollowSettings, settings_to_json
from tests.bus.support import redis_server_url
from tests.cluster.support import bus_of_its_own, in_process_worker
from tests.e2e.support import World
from tests.waiting import wait_until

POSTGRESQL = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
HEARTBEAT_S = 0.5
SOURCES, PER_SOURCE = 4, 3


def test_followers_are_ordered_by_the_sources_they_follow() -> None:
    """Then by address; a follower of several sources goes with its first; an unfollow (an inactive plan)
    counts for nothing, so a follower following none comes first."""
    s1, s2 = "0x" + "a1" * 20, "0x" + "b2" * 20
    f = ["0x" + f"{n:02x}" * 20 for n in range(1, 6)]
    active, stopped = FollowSettings(), replace(FollowSettings(), active=False)

    def plan(follower: str, source: str, settings: FollowSettings = active) -> FollowPlan:
        return FollowPlan(follower=follower, source=source, version=1, settings=settings_to_json(settings))

    plans = [plan(f[0], s2), plan(f[1], s1), plan(f[2], s2), plan(f[2], s1), plan(f[3], s1, stopped)]
    plans += [plan(f[4], s2)]
    assert by_source([x.upper().replace("0X", "0x") for x in f], plans) == [f[3], f[1], f[2], f[0], f[4]]


@POSTGRESQL
async def test_each_source_s_followers_are_held_by_one_worker(world: World, tmp_path: Path) -> None:
    assert world.ledger is not None
    await world.set_mids(ETH="3000")
    leaders = [(await world.leader("100000")).address for _ in range(SOURCES)]
    followers = sorted([await world.master_follower("1000") for _ in range(SOURCES * PER_SOURCE)])
    # Sources dealt round the followers in address order: leased by address, every worker would hold
    # followers of every source.
    source_of = {f: leaders[i % SOURCES] for i, f in enumerate(followers)}
    for follower, leader in source_of.items():
        await world.follow(follower, leader)
    url = redis_server_url()
    bus = bus_of_its_own(url)
    workers: list[CopyWorker] = []
    try:
        for name in ("c1", "c2"):
            worker = in_process_worker(world, url, bus, tmp_path / name, name, heartbeat_s=HEARTBEAT_S)
            await worker.start()
            workers.append(worker)

        def settled() -> bool:  # shared evenly, and each worker runs (and reads the feed of) what it holds
            return all(
                len(w.member.held) == len(followers) // 2
                and w.copier is not None
                and set(w.copier.desks) == w.member.held
                and w.feed.sources == {source_of[f] for f in w.member.held}
                for w in workers
            )

        await wait_until(settled, "the two workers sharing the followers, each running its share")
        held = [w.member.held for w in workers]
        for leader in leaders:
            mine = {f for f, s in source_of.items() if s == leader}
            assert sum(1 for h in held if h & mine) == 1, f"{leader}'s followers are split: {held}"
        feeds = [w.feed.sources for w in workers]
        assert len(feeds[0]) == len(feeds[1]) == SOURCES // 2 and feeds[0].isdisjoint(feeds[1])
    finally:
        for worker in workers:
            await worker.stop()
        await bus.close()
