"""A copy worker prices its copies from the venue's `allMids` websocket feed (issue #15: its venue client
runs no watch — the watch is the watcher's — so `mids()` was read over HTTP on every change: a round trip
on the hot path and weight on the worker IP's budget; docs/benchmarks.md "Latency added by the bus").
In process, on a localnet (the real websocket), a PostgreSQL ledger and the test Redis: a change put on
the bus is mirrored into the follower with no `allMids` read over HTTP (the localnet counts them)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.hyperliquid.venue import HyperliquidVenue
from bot.bus.codec import BusChange
from bot.domain import SourceChange
from bot.pipeline.execute import now_ms
from tests.cluster.support import worker_of_one_follower
from tests.e2e.support import World
from tests.waiting import wait_until

POSTGRESQL = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


async def http_all_mids(world: World) -> int:
    answer = await world.control({"type": "stats", "info": True})
    return int(answer["infoRequests"].get("allMids", 0))


@POSTGRESQL
async def test_a_copy_worker_mirrors_a_change_without_reading_mids_over_http(
    world: World, tmp_path: Path
) -> None:
    async with worker_of_one_follower(world, tmp_path, heartbeat_s=2.0) as started:
        worker, bus, leader, follower = started.worker, started.bus, started.leader, started.follower
        venue = worker.venue
        assert isinstance(venue, HyperliquidVenue) and not venue.sockets and not venue.pollers  # no watch
        feed = venue.mids_feed
        assert feed is not None, "the worker started no mids feed"
        await wait_until(lambda: asyncio.sleep(0, feed.mids() is not None), "the mids feed live")

        await world.leader_to(leader, "ETH", "10")  # what a watcher would publish (the SDK reads allMids)
        before = await http_all_mids(world)
        change = SourceChange(leader.address, "ETH", Decimal(0), Decimal(10), now_ms(), "fills:ETH:1:1")
        await bus.publish(BusChange("hyperliquid", change))
        await world.follower_at(follower, "ETH", "0.1", what="the follower at q(τ)")
        await wait_until(lambda: asyncio.sleep(0, worker.mirrored), "the change mirrored", equals=1)

        assert await http_all_mids(world) == before  # priced from the feed: no HTTP read of the mids
