"""SPEC §11 on the localnet through the real runner: an injected outlier mid (the `outlierMids` fault:
`allMids` moves, the venue's mark price does not) holds the copy of a source change — recorded with
reason `price_outlier`, nothing sent — and the price confirming (the fault cleared) releases it."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from decimal import Decimal

from sqlmodel import col, select

from bot.ledger import CopyInstruction
from bot.ledger.db import session_factory
from bot.pipeline.followers import Followers
from bot.pipeline.runner import Runner
from strategies.model import Market
from tests.e2e.support import QUIET, World
from tests.waiting import wait_until


async def decisions(world: World, follower: str) -> list[CopyInstruction]:
    assert world.ledger is not None
    query = (
        select(CopyInstruction)
        .where(CopyInstruction.follower == follower)
        .order_by(col(CopyInstruction.created_at))
    )
    async with session_factory(world.ledger.engine)() as session:
        return list((await session.exec(query)).all())


async def order_cloids(world: World) -> Counter[str]:
    return Counter(c for r in await world.stats() if r["action"] == "order" for c in r["cloids"] or [])


async def runner_mid(runner: Runner, coin: str) -> Decimal | None:
    assert runner.copier is not None
    return (await runner.copier.followers.mids()).get(coin)


async def test_an_outlier_mid_holds_the_copy_and_the_confirmed_price_releases_it(world: World) -> None:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address)
    runner = await world.start_runner(replace(QUIET, price_recheck_s=0.2))
    assert runner.copier is not None
    await world.leader_to(leader, "ETH", "10")
    await world.follower_at(follower, "ETH", "0.1")
    sent_before = sum((await order_cloids(world)).values())

    answer = await world.control({"type": "fault", "outlierMids": {"ETH": "3300"}})
    assert answer["faults"]["outlierMids"] == {"ETH": "3300"}
    await wait_until(lambda: runner_mid(runner, "ETH"), "the outlier in the bot's mids", equals=Decimal(3300))
    await world.leader_to(leader, "ETH", "15")  # an increase, priced from the outlier: held

    async def held() -> list[str]:
        return [d.reason or "" for d in await decisions(world, follower) if d.reason == "price_outlier"]

    await wait_until(held, "the held decision", equals=["price_outlier"])
    await world.settle()
    prices = runner.copier.followers.prices
    assert (follower, "ETH") in prices.held
    assert sum((await order_cloids(world)).values()) == sent_before  # nothing sent from 3300
    assert await world.position(follower, "ETH") == Decimal("0.1")
    [held_row] = [d for d in await decisions(world, follower) if d.reason == "price_outlier"]
    assert held_row.target_after == Decimal("0.15")  # the target moved; only the order waits

    await world.control({"type": "fault", "outlierMids": {}})  # the feed agrees with the mark again
    await world.follower_at(follower, "ETH", "0.15", what="the released increase")
    await world.settle()
    assert (follower, "ETH") not in prices.held
    rows = await decisions(world, follower)
    [release] = [d for d in rows if d.event_kind == "release"]
    assert release.source_event_id == held_row.source_event_id
    assert release.revision == held_row.revision + 1
    assert release.reason is None
    cloids = await order_cloids(world)
    assert release.cloid in cloids and all(n == 1 for n in cloids.values())


async def test_the_outlier_fault_moves_all_mids_not_the_mark_and_refuses_unknown_coins(world: World) -> None:
    await world.set_mids(ETH="3000")
    await world.control({"type": "fault", "outlierMids": {"ETH": "3300"}})
    mids = (await world.http.post(f"{world.url}/info", json={"type": "allMids"})).json()
    meta, ctxs = (await world.http.post(f"{world.url}/info", json={"type": "metaAndAssetCtxs"})).json()
    eth = next(c for u, c in zip(meta["universe"], ctxs, strict=True) if u["name"] == "ETH")
    assert Decimal(mids["ETH"]) == 3300 and Decimal(eth["markPx"]) == Decimal(eth["oraclePx"]) == 3000
    venue = world.venue()
    try:
        assert (await venue.reference_prices())["ETH"] == 3000
    finally:
        await venue.close()
    bad = {"type": "fault", "outlierMids": {"XYZ": "1"}}
    refused = await world.http.post(f"{world.url}/_localnet", json=bad)
    assert refused.status_code == 400 and "outlierMids: unknown coin" in refused.text
    assert (await world.control({"type": "fault", "clear": True}))["faults"]["outlierMids"] == {}
    mids = (await world.http.post(f"{world.url}/info", json={"type": "allMids"})).json()
    assert Decimal(mids["ETH"]) == 3000


async def test_the_hot_path_reads_the_reference_only_when_it_is_stale_or_contradicts_a_mid(
    world: World,
) -> None:
    """A copy after a quiet second does not wait for a `metaAndAssetCtxs` read (the `price_release` job
    keeps the reference fresh); only a mid the cached reference contradicts costs one, before any hold."""
    await world.set_mids(ETH="3000")
    venue = world.venue()
    try:
        followers = Followers(venue, {"ETH": Market("ETH", 4)})
        await venue.mids()  # the venue's dexes listed once (a read of each dex's mids is what a mids costs)
        before = venue.requests_made()
        await venue.mids()
        mids = venue.requests_made() - before
        before = venue.requests_made()
        await followers.mids()  # no reference yet: read beside the mids
        assert venue.requests_made() - before == mids + 1 and followers.prices.reference("ETH") == 3000
        followers.prices.refs_ms = (followers.prices.refs_ms or 0) - 5_000  # 5 s old: stale for the job
        before = venue.requests_made()
        for _ in range(3):
            await followers.mids()
        assert venue.requests_made() - before == 3 * mids  # the mids alone
        await world.control({"type": "fault", "outlierMids": {"ETH": "3300"}})
        before = venue.requests_made()
        assert (await followers.mids())["ETH"] == 3300
        assert venue.requests_made() - before == mids + 1  # contradicted: the venue is asked at once
        assert followers.prices.reference("ETH") == 3000  # and it still says 3000: an outlier
        before = venue.requests_made()
        for _ in range(3):
            await followers.mids()
        assert venue.requests_made() - before == 3 * mids  # a contradiction already asked about: not again
        await world.control({"type": "fault", "clear": True})
        await world.set_mids(ETH="2500")  # a market move the cached reference has not seen
        before = venue.requests_made()
        assert (await followers.mids())["ETH"] == 2500
        assert venue.requests_made() - before == mids + 1 and followers.prices.reference("ETH") == 2500
    finally:
        await venue.close()


async def test_the_reference_job_stays_within_the_weight_budget(world: World) -> None:
    """The `price_release` job runs every second; a reference read (`metaAndAssetCtxs`) weighs 20 of the
    IP's 1,200 a minute, so one read a second would starve every other request (it did: Telegram's live
    test waited on the budget). With nothing held it re-reads every 15 s; with a hold, every 5 s."""
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address)
    runner = await world.start_runner(replace(QUIET, price_recheck_s=3600))  # the test runs the job
    assert runner.copier is not None
    prices = runner.copier.followers.prices
    now = [prices.clock()]
    prices.clock = lambda: now[0]
    reads = 0
    for _ in range(60):  # a minute of the job, a second apart
        now[0] += 1_000
        before = runner.venue.requests_made()
        await runner.release_held()
        reads += runner.venue.requests_made() - before
    assert reads <= 5  # 60 s / 15 s, not 60
