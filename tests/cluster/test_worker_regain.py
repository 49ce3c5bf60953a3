"""A follower a copy worker lost and got back within one heartbeat is loaded again from the ledger (issue
#15): while it was another worker's, that worker may have copied changes for it, and the engine this worker
still held for it knew none of them. In process, on a localnet, a PostgreSQL ledger and the test Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.ledger.ownership import LeaseKind, Ownership
from tests.cluster.support import worker_of_one_follower
from tests.e2e.support import World
from tests.waiting import wait_until

POSTGRESQL = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
HEARTBEAT_S = 0.5


def an_hour_on() -> datetime:
    return datetime.now(UTC) + timedelta(hours=1)


@POSTGRESQL
async def test_a_follower_lost_and_regained_within_a_heartbeat_is_loaded_again(
    world: World, tmp_path: Path
) -> None:
    assert world.ledger is not None
    async with worker_of_one_follower(world, tmp_path, heartbeat_s=HEARTBEAT_S) as started:
        worker, follower = started.worker, started.follower
        copier = worker.copier
        assert copier is not None and set(copier.desks) == {follower}
        desk = copier.desks[follower]
        epoch = worker.member.work.held[follower]
        # Another worker takes it (to its clock, c1's lease has expired) and gives it back at once: c1's
        # next heartbeat finds it lost and, free again, takes it back — both in one beat.
        other = Ownership(world.ledger.engine, LeaseKind.FOLLOWER, clock=an_hour_on)
        assert await other.acquire([follower]) == {follower: epoch + 1}
        await other.release([follower])
        await wait_until(
            lambda: worker.member.work.held.get(follower) == epoch + 2, "c1 took the follower back"
        )
        await wait_until(lambda: copier.desks.get(follower) not in (None, desk), "its engine loaded again")
        assert worker.member.departed == set()
