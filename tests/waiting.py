"""The one way a test waits for something to happen: poll a condition, never sleep in its place."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Final

TRUTHY: Final = object()  # `equals` not given: the first truthy value ends the wait
WITHIN_S: Final = 30.0  # a bound for a loaded 2-core CI machine, not a timing: a pass never waits for it
EVERY_S: Final = 0.02


async def wait_until(
    probe: Callable[[], Awaitable[Any] | Any],
    what: str = "",
    *,
    equals: Any = TRUTHY,
    within: float = WITHIN_S,
) -> Any:
    """Poll `probe` (sync or async) until it returns a truthy value, or `equals` when given; return that
    value. Fails with an AssertionError naming `what` and the last value seen if `within` seconds pass."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        last = probe()
        if inspect.isawaitable(last):
            last = await last
        if (bool(last) if equals is TRUTHY else last == equals) is True:
            return last
        if loop.time() > deadline:
            expected = "a truthy value" if equals is TRUTHY else repr(equals)
            raise AssertionError(
                f"never happened: {what or 'condition'} (expected {expected}, last saw {last!r})"
            )
        await asyncio.sleep(EVERY_S)
