"""Loading followers costs the ledger a bounded number of reads and never holds the event loop (issue #15:
a copy worker gaining 1,000 followers took 79–81 s, ~3 ledger queries for each pair's latest decision,
and its loop stalled long enough for its heartbeats to come a lease late). Counted, not timed: the
statements on the decisions' and plans' tables while a runner recovers N followers, and a ticker task's
turns between one follower's (or source's) part of the load and the next's. The real runner against the
localnet; the ledger's engine and the engines' calls are observed, not replaced."""

from __future__ import annotations

import asyncio
import functools
import itertools
import re
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event

from adapters.hyperliquid.venue import HyperliquidVenue
from bench.distributed import fund, new_key, register
from bot.alerts import AlertKind
from bot.pipeline import account_sync
from bot.pipeline.plans import APPLY_CONCURRENCY
from bot.pipeline.runner import Runner
from strategies.engine import Follower
from strategies.model import PairState
from tests.e2e.support import PASSWORD, World

RECOVERY_TABLES = ("copy_instruction", "follow_plan")


async def followers_with_history(
    world: World, count: int, sources: int = 1
) -> dict[str, dict[str, PairState]]:
    """`count` followers (registered through the service layer, as `mirrorbot account add` / `follow
    add` do; follower i follows leader i mod `sources`) of leaders holding ETH and BTC, loaded once by a
    runner so each has its pairs decided, and the runner stopped: the next one recovers them from the
    ledger. Each follower's pairs as it left them."""
    assert world.ledger is not None
    await world.set_mids(ETH="3000", BTC="60000")
    leaders = [await world.leader("1000000") for _ in range(sources)]
    for leader in leaders:
        await world.leader_to(leader, "ETH", "1")
        await world.leader_to(leader, "BTC", "0.1")
    keys = [new_key() for _ in range(count)]
    followed = [leaders[i % sources].address for i in range(count)]
    added = await register(world.ledger, world.tmp, keys, followed, password=PASSWORD)
    await fund(world.http, world.url, added, Decimal(10_000))
    first = await world.start_runner()
    assert first.copier is not None and len(first.copier.desks) == count
    pairs = {a: dict(d.engine.pairs) for a, d in first.copier.desks.items()}
    assert set(pairs) == set(added)
    assert all({"ETH", "BTC"} <= set(p) for p in pairs.values())  # ETH and BTC copied, the others flat
    await first.stop()
    world.runner = None
    return pairs


def recovery_statements(world: World) -> tuple[Counter[str], Callable[[], None]]:
    """Every statement touching the decisions' or plans' table, counted by table, from now on."""
    assert world.ledger is not None
    seen: Counter[str] = Counter()

    def observe(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        for table in RECOVERY_TABLES:
            if re.search(rf"\b{table}\b", statement):
                seen[table] += 1

    engines = world.ledger.sync_engines
    for engine in engines:
        event.listen(engine, "before_cursor_execute", observe)

    def stop() -> None:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", observe)

    return seen, stop


@pytest.mark.parametrize("followers", [2, 6])
async def test_recovering_followers_reads_the_ledger_a_bounded_number_of_times(
    world: World, followers: int
) -> None:
    pairs = await followers_with_history(world, followers)
    seen, stop = recovery_statements(world)
    try:
        runner = await world.start_runner()
    finally:
        stop()
    assert runner.copier is not None
    desks = runner.copier.desks
    assert {a: d.engine.pairs for a, d in desks.items()} == pairs  # each pair restored as it was
    # The same reads for 2 and 6 followers (their pairs: 2 × and 6 × every market), whatever the pairs:
    # on the decisions, one for every pair's latest decision with the source size it mirrored, one for
    # the protective triggers last seen resting; on the plans, the current plans (at start and in the
    # plan sync) and the versions the decisions name. It was three reads per pair and one per follow.
    assert dict(seen) == {"copy_instruction": 2, "follow_plan": 3}, seen


async def test_the_event_loop_turns_between_followers_while_many_load(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ticker task beside the runner's start-up counts its turns; the engines note the count at each
    pair restored, each follower's account read and each source's state observed. The ticker ran
    between every follower (and every source) and the next: heartbeats and bus reads keep going."""
    count = 20  # enough followers for every one of them to need a turn before the next
    await followers_with_history(world, count, sources=3)
    ticks = [0]
    noted: dict[str, list[tuple[object, int]]] = {}  # method → (whose call, ticks then), in call order

    def noting(name: str, whose: Callable[[Follower, tuple[Any, ...]], object]) -> None:
        method = getattr(Follower, name)

        @functools.wraps(method)
        def call(self: Follower, *args: Any, **kwargs: Any) -> Any:
            noted.setdefault(name, []).append((whose(self, args), ticks[0]))
            return method(self, *args, **kwargs)

        monkeypatch.setattr(Follower, name, call)

    noting("restore_pair", lambda engine, _: id(engine))  # recovery: a follower's pairs
    noting("set_equity", lambda engine, _: id(engine))  # a follower's account read, observed
    noting("observe_source", lambda _, args: args[0])  # a source's state, into every engine

    async def ticker() -> None:
        while True:
            await asyncio.sleep(0)
            ticks[0] += 1

    task = asyncio.create_task(ticker())
    try:
        runner: Runner = await world.start_runner()
    finally:
        task.cancel()
    assert runner.copier is not None and len(runner.copier.desks) == count
    held: dict[str, str] = {}  # method → how often the loop was held from one call's owner to the next
    for name, calls in noted.items():
        runs = [list(run) for _, run in itertools.groupby(calls, key=lambda call: call[0])]
        assert len(runs) >= (3 if name == "observe_source" else count), (name, len(runs))
        gaps = [b[0][1] - a[-1][1] for a, b in itertools.pairwise(runs)]
        if 0 in gaps:
            held[name] = f"no turn between {gaps.count(0)} of {len(gaps)}"
    assert held == {}


async def followers_never_loaded(world: World, count: int) -> list[str]:
    """`count` followers registered (as `followers_with_history`) of one leader holding ETH and BTC, that
    no runner has loaded yet: the next start applies each one's plan for the first time (Copy Current
    joins the leader's positions). Their addresses, sorted."""
    assert world.ledger is not None
    await world.set_mids(ETH="3000", BTC="60000")
    leader = await world.leader("1000000")
    await world.leader_to(leader, "ETH", "1")
    await world.leader_to(leader, "BTC", "0.1")
    added = await register(
        world.ledger,
        world.tmp,
        [new_key() for _ in range(count)],
        [leader.address] * count,
        password=PASSWORD,
        copy_current=True,
    )
    await fund(world.http, world.url, added, Decimal(10_000))
    return sorted(added)


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
async def test_a_first_start_applies_many_followers_plans_at_once_one_transaction_each(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue #15: a start-up's first plan apply went one follower after the other, one decision
    transaction per coin. The ledger's decision writes are observed (each call goes through): every
    follower's follow is recorded in ONE transaction, several followers' are under way at once (never
    more than APPLY_CONCURRENCY), and what is decided and told is what it was: every coin of every
    follower decided under its follow's event id, ETH and BTC copied, "copying started" in plan order."""
    count = APPLY_CONCURRENCY + 2  # more than run at once: the bound is reached and holds
    followers = await followers_never_loaded(world, count)
    assert world.ledger is not None
    record = world.ledger.record_decisions
    follows: Counter[str] = Counter()  # follower → decision transactions recording its follow
    decided: Counter[tuple[str, str]] = Counter()  # (follower, event id) → decisions recorded
    writing: Counter[str] = Counter()  # follower → its decision writes under way now
    most = [0]  # the most followers with a decision write under way at once

    async def observed(drafts: Any, **kwargs: Any) -> Any:
        mine = {d.instruction["follower"] for d in drafts}
        for draft in drafts:
            decided[draft.instruction["follower"], draft.instruction["source_event_id"]] += 1
        follows.update(
            {f for f in mine for d in drafts if d.instruction["source_event_id"].startswith("follow:")}
        )
        writing.update(mine)
        most[0] = max(most[0], len(+writing))
        try:
            return await record(drafts, **kwargs)
        finally:
            writing.subtract(mine)

    monkeypatch.setattr(world.ledger, "record_decisions", observed)
    runner = await world.start_runner()
    assert runner.copier is not None and sorted(runner.copier.desks) == followers
    markets = len(runner.copier.markets)
    assert follows == dict.fromkeys(followers, 1), follows  # was one transaction per coin
    assert 1 < most[0] <= APPLY_CONCURRENCY, most[0]  # was 1: one follower after the other
    event_ids = {event for (_, event) in decided}
    assert len(event_ids) == 1 and next(iter(event_ids)).startswith("follow:")
    assert decided == {(f, *event_ids): markets for f in followers}  # every coin decided once
    for address, desk in runner.copier.desks.items():
        assert {"ETH", "BTC"} <= set(desk.engine.pairs), address  # the leader's positions joined
        assert desk.engine.position("ETH") > 0 and desk.engine.position("BTC") > 0, address
    started = [a.follower for a in world.alerts.of_kind(AlertKind.FOLLOWING) if a.reason == "copying_started"]
    assert started == followers  # in plan order, as one after the other told them


def account_reads(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every account read of the venue from now on (each goes through), by address."""
    reads: Counter[str] = Counter()
    read = HyperliquidVenue.account

    async def observed(self: HyperliquidVenue, address: str, *args: Any, **kwargs: Any) -> Any:
        reads[address.lower()] += 1
        return await read(self, address, *args, **kwargs)

    monkeypatch.setattr(HyperliquidVenue, "account", observed)
    return reads


async def test_a_first_start_reads_each_follower_twice_not_three_times(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue #15: a start-up read every account three times — recovery, the plan sync, the first
    reconciliation pass. The plan sync now takes recovery's read of a follower when no order of ours
    moved it since (and of a source when no change of it was mirrored since); the reconciliation pass,
    after the sources' watch starts, reads everything again."""
    followers = await followers_never_loaded(world, 3)
    reads = account_reads(monkeypatch)
    runner = await world.start_runner()
    assert runner.copier is not None and sorted(runner.copier.desks) == followers
    assert {f: reads[f] for f in followers} == dict.fromkeys(followers, 2), reads


async def test_followers_gained_while_running_are_read_once_before_their_first_apply(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A runner (a copy worker) gaining followers recovers them (their accounts read) and applies their
    plans at once: the apply takes recovery's reads. The followers it was running already are read by
    the plan sync as before (their last read is not this load's)."""
    running = await followers_never_loaded(world, 2)
    runner = await world.start_runner()
    assert runner.copier is not None
    gained = await followers_never_loaded(world, 3)
    reads = account_reads(monkeypatch)
    await runner.sync_plans()
    assert sorted(runner.copier.desks) == sorted(running + gained)
    assert {f: reads[f] for f in gained} == dict.fromkeys(gained, 1), reads
    assert {f: reads[f] for f in running} == dict.fromkeys(running, 1), reads


async def test_a_kept_read_is_not_taken_for_what_moved_since_nor_twice_nor_late(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kept read stands only for what nothing moved since it began: a follower an order of ours
    moved (`Desk.bump`, as every send does), a source whose change was mirrored (`source_changed`, as
    the mirror does before its first await), a source a desk loaded since never saw, a read older than
    KEPT_S — each is read again; and the kept read is taken once."""
    followers = await followers_never_loaded(world, 3)
    runner = await world.start_runner()
    assert runner.copier is not None
    copier = runner.copier
    (source,) = copier.sources()
    moved, loaded_late, _ = (copier.desks[f] for f in followers)
    reads = account_reads(monkeypatch)

    async def refreshed(*, keep: bool = False, reuse: bool = False) -> dict[str, int]:
        reads.clear()
        await copier.accounts.refresh(keep=keep, reuse=reuse)
        return {a: reads[a] for a in (source, *followers)}

    everything = dict.fromkeys((source, *followers), 1)
    assert await refreshed(keep=True) == everything
    moved.bump("ETH")
    assert await refreshed(reuse=True) == {**dict.fromkeys(everything, 0), moved.address: 1}
    assert await refreshed(reuse=True) == everything  # taken once: nothing kept now

    await refreshed(keep=True)
    copier.followers.source_changed(source)
    assert await refreshed(reuse=True) == {**dict.fromkeys(everything, 0), source: 1}

    del copier.desks[loaded_late.address]
    await refreshed(keep=True)
    copier.add_desk(loaded_late)  # loaded after the read: it never saw the source's state
    assert await refreshed(reuse=True) == {**dict.fromkeys(everything, 0), source: 1, loaded_late.address: 1}

    await refreshed(keep=True)
    monkeypatch.setattr(account_sync, "KEPT_S", -1.0)  # every kept read is too old
    assert await refreshed(reuse=True) == everything


async def test_followers_applied_at_once_still_release_a_token_before_taking_it(world: World) -> None:
    """Each follower's plans keep their order when followers are applied at once: a token handed from
    one source to another (`follow add --reassign`: the old follow's new version stops covering it and
    closes it) is released before the new follow takes it, or the take would be refused."""
    followers = await followers_never_loaded(world, APPLY_CONCURRENCY + 1)
    runner = await world.start_runner()
    assert runner.copier is not None
    desks = runner.copier.desks
    (first,) = runner.copier.sources()
    assert all(desks[f].engine.position("ETH") > 0 for f in followers)
    second = await world.leader("1000000")
    for follower in followers:
        await world.follow(follower, second.address, tokens="ETH", reassign=True)
    await runner.sync_plans()
    refused = [a for a in world.alerts.recent if a.reason == "held_by_other_source"]
    assert refused == []
    for follower in followers:
        engine = desks[follower].engine
        assert set(engine.follows) == {first, second.address}, follower
        assert engine.pairs["ETH"].source == second.address, follower  # taken by the new follow
        assert engine.pairs["BTC"].source == first, follower
        assert engine.position("ETH") == 0, follower  # closed by the old one first


async def test_a_source_goes_only_into_the_engines_that_follow_it(world: World) -> None:
    """Issue #15: every source's state went into every follower's engine — 1,000 sources × 10,000
    followers, 90 million observations a pass and as many positions kept. Now only into the engines that
    follow it; a follow added while running learns its source as it is applied, and Copy Current joins
    what the source holds."""
    await world.set_mids(ETH="3000")
    first, second = await world.leader("100000"), await world.leader("100000")
    await world.leader_to(first, "ETH", "10")
    one, other = await world.master_follower("1000"), await world.master_follower("1000")
    await world.follow(one, first.address)
    await world.follow(other, second.address)
    runner = await world.start_runner()
    assert runner.copier is not None
    desks = runner.copier.desks

    def known(follower: str) -> set[str]:
        return {source for source, _ in desks[follower].engine.sources}

    assert known(one) == {first.address.lower()} and known(other) == {second.address.lower()}
    await world.follow(other, first.address, copy_current=True)  # while running
    await runner.sync_plans()
    assert known(other) == {first.address.lower(), second.address.lower()}
    await world.follower_at(other, "ETH", "0.1", what="Copy Current joined the source's 10 ETH")


async def test_many_sources_changes_are_mirrored_a_bounded_number_at_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue #15: 1,000 sources trading together were 1,000 fan-outs at once, each wanting a ledger
    connection: the pool (5 + 10) ran dry, and 5,604 copies failed after a 30 s wait. At most
    FAN_OUTS_AT_ONCE are under way; every change is still mirrored."""
    from bot.domain import SourceChange
    from bot.pipeline import mirror
    from bot.pipeline.execute import now_ms

    await world.set_mids(ETH="3000")
    count = mirror.FAN_OUTS_AT_ONCE + 4
    leaders = [await world.leader("100000") for _ in range(count)]
    followers = [await world.master_follower("1000") for _ in range(count)]
    for leader, follower in zip(leaders, followers, strict=True):
        await world.follow(follower, leader.address)
    runner = await world.start_runner()
    assert runner.copier is not None
    under_way, most = [0], [0]
    fan_out = mirror.Mirror._fan_out

    async def counted(self: mirror.Mirror, *args: Any) -> None:
        under_way[0] += 1
        most[0] = max(most[0], under_way[0])
        try:
            await asyncio.sleep(0.01)  # as a ledger round trip would: the others get their turn
            await fan_out(self, *args)
        finally:
            under_way[0] -= 1

    monkeypatch.setattr(mirror.Mirror, "_fan_out", counted)
    for leader in leaders:  # the venue moves first, as the watch would see it
        await world.leader_to(leader, "ETH", "10")
    at = now_ms()
    changes = [
        SourceChange(leader.address.lower(), "ETH", Decimal(0), Decimal(10), at, f"fill:ETH:{i}:{at}")
        for i, leader in enumerate(leaders)
    ]
    await runner.copier.on_changes(changes, {})
    assert 1 < most[0] <= mirror.FAN_OUTS_AT_ONCE, most[0]
    for follower in followers:
        await world.follower_at(follower, "ETH", "0.1")
