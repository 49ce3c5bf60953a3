"""The streams are trimmed (issue #15: XADD without a bound grew Redis for as long as the cluster ran).
The rule (bot/bus/streams.py, docs/cluster.md "Trimming the streams"): an entry stays while any consumer
group still owes it — delivered and not acknowledged, or not delivered yet — up to the cap of
`max_len` entries per stream (MIRROR_BUS_STREAM_MAX_LEN); past the cap the oldest go even if owed, and
`trim` names the groups that lost entries so. On the real Redis."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.bus.streams import TRIM_SLACK, TRIMMED, Bus
from bot.cluster.member import Member
from bot.cluster.watcher import Watcher
from bot.config import load_settings
from bot.ledger import Ledger
from bot.ledger.ownership import LeaseKind
from tests.bus.support import redis_server_url, scratch_bus
from tests.bus.test_streams import SOURCES, change


@pytest.fixture
async def small() -> AsyncIterator[Bus]:
    """One stream, capped at 300 entries."""
    async with scratch_bus(redis_server_url(), shards=1, max_len=300) as store:
        yield store


async def publish(bus: Bus, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        await bus.publish(change(SOURCES[i % len(SOURCES)], i))


async def test_after_many_publishes_a_stream_stays_within_its_cap(small: Bus) -> None:
    await publish(small, 2000)
    length = await small.client.xlen(small.stream(0))
    assert 300 <= length <= 300 + TRIM_SLACK, length  # `~`: whole nodes of entries at a time


async def test_entries_a_live_group_owes_are_kept_and_the_acknowledged_ones_go(small: Bus) -> None:
    await small.ensure_group("copy:fast")
    await small.ensure_group("copy:slow")
    fast, slow = small.consumer("copy:fast", "fast"), small.consumer("copy:slow", "slow")
    await publish(small, 250)
    await fast.ack(await fast.read(count=1000, block_ms=None))
    await slow.ack(await slow.read(count=200, block_ms=None))  # 200 acknowledged …
    held = await slow.read(count=30, block_ms=None)  # … 30 delivered, not acknowledged, 20 not delivered
    await fast.ack(await fast.read(count=1000, block_ms=None))
    assert await small.client.xlen(small.stream(0)) == 250

    report = await small.trim()
    assert report.lost == {}
    left = await small.client.xlen(small.stream(0))
    assert 50 <= left < 250, left  # what every group acknowledged is gone (up to a node's slack)

    slow.rewind()  # everything the slow group owes is still there, readable, in order
    again = await slow.read(count=1000, block_ms=None)
    assert [d.entry_id for d in again] == [d.entry_id for d in held]
    assert all(d.item is not None for d in again)
    await slow.ack(again)
    rest = await slow.read(count=1000, block_ms=None)
    assert [d.item for d in rest] == [change(SOURCES[i % len(SOURCES)], i) for i in range(230, 250)]


async def test_a_group_behind_past_the_cap_loses_its_oldest_entries_and_trim_says_so(small: Bus) -> None:
    await small.ensure_group("copy:stuck")
    stuck = small.consumer("copy:stuck", "stuck")
    await publish(small, 10)
    held = await stuck.read(count=10, block_ms=None)  # delivered, never acknowledged
    await publish(small, 1000, start=10)
    report = await small.trim()
    assert report.lost == {"copy:stuck": [small.stream(0)]}
    assert await small.client.xlen(small.stream(0)) <= 300 + TRIM_SLACK

    # Read again, the entries trimmed while pending are not skipped in silence: dead letters, acknowledged.
    stuck.rewind()
    again = await stuck.read(count=100, block_ms=None)
    assert [(d.entry_id, d.item, d.error) for d in again] == [(d.entry_id, None, TRIMMED) for d in held]
    await stuck.handle_all(again, lambda items: asyncio.sleep(0))
    dead: Any = await small.client.xrange(small.dead_letters)
    assert [fields["from"] for _, fields in dead] == [f"{d.stream}/{d.entry_id}" for d in held]
    assert (await small.client.xpending(small.stream(0), "copy:stuck"))["pending"] == 0


async def test_a_watcher_trims_and_tells_a_group_that_lost_entries_once(
    small: Bus, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """What each watcher does every heartbeat (bot/cluster/watcher.py): trim, and log a group owed
    entries the cap removed — once, not at every heartbeat."""
    ledger = await Ledger.open(f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}")
    try:
        member = Member(ledger, LeaseKind.WATCHER, LeaseKind.SOURCE, "w1")
        watcher = Watcher(load_settings(data_dir=tmp_path / "data"), bus=small, member=member, ledger=ledger)
        await small.ensure_group("copy:stuck")
        await publish(small, 1000)
        with caplog.at_level(logging.WARNING, logger="bot.cluster.watcher"):
            await watcher.trim()
            await watcher.trim()
        told = [r for r in caplog.records if r.getMessage() == "bus_backlog_trimmed"]
        assert len(told) == 1, told
    finally:
        await ledger.close()
