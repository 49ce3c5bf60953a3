"""After an order (issue #7): the position moves by the answer's filled size with no account read, and
the fills reach the ledger in one batched read per follower — every level of a partly filled IOC with
its trade id, fee and lineage to the intent; fills that never show up are alerted."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import replace
from decimal import Decimal

import httpx
import pytest
from sqlmodel import col, select

from bot.alerts import AlertKind
from bot.domain import SourceFill
from bot.ledger import Fill, PositionSnapshot, SnapshotOrigin
from bot.ledger.db import session_factory
from bot.pipeline.fills import FillReader, FillReaderOptions
from bot.pipeline.oms import RetryPolicy
from bot.pipeline.runner import Runner
from tests.e2e.support import QUIET, World
from tests.waiting import wait_until

ETH = "ETH"
# The fill reader reads only when the test flushes it (or the runner stops): the test decides when.
HELD = replace(QUIET, fills=FillReaderOptions(gather_s=3600, min_interval_s=3600))


class InfoCounter:
    """Counts the /info requests the bot's own HTTP client sends about one user, by request type."""

    def __init__(self, user: str) -> None:
        self.user = user.lower()
        self.seen: Counter[str] = Counter()

    async def __call__(self, request: httpx.Request) -> None:
        if request.url.path.endswith("/info"):
            body = json.loads(request.content or b"{}")
            if str(body.get("user", "")).lower() == self.user:
                self.seen[str(body["type"])] += 1


def fill_reader(runner: Runner) -> FillReader:
    assert runner.copier is not None
    return runner.copier.settler.fills


async def fills_of(world: World, follower: str) -> list[Fill]:
    assert world.ledger is not None
    query = select(Fill).where(Fill.account == follower).order_by(col(Fill.time), col(Fill.id))
    async with session_factory(world.ledger.engine)() as session:
        return list((await session.exec(query)).all())


async def snapshots_of(world: World, follower: str, origin: SnapshotOrigin) -> list[PositionSnapshot]:
    assert world.ledger is not None
    query = (
        select(PositionSnapshot)
        .where(PositionSnapshot.account == follower, PositionSnapshot.origin == origin.value)
        .order_by(col(PositionSnapshot.id))
    )
    async with session_factory(world.ledger.engine)() as session:
        return list((await session.exec(query)).all())


async def test_orders_cost_no_account_read_and_one_fills_read_for_all(world: World) -> None:
    """Four orders of one follower: no account read and no fills read while they are sent (before
    issue #7 each cost a `userFillsByTime` and a `clearinghouseState`); the engine's position follows
    the answers exactly; then one read brings every fill of the four orders into the ledger."""
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")  # ρ = 0.01
    await world.follow(follower, leader.address)
    runner = await world.start_runner(HELD)
    assert runner.copier is not None
    desk = runner.copier.desks[follower]
    reader = fill_reader(runner)
    counter = InfoCounter(follower)
    runner.venue._http.event_hooks["request"].append(counter)  # type: ignore[attr-defined]

    for step in range(1, 5):
        await world.leader_to(leader, ETH, str(10 * step))
        expected = Decimal("0.1") * step

        async def engine_position(expected: Decimal = expected) -> bool:
            return desk.engine.position(ETH) == expected and runner.copier is not None and runner.copier.idle

        await wait_until(engine_position, f"the engine at {expected} after order {step}")
        assert await world.position(follower, ETH) == expected  # the venue agrees with the derivation

    assert counter.seen["clearinghouseState"] == 0 and counter.seen["userFillsByTime"] == 0, counter.seen
    assert reader.pending == 4 and await fills_of(world, follower) == []
    derived = await snapshots_of(world, follower, SnapshotOrigin.DERIVED)
    assert [s.size for s in derived] == [Decimal("0.1") * n for n in range(1, 5)]

    await reader.flush()
    assert counter.seen["userFillsByTime"] == 1 and counter.seen["clearinghouseState"] == 0, counter.seen
    assert reader.pending == 0
    fills = await fills_of(world, follower)
    assert sum(f.size for f in fills) == Decimal("0.4") and len({f.oid for f in fills}) == 4
    assert world.ledger is not None
    for fill in fills:  # each matched to its own order by oid, recorded with that intent's cloid
        (chain,) = await world.ledger.lineage(f"tid:{fill.trade_id}")
        assert chain.order is not None and chain.order.oid == fill.oid
        assert chain.intent is not None and chain.intent.cloid == fill.cloid
    assert [s.size for s in await snapshots_of(world, follower, SnapshotOrigin.FILL)] == [
        Decimal("0.1") * n for n in range(1, 5)
    ]


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
async def test_every_level_of_a_partly_filled_ioc_is_in_the_ledger_with_lineage(world: World) -> None:
    """The follower's IOC fills half (a venue fault) across two levels: a user's resting ask below the
    book, then the book. Both fills are recorded once each — trade id, exact price, size, fee — and
    lead back to the intent, the decision and the source change; the position they leave is the
    venue's, and the engine had it from the answer already."""
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("10000")  # ρ = 0.1
    await world.follow(follower, leader.address)
    maker = world.sdk(await world.wallet("10000"))
    taker = world.sdk(await world.wallet("100000"))
    runner = await world.start_runner(replace(HELD, policy=RetryPolicy(ioc_retries=0)))
    assert runner.copier is not None
    reader = fill_reader(runner)

    # The leader rests a bid the taker hits (the leader's change comes from a maker fill, so the ask
    # side is untouched for the follower); a user's ask rests below the book's first level.
    ask = await asyncio.to_thread(maker.order, ETH, False, 0.01, 3000.1, {"limit": {"tif": "Gtc"}})
    assert "resting" in str(ask), ask
    bid = await asyncio.to_thread(leader.sdk.order, ETH, True, 1, 2999.9, {"limit": {"tif": "Gtc"}})
    assert "resting" in str(bid), bid
    await world.control({"type": "fault", "partialFillRatio": "0.5"})
    hit = await asyncio.to_thread(taker.order, ETH, False, 1, 2999.9, {"limit": {"tif": "Ioc"}})
    assert "filled" in str(hit), hit
    assert await world.position(leader.address, ETH) == Decimal("0.5")  # the fault halved it

    # τ = 0.1 × 0.5 = 0.05: the IOC of 0.05 fills 0.025 — 0.01 from the user's ask, 0.015 from the book.
    await world.follower_at(follower, ETH, "0.025")
    await wait_until(lambda: alerts_of(world, AlertKind.OUT_OF_SYNC), "the unfilled rest", equals=1)
    assert runner.copier.desks[follower].engine.position(ETH) == Decimal("0.025")
    await reader.flush()

    fills = await fills_of(world, follower)
    assert [(f.size, f.price) for f in fills] == [
        (Decimal("0.01"), Decimal("3000.1")),
        (Decimal("0.015"), Decimal("3000.2")),
    ]
    assert len({f.trade_id for f in fills}) == 2 and all(f.fee > 0 for f in fills)
    assert len({f.oid for f in fills}) == 1 and len({f.cloid for f in fills}) == 1
    assert world.ledger is not None
    for fill in fills:
        (chain,) = await world.ledger.lineage(f"tid:{fill.trade_id}")
        assert chain.intent is not None and chain.intent.cloid == fill.cloid
        assert chain.intent.size == Decimal("0.05")
        assert chain.instruction is not None and chain.instruction.cloid == fill.cloid
        assert chain.leader_event is not None and chain.leader_event.source == leader.address
        assert chain.order is not None and chain.order.oid == fill.oid
        assert [f.trade_id for f in chain.fills] == [f.trade_id for f in fills]
        assert [s.size for s in chain.snapshots] == [Decimal("0.025")]

    # Read again as a restart does (`unrecorded_fill_orders` → `record_missing_fills`, which knows only
    # the intent's size, 0.05): nothing is recorded twice, and the half fill is no missing fill.
    intent = await world.ledger.get_intent(fills[0].cloid or "")
    assert intent is not None
    await runner.copier.recovery.record_missing_fills([(intent, fills[0].oid or 0)])
    assert [f.id for f in await fills_of(world, follower)] == [f.id for f in fills]
    assert len(await snapshots_of(world, follower, SnapshotOrigin.FILL)) == 1
    assert reader.pending == 0 and not world.alerts.of_kind(AlertKind.FAILURE)


async def test_an_account_read_between_send_and_answer_does_not_count_the_order_twice(world: World) -> None:
    """The venue executes the order at once but its answer is late (a latency fault); an accounts
    refresh meanwhile already sees the filled position. The answer then moves the position from where
    the order was decided (0), not from what that read left (0.1): 0.1, never 0.2."""
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address)
    runner = await world.start_runner()
    copier = runner.copier
    assert copier is not None
    await world.control({"type": "fault", "latencyMs": 1000, "scope": "exchange"})
    trade = asyncio.ensure_future(world.leader_to(leader, ETH, "10"))  # its answer is late too
    await world.follower_at(follower, ETH, "0.1")  # executed; the bot's answer is still on its way
    assert copier.oms.sends == 1 and not copier.idle
    await copier.refresh_accounts()
    assert copier.desks[follower].engine.position(ETH) == Decimal("0.1")  # the read saw the fill
    await trade

    async def idle() -> bool:
        return copier.idle

    await wait_until(idle, "the answer settled")
    assert copier.desks[follower].engine.position(ETH) == Decimal("0.1")
    assert [s.size for s in await snapshots_of(world, follower, SnapshotOrigin.DERIVED)] == [Decimal("0.1")]


async def test_a_graceful_stop_records_the_fills_still_awaited(world: World) -> None:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address)
    runner = await world.start_runner(HELD)
    reader = fill_reader(runner)
    await world.leader_to(leader, ETH, "10")
    await world.follower_at(follower, ETH, "0.1")
    await wait_until(lambda: alerts_of(world, AlertKind.COPIED), "the order answered", equals=1)
    assert reader.pending == 1

    await runner.stop()
    assert reader.pending == 0
    assert sum(f.size for f in await fills_of(world, follower)) == Decimal("0.1")


async def test_fills_that_never_show_up_are_alerted(world: World) -> None:
    """An order answered as filled whose oid never appears in the follower's fills: after the window,
    one `fills_missing` alert naming the order, and it is no longer awaited."""
    follower = await world.master_follower("1000")
    assert world.ledger is not None
    venue = world.venue()
    try:
        options = FillReaderOptions(gather_s=0, min_interval_s=0.02, window_s=0.2)
        reader = FillReader(venue, world.ledger, "hyperliquid", world.alerts, options)
        reader.expect(follower, ETH, 987654321, "0x" + "ab" * 16, Decimal("0.1"), 0)
        await asyncio.wait_for(reader.wait_idle(), 20)
        await reader.close()
    finally:
        await venue.close()
    (alert,) = world.alerts.of_kind(AlertKind.FAILURE)
    assert alert.reason == "fills_missing" and alert.follower == follower and alert.coin == ETH
    assert alert.details["oid"] == 987654321 and "987654321" in alert.message
    assert reader.reads >= 2 and reader.pending == 0


async def alerts_of(world: World, kind: AlertKind) -> int:
    return len(world.alerts.of_kind(kind))


async def test_fill_reads_of_many_followers_are_bounded_in_flight(world: World) -> None:
    """1,000 followers answered together must not open 1,000 reads at once: at most
    `max_concurrent_reads` are in flight, and every follower is still read."""
    assert world.ledger is not None
    venue = world.venue()
    in_flight, peak, asked = 0, 0, []
    real_read = venue.fills_since

    async def counted(address: str, start_ms: int) -> list[SourceFill]:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            asked.append(address)
            return await real_read(address, start_ms)  # the real read, on the localnet
        finally:
            in_flight -= 1

    venue.fills_since = counted  # type: ignore[method-assign]
    followers = [f"0x{n:040x}" for n in range(1, 9)]
    try:
        options = FillReaderOptions(gather_s=0, min_interval_s=60, window_s=60, max_concurrent_reads=3)
        reader = FillReader(venue, world.ledger, "hyperliquid", world.alerts, options)
        for n, follower in enumerate(followers):
            reader.expect(follower, ETH, 1_000 + n, None, Decimal("0.1"), 0)
        await reader.flush()
        assert sorted(set(asked)) == followers  # every follower read …
        assert 1 < peak <= 3  # … concurrently, but never more than the bound at once
        assert reader.pending == len(followers)  # no fills yet: still awaited, nothing alerted
        await reader.close()
    finally:
        await venue.close()
    with pytest.raises(ValueError, match="max_concurrent_reads"):
        FillReaderOptions(max_concurrent_reads=0)
