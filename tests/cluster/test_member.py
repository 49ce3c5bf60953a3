"""Shares of the work (bot/cluster/member.py), in process on SQLite and PostgreSQL: live processes of a
role split the work evenly within their budgets, a newcomer gets its share from the others' excess, and a
process that stops heartbeating has its work taken over once its lease expired — two heartbeats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.cluster.member import ClusterError, Member, fair_share
from bot.ledger import Ledger
from bot.ledger.ownership import Budget, LeaseKind
from tests.ledger.conftest import _pg_database, _sqlite_template, db_url, ledger

__all__ = ["_pg_database", "_sqlite_template", "db_url", "ledger"]

FOLLOWERS = [f"0x{n:040x}" for n in range(1, 8)]
HEARTBEAT_S = 2.0


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def worker(
    ledger: Ledger,
    clock: Clock,
    name: str,
    cap: int | None = None,
    *,
    heartbeat_s: float = HEARTBEAT_S,
    keepalive: bool = False,
) -> Member:
    return Member(
        ledger,
        LeaseKind.WORKER,
        LeaseKind.FOLLOWER,
        name,
        heartbeat_s=heartbeat_s,
        budget=Budget(weight_per_min=1200),
        cap=cap,
        clock=clock,
        keepalive=keepalive,
    )


@pytest.mark.parametrize(
    ("work", "processes", "cap", "share"), [(7, 3, None, 3), (6, 3, None, 2), (7, 0, None, 7), (7, 1, 5, 5)]
)
def test_fair_share(work: int, processes: int, cap: int | None, share: int) -> None:
    assert fair_share(work, processes, cap) == share


async def test_workers_share_evenly_and_a_newcomer_gets_its_share(ledger: Ledger) -> None:
    clock = Clock()
    a, b = worker(ledger, clock, "a"), worker(ledger, clock, "b")
    await a.join()
    await a.beat(FOLLOWERS)
    assert len(a.held) == 7  # alone: all of it
    await b.join()
    await b.beat(FOLLOWERS)
    assert b.held == set()  # all held live by a
    released = await a.beat(FOLLOWERS)  # a sees two live workers: keeps 4, gives 3 back
    assert len(a.held) == 4 and len(released.lost) == 3
    await b.beat(FOLLOWERS)
    assert len(b.held) == 3 and a.held.isdisjoint(b.held)
    assert a.moves == {"gained": 7, "released": 3, "lost": 0} and b.moves["gained"] == 3  # the metrics'
    with pytest.raises(ClusterError, match="another live worker is named 'a'"):
        await worker(ledger, clock, "A").join()


async def test_a_silent_workers_followers_are_taken_within_two_heartbeats(ledger: Ledger) -> None:
    clock = Clock()
    a, b = worker(ledger, clock, "a"), worker(ledger, clock, "b")
    for m in (a, b):
        await m.join()
    for _ in range(2):
        for m in (a, b):
            await m.beat(FOLLOWERS)
    assert (len(a.held), len(b.held)) == (4, 3)
    # a dies. One heartbeat later its leases still run: b takes nothing of a's.
    clock.now += timedelta(seconds=HEARTBEAT_S)
    assert not (await b.beat(FOLLOWERS)).gained
    # Two heartbeats after a's last one its leases (and its process row) expired: b is alone and takes all.
    clock.now += timedelta(seconds=HEARTBEAT_S)
    beat = await b.beat(FOLLOWERS)
    assert beat.gained == frozenset(a.held) and b.held == set(FOLLOWERS)
    epochs = b.work.fence
    assert all(epochs[f] == 2 for f in a.held)  # taken over: a higher epoch, a's writes are fenced
    # a wakes: its renewal finds everything lost.
    lost_by_a = set(a.held)
    assert (await a.beat(FOLLOWERS)).lost == frozenset(lost_by_a) and a.held == set()
    assert (a.moves["gained"], a.moves["lost"]) == (4, 4) and (b.moves["gained"], b.moves["lost"]) == (7, 0)


async def test_a_budget_caps_the_share_and_leaves_the_rest_unowned(ledger: Ledger) -> None:
    clock = Clock()
    small = worker(ledger, clock, "small", cap=2)
    await small.join()
    await small.beat(FOLLOWERS)
    assert small.held == set(FOLLOWERS[:2])  # the first ones given: the most important first


async def test_shares_of_work_ordered_by_group_stay_whole_groups_through_joins_and_a_failover(
    ledger: Ledger,
) -> None:
    """Work given in groups (a copy worker's followers, by source): each beat takes the first free ones
    in the order and gives back the last, so with shares of whole groups every group stays on one
    process when others join and when one dies."""
    clock = Clock()
    groups = [[f"0x{g:02x}{i:038x}" for i in range(2)] for g in range(6)]  # 6 sources × 2 followers
    work = [key for group in groups for key in group]
    a, b, c = (worker(ledger, clock, name) for name in "abc")

    def owners() -> list[set[str]]:
        """For each group, the names of the processes holding some of it."""
        return [{m.name for m in (a, b, c) if m.held & set(group)} for group in groups]

    await a.join()
    await a.beat(work)
    for newcomer in (b, c):
        await newcomer.join()
        for m in (newcomer, a, b, c):  # the newcomer counted, the others give back, it takes
            await m.beat(work)
        assert all(len(names) == 1 for names in owners()), owners()
    assert [len(m.held) for m in (a, b, c)] == [4, 4, 4]
    # b dies: two heartbeats later a and c split its groups between them, each group whole.
    for _ in range(2):
        clock.now += timedelta(seconds=HEARTBEAT_S)
        for m in (a, c):
            await m.beat(work)
    assert a.held | c.held == set(work) and len(a.held) == len(c.held) == 6
    assert all(len(names - {"b"}) == 1 for names in owners()), owners()  # b's view is stale: it died


async def test_a_member_told_not_to_take_renews_and_gives_back_but_takes_nothing(ledger: Ledger) -> None:
    """A worker still loading the followers it took last (bot/cluster/worker.py) beats with `take=False`:
    it keeps what it has, gives back its excess, and leaves the free work to the others meanwhile."""
    clock = Clock()
    a, b = worker(ledger, clock, "a"), worker(ledger, clock, "b")
    await a.join()
    await a.beat(FOLLOWERS[:3], take=False)
    assert a.held == set()  # free work, not taken
    await a.beat(FOLLOWERS[:3])
    assert a.held == set(FOLLOWERS[:3])
    beat = await a.beat(FOLLOWERS, take=False)  # more work came: not taken while loading
    assert not beat.gained and a.held == set(FOLLOWERS[:3])
    await b.join()
    beat = await a.beat(FOLLOWERS, take=False)  # b's joined: share 4 of 7, a holds 3 — nothing to give
    assert not beat.changed
    await b.beat(FOLLOWERS)
    rest = [f for f in FOLLOWERS if f != FOLLOWERS[2]]
    await a.beat(rest, take=False)  # its third follower is no longer wanted: given back all the same
    assert a.held == set(FOLLOWERS[:2])
