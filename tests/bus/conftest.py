"""Bus fixtures: a `Bus` on the shared test Redis under a prefix of the test's own (removed after)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.bus.streams import Bus
from tests.bus.support import redis_server_url, scratch_bus


@pytest.fixture
def redis_url() -> str:
    return redis_server_url()


@pytest.fixture
async def bus(redis_url: str) -> AsyncIterator[Bus]:
    async with scratch_bus(redis_url, shards=4) as store:
        yield store
