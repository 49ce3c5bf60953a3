"""The bus tests' Redis: the shared test server (`MIRROR_TEST_REDIS_URL`, scripts/redis.sh, started by
`make test`), or a private one a test may kill and restart (the same script in a directory of its own)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from bench.services import PrivateRedis, redis_installed, redis_server
from bot.bus.streams import Bus

__all__ = ["PrivateRedis", "private_redis", "redis_server_url"]

REDIS_ENV = "MIRROR_TEST_REDIS_URL"


def _missing(reason: str) -> None:
    """Skip with the reason; fail under CI, where Redis must run."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"Redis is required under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def redis_server_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        _missing(f"{REDIS_ENV} is not set: run `scripts/redis.sh start` and export its URL (make test does)")
    assert url is not None
    return url


@contextmanager
def private_redis(directory: Path) -> Iterator[PrivateRedis]:
    if not redis_installed():
        _missing("redis-server is not installed: run `scripts/redis.sh start` once (it installs it)")
    with redis_server(directory) as server:
        yield server


@asynccontextmanager
async def scratch_bus(url: str, **options: Any) -> AsyncIterator[Bus]:
    """A `Bus` under a prefix of its own on the Redis at `url`; its streams are deleted afterwards."""
    store = Bus.from_url(url, prefix=f"test:{uuid.uuid4().hex[:12]}", **options)
    try:
        yield store
    finally:
        keys = [k async for k in store.client.scan_iter(match=f"{store.prefix}:*")]
        if keys:
            await store.client.delete(*keys)
        await store.close()
