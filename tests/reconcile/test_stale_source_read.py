"""A read of a source that began before the source changed must not be taken for the truth once the change
is mirrored: the reconciliation pass would find a "missed change" back to the old size and undo the copy
(a wrong order, then another to put it back), and an accounts refresh would tell the engines the old size.

The real runner on the localnet; the only seam is the runner's account reader, whose first read is held
(after the venue answered it) while the leader trades and the copy goes through."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from bot.pipeline.reads import AccountReader, AccountReads
from tests.e2e.support import Leader, World
from tests.waiting import wait_until


class HeldReader(AccountReader):
    """Answers its first read only once `release` is set (the answer itself is the venue's, read at once)."""

    def __init__(self, inner: AccountReader) -> None:
        super().__init__(inner.venue, inner.source_venue, inner.limit)
        self.answered = asyncio.Event()
        self.release = asyncio.Event()
        self.reads = 0

    async def read(self, sources: Sequence[str], followers: Sequence[str]) -> AccountReads:
        reads = await super().read(sources, followers)
        self.reads += 1
        if self.reads == 1:
            self.answered.set()
            await self.release.wait()
        return reads


async def _setup(world: World) -> tuple[Leader, str, HeldReader]:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address)
    runner = await world.start_runner()
    copier = runner.copier
    assert copier is not None
    reader = HeldReader(copier.reader)
    copier.reader = copier.accounts.reader = reader
    return leader, follower, reader


async def _copied_while_a_read_is_held(
    world: World, leader: Leader, follower: str, reader: HeldReader, task: asyncio.Task[Any]
) -> None:
    """The leader goes 0 → 10 ETH while the held read (taken when it was flat) waits; the copy lands,
    then the read is answered."""
    await asyncio.wait_for(reader.answered.wait(), 30)
    await world.leader_to(leader, "ETH", "10")
    await world.follower_at(follower, "ETH", "0.1")
    assert world.runner is not None and world.runner.copier is not None
    copier = world.runner.copier

    async def idle() -> bool:
        return copier.idle

    await wait_until(idle, "the copy recorded")
    reader.release.set()
    await asyncio.wait_for(task, 30)


async def _follower_orders(world: World, follower: str) -> int:
    return sum(1 for r in await world.stats() if r["action"] == "order" and r["user"] == follower.lower())


async def test_a_reconciliation_read_older_than_a_mirrored_change_does_not_undo_it(world: World) -> None:
    leader, follower, reader = await _setup(world)
    assert world.runner is not None and world.runner.reconciler is not None
    passing = asyncio.create_task(world.runner.reconcile())
    await _copied_while_a_read_is_held(world, leader, follower, reader, passing)
    report = world.runner.reconciler.last
    assert report is not None and report.missed_changes == 0 and report.orders == 0
    assert await world.position(follower, "ETH") == Decimal("0.1")
    assert await _follower_orders(world, follower) == 1  # the copy, and nothing to undo it


async def test_an_accounts_refresh_read_older_than_a_mirrored_change_reads_the_source_again(
    world: World,
) -> None:
    leader, follower, reader = await _setup(world)
    assert world.runner is not None and world.runner.copier is not None
    refreshing = asyncio.create_task(world.runner.copier.accounts.refresh())
    await _copied_while_a_read_is_held(world, leader, follower, reader, refreshing)
    desk = world.runner.copier.desks[follower.lower()]
    assert desk.engine.source_position(leader.address.lower(), "ETH").size == Decimal(
        10
    )  # read again, not the flat read
    assert reader.reads == 2
