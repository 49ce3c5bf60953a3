"""The bus on a real Redis (issue #15): a change goes through exactly; one a consumer was killed before
acknowledging is reclaimed by another and recognised as already recorded; a Redis killed and restarted
loses nothing (append-only file); an unreadable entry goes to the dead letters without stopping a shard."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.bus.codec import BusChange
from bot.bus.streams import Bus, Delivery, GroupLag, shard_of
from bot.cluster.health import bus_check
from bot.domain import SourceChange
from bot.ledger import Ledger
from tests.bus.support import private_redis
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["0x" + f"{i:040x}" for i in range(1, 9)]


def change(source: str, n: int) -> BusChange:
    return BusChange(
        "hyperliquid",
        SourceChange(
            source,
            "ETH",
            Decimal(n) / 10,
            Decimal(n + 1) / 10,
            1765000000000 + n,
            f"fills:ETH:{n}:{n}",
            Decimal("3012.50"),
        ),
    )


async def drain(bus: Bus, group: str, name: str) -> list[Delivery]:
    consumer = bus.consumer(group, name)
    got: list[Delivery] = []
    while batch := await consumer.read(count=50, block_ms=100):
        got += batch
        await consumer.ack(batch)
    return got


async def test_publish_then_consume_is_exact_and_in_order_per_source(bus: Bus) -> None:
    await bus.ensure_group("copy")
    sent = [change(source, n) for n in range(5) for source in SOURCES]
    for item in sent:
        await bus.publish(item)
    got = await drain(bus, "copy", "w1")
    # every one, equal field by field
    assert sorted((d.item for d in got if d.item is not None), key=sent.index) == sent
    for source in SOURCES:  # one shard per source: its changes in the order published
        mine = [d.item.change.event_id for d in got if d.item and d.item.change.source == source]
        assert mine == [c.change.event_id for c in sent if c.change.source == source]
        assert {d.stream for d in got if d.item and d.item.change.source == source} == {
            bus.stream(shard_of(source, bus.shards))
        }
    assert [lag.pending for lag in await bus.lag("copy")] == [0] * bus.shards
    # A second group (another follower partition) sees every change too.
    await bus.ensure_group("copy-p2")
    assert len(await drain(bus, "copy-p2", "w2")) == len(sent)


async def test_a_consumer_killed_before_ack_is_reclaimed_and_recognised(
    bus: Bus, redis_url: str, tmp_path: Path
) -> None:
    ledger_url = f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}"
    await bus.ensure_group("copy")
    sent = [change(SOURCES[0], n) for n in range(3)]
    for item in sent:
        await bus.publish(item)
    child = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tests.bus.dying_consumer", redis_url, bus.prefix, "copy", "w1", ledger_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == -9, child.stderr
    assert child.stdout.split() == [c.change.event_id for c in sent]  # recorded, then killed
    assert sum(lag.pending for lag in await bus.lag("copy")) == 3  # never acknowledged

    ledger = await Ledger.open(ledger_url)
    try:
        taker = bus.consumer("copy", "w2")
        assert await taker.read(count=10, block_ms=50) == []  # not delivered to anyone else...
        reclaimed = await wait_until(
            lambda: taker.reclaim(min_idle_ms=100), "the dead consumer's entries reclaimed"
        )
        assert [d.item for d in reclaimed] == sent  # ...until idle past the bound: then all, in order
        created: list[bool] = []

        async def record(item: BusChange) -> None:
            created.append((await ledger.record_leader_event(item.change, venue=item.venue)).created)

        assert await taker.handle(reclaimed, record) == 3
        assert created == [False, False, False]  # redelivered: recognised by event id, nothing new
        assert sum(lag.pending for lag in await bus.lag("copy")) == 0
    finally:
        await ledger.close()


async def test_a_restarted_consumer_reads_its_own_pending_entries_first(bus: Bus) -> None:
    await bus.ensure_group("copy")
    first = change(SOURCES[1], 1)
    await bus.publish(first)
    assert [d.item for d in await bus.consumer("copy", "w1").read(block_ms=100)] == [first]  # no ack
    await bus.publish(change(SOURCES[1], 2))
    again = bus.consumer("copy", "w1")  # the same worker, restarted
    assert [d.item for d in await again.read(block_ms=100)] == [first]
    assert [d.item.change.event_id for d in await again.read(block_ms=100) if d.item] == ["fills:ETH:2:2"]


async def test_a_handler_error_leaves_the_entry_and_the_rest_pending(bus: Bus) -> None:
    await bus.ensure_group("copy")
    for n in range(3):
        await bus.publish(change(SOURCES[2], n))
    consumer = bus.consumer("copy", "w1")
    batch = await consumer.read(block_ms=100)
    seen: list[str] = []

    async def fail_on_second(item: BusChange) -> None:
        if len(seen) == 1:
            raise RuntimeError("ledger unreachable")
        seen.append(item.change.event_id)

    with contextlib.suppress(RuntimeError):
        await consumer.handle(batch, fail_on_second)
    assert seen == ["fills:ETH:0:0"]
    assert sum(lag.pending for lag in await bus.lag("copy")) == 2


async def test_an_unreadable_entry_goes_to_the_dead_letters(bus: Bus) -> None:
    await bus.ensure_group("copy")
    stream = bus.stream(0)
    await bus.client.xadd(stream, {"v": "1", "venue": "hyperliquid", "source": "0xa", "coin": "BTC"})
    good = next(change(s, 9) for s in SOURCES if shard_of(s, bus.shards) == 0)
    await bus.publish(good)
    consumer = bus.consumer("copy", "w1", shards=[0])
    batch = await consumer.read(block_ms=100)
    handled: list[BusChange] = []

    async def keep(item: BusChange) -> None:
        handled.append(item)

    assert await consumer.handle(batch, keep) == 2
    assert handled == [good]
    letters: Any = await bus.client.xrange(bus.dead_letters)
    (dead,) = letters
    fields: dict[str, str] = dead[1]
    assert "'time_ms' is missing" in fields["error"] and fields["from"].startswith(stream)
    assert sum(lag.pending for lag in await bus.lag("copy")) == 0


async def test_redis_killed_and_restarted_loses_nothing(tmp_path: Path) -> None:
    with private_redis(tmp_path / "redis") as server:
        bus = Bus.from_url(server.url, shards=4, prefix="mirror:changes")
        await bus.ensure_group("copy")
        sent = [change(source, n) for n in range(3) for source in SOURCES]
        for item in sent:
            await bus.publish(item)
        consumer = bus.consumer("copy", "w1")
        half = await consumer.read(count=5, block_ms=100)
        await consumer.ack(half[:2])  # two done; three delivered, not acknowledged; the rest undelivered
        await bus.close()

        server.kill()  # SIGKILL: no shutdown write; only the append-only file
        server.start()
        bus = Bus.from_url(server.url, shards=4, prefix="mirror:changes")
        try:
            again = bus.consumer("copy", "w1")
            pending = await again.read(count=50, block_ms=100)
            assert [d.entry_id for d in pending] == [d.entry_id for d in half[2:]]
            await again.ack(pending)
            rest = []
            while batch := await again.read(count=50, block_ms=100):
                rest += batch
                await again.ack(batch)
            got = [d.item for d in half[:2] + pending + rest if d.item is not None]
            assert sorted(got, key=sent.index) == sent and len(got) == len(sent)
        finally:
            await bus.close()


async def test_a_group_skipped_to_now_reads_only_what_is_published_after(bus: Bus) -> None:
    """A copy worker's start: its backlog (delivered or not) is acknowledged, the new changes come."""
    await bus.ensure_group("copy:w1")
    for n in range(4):
        await bus.publish(change(SOURCES[3], n))
    assert len(await bus.consumer("copy:w1", "w1").read(count=2, block_ms=100)) == 2  # never acked
    assert await bus.skip_to_now("copy:w1") == 2
    assert sum(lag.pending for lag in await bus.lag("copy:w1")) == 0
    await bus.publish(change(SOURCES[3], 9))
    again = bus.consumer("copy:w1", "w1")
    assert [d.item.change.event_id for d in await again.read(block_ms=100) if d.item] == ["fills:ETH:9:9"]
    await bus.skip_to_now("copy:w2")  # a new group: created at the end
    assert await bus.groups() == ["copy:w1", "copy:w2"]
    assert await bus.consumer("copy:w2", "w2").read(block_ms=50) == []
    await bus.drop_group("copy:w2")
    assert await bus.groups() == ["copy:w1"]


async def test_a_rewound_consumer_reads_its_unacknowledged_entries_again(bus: Bus) -> None:
    await bus.ensure_group("copy")
    await bus.publish(change(SOURCES[4], 1))
    consumer = bus.consumer("copy", "w1")
    (first,) = await consumer.read(block_ms=100)
    assert await consumer.read(block_ms=50) == []
    consumer.rewind()
    assert [d.entry_id for d in await consumer.read(block_ms=50)] == [first.entry_id]


async def test_every_groups_lag_and_pending_in_one_read(bus: Bus) -> None:
    """What `cluster status` and the roles' metrics show: per group and stream, entries not delivered
    (lag) and delivered but not acknowledged (pending); a consumer's acknowledgements are counted."""
    await bus.ensure_group("copy:w1")
    await bus.ensure_group("copy:w2", [0])  # a group on one stream only
    assert await bus.lags() == {
        "copy:w1": [GroupLag(s, 0, 0) for s in bus.streams()],
        "copy:w2": [GroupLag(bus.stream(0), 0, 0)],
    }
    source = SOURCES[0]
    stream = bus.stream(shard_of(source, bus.shards))
    for n in range(3):
        await bus.publish(change(source, n))
    consumer = bus.consumer("copy:w1", "w1")
    got = await consumer.read(count=2, block_ms=100)  # two delivered, not acknowledged; one waits
    lags = await bus.lags()
    assert GroupLag(stream, 2, 1) in lags["copy:w1"]
    assert await bus.lag("copy:w1") == lags["copy:w1"]
    assert await consumer.ack(got) == 2 and consumer.acknowledged == 2
    assert GroupLag(stream, 0, 1) in (await bus.lags())["copy:w1"]


async def test_ping_says_whether_redis_answers_and_never_shows_the_password() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bus = Bus.from_url(f"redis://:hunter2secret@127.0.0.1:{port}/0")
    try:
        assert bus.reachable is None and bus_check(bus).ok is False  # not asked yet: not ready
        assert await bus.ping() is False and bus.reachable is False
        check = bus_check(bus)
        assert not check.ok and check.detail.startswith("unreachable: ConnectionError")
        assert "hunter2secret" not in check.detail
    finally:
        await bus.close()
