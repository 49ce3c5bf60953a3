"""The polling backstop: every source's account (`clearinghouseState` + spot USDC) in rounds.

It is the only watcher of sources beyond the websocket's user cap, and the safety net for the others
(a fill the websocket lost shows up as a position the fills do not explain). Requests go through a
`BudgetedInfoClient` that keeps a reserve in the shared weight budget, so polling slows down before
it could delay an order. A failed poll is skipped — a missing report is unknown, never flat.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import httpx

from adapters.hyperliquid.info import InfoClient, InfoRequestError
from adapters.hyperliquid.parsing import ParseError
from bot.domain import AccountState

__all__ = ["DEFAULT_POLL_INTERVAL_S", "Poller"]

log = logging.getLogger(__name__)

DEFAULT_POLL_INTERVAL_S = 2.0
# One source costs 4 weight a poll (clearinghouseState 2 + spotClearinghouseState 2): with the budget's
# 1000/minute sustained refill, 100 sources are polled about every 25 s, 10 sources every 2.4 s.


async def _sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


class Poller:
    """`snapshots()` yields one `AccountState` per source per round, forever; a round takes at least
    `interval_s` (and longer when the weight budget says so). `address` is the caller's spelling."""

    def __init__(
        self,
        info: InfoClient,
        sources: Sequence[str],
        *,
        interval_s: float = DEFAULT_POLL_INTERVAL_S,
        sleep: Callable[[float], Awaitable[Any]] = _sleep,
    ) -> None:
        self._info = info
        self._sources = list(dict.fromkeys(sources))
        self._interval_s = interval_s
        self._sleep = sleep
        self.rounds = 0
        self.failures = 0

    async def poll(self, source: str) -> AccountState | None:
        """One source's account now, or None if the venue did not say (logged)."""
        try:
            return await self._info.account_state(source)
        except (InfoRequestError, httpx.HTTPError, ParseError) as exc:
            self.failures += 1
            log.warning("poll of %s failed: %s: %s", source, type(exc).__name__, exc)
            return None

    async def snapshots(self) -> AsyncIterator[AccountState]:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            for source in self._sources:
                state = await self.poll(source)
                if state is not None:
                    yield state
            self.rounds += 1
            remaining = self._interval_s - (loop.time() - started)
            if remaining > 0:
                await self._sleep(remaining)
