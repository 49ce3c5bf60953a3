"""Mids for pricing a copy come from the websocket `allMids` feed (adapters/hyperliquid/mids.py) while a
watch is live and the feed is live, and from an HTTP read whenever it is stale (not yet subscribed,
connection lost, silent for longer than `max_silence_s`) or no watch runs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal

from adapters.hyperliquid.mids import MidsFeed
from adapters.hyperliquid.venue import HyperliquidVenue
from adapters.hyperliquid.ws import Backoff, ws_url
from tests.e2e.support import World
from tests.waiting import wait_until

SLOW = Backoff(base_s=60.0, cap_s=60.0)  # a lost feed stays down for the test


async def http_mids(world: World, *, every_dex: bool = True) -> dict[str, Decimal]:
    """Every perp dex's `allMids` (HIP-3: a builder dex's come with `dex`), as the venue's `mids()` covers;
    the default dex's only (one feed's) unless `every_dex`."""
    listed = (await world.http.post(f"{world.url}/info", json={"type": "perpDexs"})).json()
    mids: dict[str, Decimal] = {}
    for dex in ["", *(d["name"] for d in listed[1:] if every_dex)]:
        body = {"type": "allMids", **({"dex": dex} if dex else {})}
        answer = await world.http.post(f"{world.url}/info", json=body)
        mids.update({coin: Decimal(px) for coin, px in answer.json().items()})
    return mids


@contextlib.asynccontextmanager
async def watching(world: World, venue: HyperliquidVenue) -> AsyncIterator[None]:
    """A live watch of some source, as the running bot always has."""
    source = await world.wallet("10")

    async def drain() -> None:
        async for _ in venue.watch([source.address]):
            pass

    task = asyncio.create_task(drain())
    await wait_until(lambda: asyncio.sleep(0, bool(venue.pollers)), "the watch live")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def an_update(feed: MidsFeed) -> None:
    """Until the feed takes an `allMids` message (clear `feed.updated` before causing one)."""
    await asyncio.wait_for(feed.updated.wait(), 10)


async def test_mids_follow_the_feed_while_a_watch_is_live(world: World) -> None:
    await world.set_mids(ETH="3000")
    venue = world.venue()
    try:
        assert await venue.mids() == await http_mids(world) and venue.mids_feed is None  # no watch: HTTP
        async with watching(world, venue):
            assert await venue.mids() == await http_mids(world)  # the first call starts the feed: HTTP
            feed = venue.mids_feed
            assert feed is not None
            await wait_until(lambda: asyncio.sleep(0, feed.mids() is not None), "the feed live")

            await world.set_mids(ETH="3120.5")  # pushed to subscribers
            await wait_until(
                lambda: asyncio.sleep(0, (feed.mids() or {}).get("ETH")), equals=Decimal("3120.5")
            )
            assert (await venue.mids())["ETH"] == Decimal("3120.5")
            assert await venue.mids() == await http_mids(world)
        await world.set_mids(ETH="3010")
        assert (await venue.mids())["ETH"] == Decimal("3010")  # the watch ended: HTTP, the feed stopped
        assert feed.mids() is None and not feed.running
    finally:
        await venue.close()


async def test_a_lost_feed_is_stale_and_mids_come_over_http(world: World) -> None:
    await world.set_mids(ETH="3000")
    venue = world.venue(backoff=SLOW)
    try:
        async with watching(world, venue):
            await venue.mids()
            feed = venue.mids_feed
            assert feed is not None
            await wait_until(lambda: asyncio.sleep(0, feed.mids() is not None), "the feed live")

            assert (await world.control({"type": "fault", "dropWsNow": True}))["droppedWs"] >= 1
            await wait_until(lambda: asyncio.sleep(0, feed.mids()), "the lost feed stale", equals=None)
            await world.set_mids(ETH="2950")  # no feed hears it: only the HTTP fallback can
            assert (await venue.mids())["ETH"] == Decimal("2950")
    finally:
        await venue.close()


async def test_a_silent_feed_is_stale(world: World) -> None:
    """A connection that stops talking without closing: past `max_silence_s` with nothing heard (no
    push, no pong), its last mids are not used."""
    now = [0.0]
    feed = MidsFeed(ws_url(world.url), ping_interval_s=60.0, max_silence_s=5.0, clock=lambda: now[0])
    feed.start()
    try:
        await an_update(feed)  # the subscription's snapshot
        assert feed.mids() == await http_mids(world, every_dex=False)
        now[0] += 4.9
        assert feed.mids() is not None
        now[0] += 0.2
        assert feed.mids() is None
        feed.updated.clear()
        await world.set_mids(ETH="3333")  # a push is heard: live again, with the new mids
        await an_update(feed)
        assert (feed.mids() or {}).get("ETH") == Decimal("3333")
    finally:
        await feed.close()
