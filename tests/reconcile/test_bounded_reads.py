"""The reconciliation pass reads accounts through the copier's bounded reader (issue #13): an uncapped
read of every follower at start-up already failed at 1,000 followers."""

from __future__ import annotations

from bot.domain import AccountState
from tests.e2e.support import World
from tests.reconcile.test_pass import reconcile


async def test_the_pass_never_has_more_reads_in_flight_than_the_bound(world: World) -> None:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    followers = [await world.master_follower("1000") for _ in range(2)]
    for follower in followers:
        await world.follow(follower, leader.address)
    runner = await world.start_runner()
    copier = runner.copier
    assert copier is not None
    venue = copier.venue
    assert copier.source_venue(leader.address) is venue  # one venue: every read below is counted
    in_flight, peak, asked = 0, 0, []
    real_read = venue.account

    async def counted(address: str) -> AccountState:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            asked.append(address.lower())
            result: AccountState = await real_read(address)  # the real read, on the localnet
            return result
        finally:
            in_flight -= 1

    venue.account = counted  # type: ignore[method-assign]
    copier.reader.limit = 2
    report = await reconcile(world)
    assert sorted(asked) == sorted([leader.address.lower(), *(f.lower() for f in followers)])
    assert peak == 2  # concurrent, but never more than the bound (three reads were asked at once)
    assert report.unknown_reads == []
