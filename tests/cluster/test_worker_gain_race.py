"""A change of a source published while a copy worker loads the followers it just gained is mirrored for
them once they are loaded (issue #15). Their recovery may read the source before the change; the worker's
feed names the source only once they are loaded; so the change, skipped as "not a source of ours", was
lost until the next reconciliation pass (a minute) — the chaos test's occasional failure to converge.

In process, on a localnet, a PostgreSQL ledger and the test Redis. The only seam: the worker's account
reader, which, on the recovery read of the gained follower's source, lets the leader trade and the
change reach the worker (consumed) before it answers with what it read before."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest

from bot.bus.codec import BusChange
from bot.bus.streams import Bus
from bot.domain import SourceChange
from bot.pipeline.execute import now_ms
from bot.pipeline.reads import AccountReader, AccountReads
from tests.cluster.support import worker_of_one_follower
from tests.e2e.support import Leader, World
from tests.waiting import wait_until

POSTGRESQL = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
HEARTBEAT_S = 0.5


@POSTGRESQL
async def test_a_change_published_while_its_followers_load_is_mirrored_for_them(
    world: World, tmp_path: Path
) -> None:
    async with worker_of_one_follower(world, tmp_path, heartbeat_s=HEARTBEAT_S) as started:
        worker, bus = started.worker, started.bus
        copier = worker.copier
        assert copier is not None and worker.reconciler is not None
        second = await world.leader("100000")
        source = second.address.lower()
        follower = await world.master_follower("1000")
        consumed = worker.consumer.acknowledged

        class RaceReader(AccountReader):
            """On the first read of `second`: the leader trades and the worker consumes the change, then
            the read (taken before) is answered."""

            raced = False

            async def read(self, sources: Sequence[str], followers: Sequence[str]) -> AccountReads:
                reads = await super().read(sources, followers)
                if source in [s.lower() for s in sources] and not RaceReader.raced:
                    RaceReader.raced = True
                    await trade_and_publish(world, second, bus)
                    await wait_until(
                        lambda: asyncio.sleep(0, worker.consumer.acknowledged > consumed),
                        "the worker consumed the change",
                    )
                return reads

        inner = copier.accounts.reader
        copier.reader = copier.accounts.reader = RaceReader(inner.venue, inner.source_venue, inner.limit)
        last_pass = worker.reconciler.last
        await world.follow(follower, second.address)  # gained at the next heartbeat, loaded, recovered
        await wait_until(lambda: RaceReader.raced, "the recovery read of the new source")
        await world.follower_at(follower, "ETH", "0.1", what="the change mirrored for the new follower")
        assert worker.reconciler.last is last_pass  # not by a reconciliation pass: no pass ran since


async def trade_and_publish(world: World, leader: Leader, bus: Bus) -> None:
    """The leader opens 10 ETH and the change is on the bus, as a watcher would publish it."""
    await world.leader_to(leader, "ETH", "10")
    at = now_ms()
    change = SourceChange(leader.address, "ETH", Decimal(0), Decimal(10), at, f"fill:ETH:race:{at}")
    await bus.publish(BusChange("hyperliquid", change))
