"""Ownership leases of the distributed roles and the fencing rule (bot/ledger/ownership.py, issue #15),
on SQLite and PostgreSQL: one live holder per key, taken over with a higher epoch once expired, the old
holder told it lost it; and a stale owner's write of intents refused by the ledger, writing nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text, update

from bot.domain import Side
from bot.ledger import CopyInstruction, LeaderEvent, Ledger, OrderIntent
from bot.ledger.lease import Holder
from bot.ledger.models import OwnershipLease
from bot.ledger.ownership import TTL_S, Fenced, LeaseKind, Ownership, leases
from bot.ledger.repository import leader_event_row
from tests.ledger.conftest import _pg_database, _sqlite_template, db_url, ledger
from tests.pipeline.test_hotpath_ledger import CHANGE, FOLLOWERS, VENUE, count, decision
from tests.waiting import wait_until

__all__ = ["_pg_database", "_sqlite_template", "db_url", "ledger"]

T0 = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def worker(ledger: Ledger, clock: Clock, name: str) -> Ownership:
    return Ownership(ledger.engine, LeaseKind.FOLLOWER, holder=Holder(pid=1, host=name), clock=clock)


async def test_one_live_holder_then_taken_over_with_a_higher_epoch(ledger: Ledger) -> None:
    clock = Clock()
    a, b = worker(ledger, clock, "a"), worker(ledger, clock, "b")
    assert await a.acquire(FOLLOWERS[:2]) == {FOLLOWERS[0]: 1, FOLLOWERS[1]: 1}
    assert await b.acquire(FOLLOWERS) == {FOLLOWERS[2]: 1}  # a's two are live: skipped
    clock.now += timedelta(seconds=TTL_S / 2)
    assert await a.renew() == set()  # a's heartbeat: its leases run on
    clock.now += timedelta(seconds=TTL_S * 0.9)
    assert await b.acquire(FOLLOWERS[:1]) == {}  # still within a's renewed expiry
    clock.now += timedelta(seconds=TTL_S)  # a silent past its expiry (paused, partitioned)
    assert await b.acquire(FOLLOWERS[:1]) == {FOLLOWERS[0]: 2}  # taken, the epoch raised
    assert await a.renew() == {FOLLOWERS[0]}  # a learns it lost it; keeps the other (expired, untaken)
    assert a.held == {FOLLOWERS[1]: 1}
    rows = {(r.name, r.host, r.epoch) for r in await leases(ledger.engine, LeaseKind.FOLLOWER)}
    assert rows == {(FOLLOWERS[0], "b", 2), (FOLLOWERS[1], "a", 1), (FOLLOWERS[2], "b", 1)}
    await b.release()
    assert await a.acquire(FOLLOWERS) == {f: e for f, e in zip(FOLLOWERS, (3, 1, 2), strict=True)}


async def test_of_two_racing_takers_exactly_one_wins(ledger: Ledger) -> None:
    clock = Clock()
    takers = [worker(ledger, clock, f"w{n}") for n in range(4)]
    won = await asyncio.gather(*(t.acquire(FOLLOWERS) for t in takers))
    for follower in FOLLOWERS:
        assert sum(follower in w for w in won) == 1


async def test_a_stale_owner_cannot_write_an_intent(ledger: Ledger) -> None:
    """The fencing rule: the ledger refuses intents written with an epoch that is no longer the
    follower's, whole batch, nothing written; the new owner writes with its own."""
    clock = Clock()
    old, new = worker(ledger, clock, "old"), worker(ledger, clock, "new")
    await old.acquire(FOLLOWERS)
    stale = old.fence
    clock.now += timedelta(seconds=TTL_S * 2)  # old froze (SIGSTOP) past its lease...
    assert await new.acquire(FOLLOWERS[:1]) == {FOLLOWERS[0]: 2}  # ...and lost one follower

    with pytest.raises(Fenced, match=rf"follower {FOLLOWERS[0]}: lease epoch 1 is stale \(now epoch 2"):
        await ledger.record_decisions(
            [decision(f, "0.05") for f in FOLLOWERS],
            venue=VENUE,
            leader_event=leader_event_row(CHANGE, venue=VENUE),
            fence=stale,
        )
    assert (await count(ledger, LeaderEvent), await count(ledger, CopyInstruction)) == (0, 0)
    assert await count(ledger, OrderIntent) == 0

    # A decision without an order needs no lease: only an intent can lead to a send.
    await ledger.record_decisions([decision("0x" + "f4" * 20, "0", order=False)], venue=VENUE, fence=stale)
    # The owner of each follower writes with its own epoch, upper-case address or not.
    _, done = await ledger.record_decisions(
        [decision(FOLLOWERS[0], "0.05")], venue=VENUE, fence={FOLLOWERS[0].upper(): 2}
    )
    _, rest = await ledger.record_decisions(
        [decision(f, "0.05") for f in FOLLOWERS[1:]], venue=VENUE, fence=stale
    )
    assert all(r.intent_created for r in done + rest)
    assert await count(ledger, OrderIntent) == 3


async def test_an_intent_for_a_follower_without_a_lease_or_epoch_is_refused(ledger: Ledger) -> None:
    clock = Clock()
    owner = worker(ledger, clock, "w")
    with pytest.raises(Fenced, match="has no lease"):
        await ledger.record_decisions([decision(FOLLOWERS[0], "0.05")], venue=VENUE, fence={FOLLOWERS[0]: 1})
    await owner.acquire(FOLLOWERS[:1])
    with pytest.raises(Fenced, match=f"no lease epoch given for follower {FOLLOWERS[1]}"):
        await ledger.record_decisions([decision(FOLLOWERS[1], "0.05")], venue=VENUE, fence=owner.fence)
    await owner.release()
    with pytest.raises(Fenced, match="released"):
        await ledger.record_decisions([decision(FOLLOWERS[0], "0.05")], venue=VENUE, fence={FOLLOWERS[0]: 1})
    assert await count(ledger, OrderIntent) == 0


async def test_record_intent_checks_the_fence_too(ledger: Ledger) -> None:
    clock = Clock()
    old, new = worker(ledger, clock, "old"), worker(ledger, clock, "new")
    await old.acquire(FOLLOWERS[:1])
    _, (recorded,) = await ledger.record_decisions([decision(FOLLOWERS[0], "0.05", order=False)], venue=VENUE)
    clock.now += timedelta(seconds=TTL_S * 2)
    await new.acquire(FOLLOWERS[:1])
    with pytest.raises(Fenced):
        await ledger.record_intent(
            recorded.instruction_id,
            venue=VENUE,
            side=Side.BUY,
            size=Decimal("0.05"),
            limit_px=Decimal(3030),
            fence=old.fence,
        )
    assert await count(ledger, OrderIntent) == 0
    made = await ledger.record_intent(
        recorded.instruction_id,
        venue=VENUE,
        side=Side.BUY,
        size=Decimal("0.05"),
        limit_px=Decimal(3030),
        fence=new.fence,
    )
    assert made.created


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_renewal_ended_by_a_deadlock_is_tried_again(ledger: Ledger) -> None:
    """PostgreSQL ends one of two transactions waiting on each other's lease rows (bench.scale saw a
    worker's renewal deadlock with a fencing update at 1,000 followers). The renewal it ends is tried
    again, not lost: a failed renewal lets every lease of the worker expire."""
    a = worker(ledger, Clock(), "a")
    first, second = sorted(FOLLOWERS[:2])
    await a.acquire([first])
    await a.acquire([second])
    table = OwnershipLease.__table__  # type: ignore[attr-defined]

    def lock(name: str) -> Any:
        return update(table).where(table.c.name == name).values(epoch=table.c.epoch)

    async with ledger.engine.connect() as other:
        await other.begin()
        await other.execute(lock(second))
        renewal = asyncio.create_task(a.renew())

        async def renewal_waits() -> bool:  # it locked `first` and waits for `second`
            async with ledger.engine.connect() as probe:
                waiting = "select count(*) from pg_stat_activity where wait_event_type = 'Lock'"
                return bool((await probe.execute(text(waiting))).scalar())

        await wait_until(renewal_waits, "the renewal waits for the row this transaction holds")
        await other.execute(lock(first))  # the cycle: PostgreSQL ends the renewal, which waited first
        await other.commit()
    assert await renewal == set()
    assert a.held == {first: 1, second: 1}
