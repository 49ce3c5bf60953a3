"""Our websocket client: backoff, de-duplication, and against the real localnet: resubscribe, backfill
after a dropped connection, keep-alive pings and reconnecting a silent connection."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from adapters.hyperliquid.info import InfoClient
from adapters.hyperliquid.ws import Backoff, FillDeduper, UserFillsSocket, ws_url
from bot.domain import Side, SourceFill
from tests.conformance.harness import HyperliquidHarness, unique_sdk_nonce
from tests.waiting import wait_until

D = Decimal
BOUND_S = 10.0


# --- pure parts -------------------------------------------------------------------------------------


def test_ws_url_follows_the_sdk_rule() -> None:
    assert ws_url("https://api.hyperliquid.xyz") == "wss://api.hyperliquid.xyz/ws"
    assert ws_url("http://127.0.0.1:8787/") == "ws://127.0.0.1:8787/ws"
    with pytest.raises(ValueError, match="base_url"):
        ws_url("ftp://x")


@given(
    base=st.floats(0.01, 5),
    cap=st.floats(0.1, 120),
    seed=st.integers(0, 2**32),
    attempts=st.integers(1, 80),
)
def test_backoff_grows_exponentially_to_the_cap_with_bounded_jitter(
    base: float, cap: float, seed: int, attempts: int
) -> None:
    backoff = Backoff(base, cap, random.Random(seed))
    again = Backoff(base, cap, random.Random(seed))
    for attempt in range(attempts):
        ceiling = min(cap, base * 2**attempt)
        delay = backoff.delay(attempt)
        assert ceiling / 2 <= delay <= ceiling
        assert again.delay(attempt) == delay  # seeded: reproducible
        assert backoff.ceiling(attempt) <= backoff.ceiling(attempt + 1)


def fill(tid: int | None, time_ms: int, oid: int = 1, sz: str = "1") -> SourceFill:
    return SourceFill("ETH", D("3000"), D(sz), Side.BUY, time_ms, oid, tid, D(0), hash=f"0x{oid}")


@given(
    times=st.lists(st.integers(0, 3_000_000), min_size=1, max_size=60),
    redeliveries=st.lists(st.integers(0, 59), max_size=120),
    with_tid=st.booleans(),
)
def test_each_fill_is_admitted_exactly_once_and_history_never(
    times: list[int], redeliveries: list[int], with_tid: bool
) -> None:
    start = 1_000_000
    fills = [fill(i if with_tid else None, t, oid=i) for i, t in enumerate(times)]
    dedup = FillDeduper(start, retention_ms=600_000)
    stream = fills + [fills[i % len(fills)] for i in redeliveries]
    admitted = [f for f in stream if dedup.admit("0xsource", f)]
    expected = [f for f in fills if f.time_ms >= start]
    # Every fill of the watch period once; a redelivery long after its time may be dropped by the
    # floor, which only ever drops fills already admitted.
    assert len(admitted) == len(set(admitted))
    assert set(admitted) <= set(expected)
    in_order = sorted(expected, key=lambda f: f.time_ms)
    dedup_sorted = FillDeduper(start, retention_ms=600_000)
    assert [f for f in in_order + in_order if dedup_sorted.admit("s", f)] == in_order


def test_the_deduper_tells_apart_partial_fills_without_tid_and_ignores_the_source_field() -> None:
    dedup = FillDeduper(0)
    first, second = fill(None, 5, sz="1"), fill(None, 5, sz="2")
    assert dedup.admit("a", first) and dedup.admit("a", second)
    assert not dedup.admit("a", replace(first, source="a"))
    assert dedup.admit("b", first)  # per source
    assert dedup.cursor("a") == 5


def test_the_cap_is_enforced() -> None:
    async def no_backfill(source: str, since: int) -> list[SourceFill]:
        return []

    with pytest.raises(ValueError, match="at most 2 users"):
        UserFillsSocket(
            "ws://x/ws",
            ["0x1", "0x2", "0x3"],
            session=None,  # type: ignore[arg-type]
            dedup=FillDeduper(0),
            backfill=no_backfill,
            max_users=2,
        )


# --- against the localnet ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def unique_sdk_nonces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("hyperliquid.exchange.get_timestamp_ms", unique_sdk_nonce)


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[HyperliquidHarness]:
    made = HyperliquidHarness(tmp_path)
    yield made
    await made.aclose()


@contextlib.asynccontextmanager
async def consuming(socket: UserFillsSocket) -> AsyncIterator[list[SourceFill]]:
    got: list[SourceFill] = []

    async def run() -> None:
        async for item in socket.fills():
            got.append(item)

    task = asyncio.create_task(run())
    try:
        yield got
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def total(fills: list[SourceFill], coin: str = "ETH") -> Decimal:
    return sum((f.signed_sz for f in fills if f.coin == coin), D(0))


async def test_a_dropped_connection_is_resubscribed_and_its_gap_backfilled(
    harness: HyperliquidHarness,
) -> None:
    leader = await harness.new_leader()
    async with aiohttp.ClientSession() as session, InfoClient(harness.url) as info:
        backfilled: list[int] = []

        async def backfill(source: str, since_ms: int) -> list[SourceFill]:
            backfilled.append(since_ms)
            return await info.user_fills_by_time(source, since_ms)

        socket = UserFillsSocket(
            ws_url(harness.url),
            [leader.upper().replace("0X", "0x")],  # the caller's spelling is kept
            session=session,
            dedup=FillDeduper(harness.now_ms()),
            backfill=backfill,
            backoff=Backoff(0.02, 0.1, random.Random(1)),
        )
        async with consuming(socket) as got:
            await wait_until(socket.connected.is_set, "connected")
            await harness.leader_trade(leader, "ETH", True, D("0.2"))
            await wait_until(lambda: total(got) == D("0.2"), "the live fills")
            first_fill_time = max(f.time_ms for f in got)

            await harness.break_streams()
            await wait_until(lambda: not socket.connected.is_set(), "the connection dropped")
            await harness.leader_trade(leader, "ETH", False, D("0.05"))
            await harness.leader_trade(leader, "ETH", False, D("0.05"))
            await harness.restore_streams()
            await wait_until(lambda: total(got) == D("0.1"), "the gap's fills")
            await harness.leader_trade(leader, "ETH", True, D("0.3"))
            await wait_until(lambda: total(got) == D("0.4"), "live fills after the reconnect")

        truth = await info.user_fills(leader)
    assert socket.connects >= 2
    assert len(got) == len(set(got)) == len(truth)
    assert {(f.tid, f.oid) for f in got} == {(f.tid, f.oid) for f in truth}
    assert {f.source for f in got} == {leader.upper().replace("0X", "0x")}
    # every reconnect read from the last seen fill, minus the overlap
    assert any(since == first_fill_time - 2_000 for since in backfilled[1:])


async def test_pings_keep_a_quiet_connection_open(harness: HyperliquidHarness) -> None:
    leader = await harness.new_leader()
    async with aiohttp.ClientSession() as session, InfoClient(harness.url) as info:
        socket = UserFillsSocket(
            ws_url(harness.url),
            [leader],
            session=session,
            dedup=FillDeduper(harness.now_ms()),
            backfill=lambda s, t: info.user_fills_by_time(s, t),
            ping_interval_s=0.03,
            max_silence_s=30,  # a loaded CI machine may stall longer than two 30 ms intervals
        )
        async with consuming(socket):
            await wait_until(lambda: socket.pongs >= 5, "five pongs")
    # Each ping of the quiet connection was answered by the venue, and the connection was kept.
    assert socket.pings >= socket.pongs >= 5
    assert socket.connects == 1


async def test_a_silent_connection_is_declared_dead_and_replaced() -> None:
    """A server that accepts, then never says anything (not even pong)."""
    connections = 0

    async def silent(request: web.Request) -> web.WebSocketResponse:
        nonlocal connections
        connections += 1
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        async for _ in ws:
            pass
        return ws

    async def no_backfill(source: str, since: int) -> list[SourceFill]:
        return []

    delays: list[float] = []

    async def record_then_sleep(seconds: float) -> None:
        delays.append(seconds)
        await asyncio.sleep(seconds)

    app = web.Application()
    app.router.add_get("/ws", silent)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"ws://127.0.0.1:{runner.addresses[0][1]}/ws"
    try:
        async with aiohttp.ClientSession() as session:
            socket = UserFillsSocket(
                url,
                ["0x" + "11" * 20],
                session=session,
                dedup=FillDeduper(0),
                backfill=no_backfill,
                ping_interval_s=0.02,
                backoff=Backoff(0.002, 1.0, random.Random(3)),
                sleep=record_then_sleep,
            )
            async with consuming(socket):
                await wait_until(lambda: socket.connects >= 4, "reconnects")
    finally:
        await runner.cleanup()
    assert connections >= 4
    # The venue never spoke on those connections: the backoff kept growing (no reset).
    for attempt, delay in enumerate(delays[:3]):
        assert 0.002 * 2**attempt / 2 <= delay <= 0.002 * 2**attempt


async def test_a_failed_backfill_reconnects_rather_than_skip_the_gap(harness: HyperliquidHarness) -> None:
    leader = await harness.new_leader()
    await harness.leader_trade(leader, "ETH", True, D("0.1"))  # before the watch: history
    async with aiohttp.ClientSession() as session, InfoClient(harness.url) as info:
        calls = 0

        async def flaky(source: str, since_ms: int) -> list[SourceFill]:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise OSError("the venue's /info is down")
            return await info.user_fills_by_time(source, since_ms)

        socket = UserFillsSocket(
            ws_url(harness.url),
            [leader],
            session=session,
            dedup=FillDeduper(harness.now_ms() + 1),
            backfill=flaky,
            backoff=Backoff(0.01, 0.02),
        )
        async with consuming(socket) as got:
            await wait_until(lambda: socket.connects >= 2 and socket.connected.is_set(), "reconnected")
            await harness.leader_trade(leader, "ETH", True, D("0.2"))
            await wait_until(lambda: total(got) == D("0.2"), "the new fills")
    assert calls >= 2
    assert total(got) == D("0.2")  # the fill from before the watch is history


async def test_the_user_cap_counts_every_watch_of_the_venue(harness: HyperliquidHarness) -> None:
    venue = harness.make_venue()
    venue.capabilities = replace(venue.capabilities, max_ws_users=1)
    first, second = await harness.new_leader(), await harness.new_leader()

    async def drain(source: str) -> None:
        async for _ in venue.watch([source]):
            pass

    tasks = [asyncio.create_task(drain(first)), asyncio.create_task(drain(second))]
    try:
        await wait_until(lambda: len(venue.pollers) == 2, "both watches polling")
        # the first watch took the only subscription; the second is watched by its poller alone
        assert [s.sources for s in venue.sockets] == [[first]]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert venue.sockets == []
