"""Bus fixtures: a `Bus` on the shared test Redis under a prefix of the test's own (removed after)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from bot.bus.streams import Bus
from tests.bus.support import redis_server_url


@pytest.fixture
def redis_url() -> str:
    return redis_server_url()


@pytest.fixture
async def bus(redis_url: str) -> AsyncIterator[Bus]:
    store = Bus.from_url(redis_url, shards=4, prefix=f"test:{uuid.uuid4().hex[:12]}")
    try:
        yield store
    finally:
        keys = [k async for k in store.client.scan_iter(match=f"{store.prefix}:*")]
        if keys:
            await store.client.delete(*keys)
        await store.close()
