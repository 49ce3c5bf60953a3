"""A copy worker that decided a change for a follower whose lease it has just lost records nothing for
that follower (issue #15; found by `bench.scale` with 4 workers, where one source's followers were never
copied): a decision recorded without its order told the ledger the change was mirrored for it, so the
new owner's recovery, which copies what the ledger says was never mirrored, sent nothing either."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.hyperliquid.venue import HyperliquidVenue
from bot.ledger import CopyInstruction, Ledger, OrderIntent
from bot.ledger.lease import Holder
from bot.ledger.ownership import TTL_S, Fence, LeaseKind, Ownership
from bot.ledger.repository import leader_event_row
from bot.pipeline.oms import OrderManager
from tests.ledger.conftest import _pg_database, _sqlite_template, db_url, ledger
from tests.pipeline.test_hotpath_ledger import CHANGE, FOLLOWERS, VENUE, count, decision

__all__ = ["_pg_database", "_sqlite_template", "db_url", "ledger"]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Leases:
    """A worker's follower leases, as bot/cluster/worker.py hands them to the order manager."""

    def __init__(self, ownership: Ownership) -> None:
        self.ownership = ownership

    def epochs(self) -> Fence:
        return self.ownership.fence

    async def refresh(self) -> None:
        await self.ownership.renew()


async def test_a_follower_whose_lease_was_lost_gets_nothing_recorded(ledger: Ledger) -> None:
    clock = Clock()
    mine = Ownership(ledger.engine, LeaseKind.FOLLOWER, holder=Holder(pid=1, host="c1"), clock=clock)
    other = Ownership(ledger.engine, LeaseKind.FOLLOWER, holder=Holder(pid=2, host="c2"), clock=clock)
    await mine.acquire(FOLLOWERS)
    clock.now += timedelta(seconds=TTL_S * 2)  # c1's heartbeat came late...
    assert await other.acquire(FOLLOWERS[2:]) == {FOLLOWERS[2]: 2}  # ...after c2 took one of its followers
    await mine.renew()  # c1 learns it
    oms = OrderManager(HyperliquidVenue("http://127.0.0.1:9", data_dir=None), ledger, venue_name=VENUE)
    oms.fence = Leases(mine)

    drafts = [decision(f, "0.05") for f in FOLLOWERS]
    stored, recorded = await oms.record(drafts, leader_event_row(CHANGE, venue=VENUE))
    await oms.venue.close()

    assert stored is not None
    assert [r is not None and r.intent_created for r in recorded] == [True, True, False]
    assert recorded[2] is None
    # Nothing for the lost follower: its new owner finds the change unmirrored and copies it.
    assert await count(ledger, CopyInstruction) == 2 and await count(ledger, OrderIntent) == 2
    latest = {d.row.follower for d in await ledger.latest_decisions(FOLLOWERS)}
    assert latest == set(FOLLOWERS[:2])
