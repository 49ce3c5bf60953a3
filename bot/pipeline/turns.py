"""Loops over many followers hand the event loop a turn between items: a runner loading hundreds of
followers (keystores, recovery) must not hold the loop so long that its heartbeats come a lease late or
its bus reads time out (issue #15)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import TypeVar

T = TypeVar("T")


async def between(items: Iterable[T]) -> AsyncIterator[T]:
    """`items`, each after a turn of the event loop (every task ready to run runs first)."""
    for item in items:
        await asyncio.sleep(0)
        yield item
