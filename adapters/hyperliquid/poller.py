"""The polling backstop: every source's account (`clearinghouseState` of every perp dex + spot USDC) in
rounds.

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

from adapters.hyperliquid.constants import info_weight
from adapters.hyperliquid.info import InfoClient, InfoRequestError
from adapters.hyperliquid.parsing import ParseError
from bot.domain import AccountState

__all__ = ["DEFAULT_POLL_INTERVAL_S", "Poller", "poll_weight"]

log = logging.getLogger(__name__)

DEFAULT_POLL_INTERVAL_S = 2.0


def poll_weight(dexes: int = 1) -> int:
    """The weight one poll of one source costs with `dexes` perp dexes listed (HIP-3): a
    `clearinghouseState` per dex + one `spotClearinghouseState`. One dex: 4, so with the budget's
    1000/minute sustained refill 100 sources are polled about every 25 s; each extra dex adds 2."""
    if dexes < 1:
        raise ValueError(f"dexes: at least the default dex (1), got {dexes}")
    return dexes * info_weight("clearinghouseState") + info_weight("spotClearinghouseState")


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
        dexes: Sequence[str] = ("",),
    ) -> None:
        self._info = info
        self._sources = list(dict.fromkeys(sources))
        self.dexes = tuple(dexes)  # every perp dex a source may use (the venue's `perpDexs`)
        self._interval_s = interval_s
        self._sleep = sleep
        self.rounds = 0
        self.failures = 0

    async def poll(self, source: str) -> AccountState | None:
        """One source's account now, or None if the venue did not say (logged)."""
        try:
            return await self._info.account_state(source, self.dexes)
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
