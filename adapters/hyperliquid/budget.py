"""The process-wide request-weight budget: Hyperliquid allows 1200 weight per minute per IP, shared by
every `/info` and `/exchange` request.

A token bucket whose capacity is the burst `B` and whose refill is `(limit − B) / 60 s`: whatever the
request pattern, the weight granted in ANY 60-second window is at most `B + (limit − B) = limit`
(the bucket holds at most `B`, and at most `(limit − B)` flows in over the window). A plain bucket of
capacity `limit` refilled at `limit / minute` would allow up to twice the limit in one minute.

Arithmetic is exact integers: time in nanoseconds, one unit of weight = 60·10⁹ token units, so the
refill is `limit − B` units per nanosecond (no float drift, and the window property holds exactly).

Priorities without a queue: a caller may ask to leave `reserve` weight in the bucket (the poller does),
so background polling never takes the last tokens an order would need; orders ask with reserve 0.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

from adapters.hyperliquid.constants import REST_WEIGHT_PER_MINUTE, info_weight
from adapters.hyperliquid.info import InfoClient, InfoRateLimited

__all__ = [
    "DEFAULT_BURST",
    "BudgetedInfoClient",
    "WeightBudget",
    "exchange_weight",
]

NS_PER_S: Final = 1_000_000_000
_UNITS_PER_WEIGHT: Final = 60 * NS_PER_S  # token units per unit of weight (refill: units per ns)
DEFAULT_BURST: Final = 200
EXCHANGE_BATCH_PER_EXTRA_WEIGHT: Final = 40


def exchange_weight(batch_length: int) -> int:
    """The venue's weight for one /exchange action of `batch_length` orders or cancels."""
    return 1 + batch_length // EXCHANGE_BATCH_PER_EXTRA_WEIGHT


async def _sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


class WeightBudget:
    """Shared by every request of the process (one per venue IP). Not thread-safe: one event loop."""

    def __init__(
        self,
        limit_per_minute: int = REST_WEIGHT_PER_MINUTE,
        *,
        burst: int = DEFAULT_BURST,
        clock_ns: Callable[[], int] = time.monotonic_ns,
        sleep: Callable[[float], Awaitable[Any]] = _sleep,
    ) -> None:
        if not 0 < burst < limit_per_minute:
            raise ValueError(
                f"burst must be between 1 and limit_per_minute - 1 ({limit_per_minute - 1}), got {burst}"
            )
        self.limit_per_minute = limit_per_minute
        self.burst = burst
        self._capacity = burst * _UNITS_PER_WEIGHT
        self._refill_per_ns = limit_per_minute - burst
        self._clock = clock_ns
        self._sleep = sleep
        self._tokens = self._capacity
        self._stamp = clock_ns()
        self._paused_until = self._stamp
        self.granted = 0  # total weight handed out (acquired + charged), for reports

    @property
    def available(self) -> int:
        """Whole units of weight in the bucket now (negative after a charge the bucket could not cover)."""
        self._refill()
        return self._tokens // _UNITS_PER_WEIGHT

    def _refill(self) -> int:
        now = self._clock()
        elapsed = now - self._stamp
        if elapsed > 0:
            self._tokens = min(self._capacity, self._tokens + elapsed * self._refill_per_ns)
            self._stamp = now
        return now

    def _wait_ns(self, weight: int, reserve: int) -> int:
        """0 if `weight` can be taken now, else how long until it can (assuming no one else takes)."""
        now = self._refill()
        if now < self._paused_until:
            return self._paused_until - now
        # Never ask for more than the bucket can hold, or a big request would wait forever.
        need = min(weight + reserve, self.burst) * _UNITS_PER_WEIGHT
        missing = need - self._tokens
        return 0 if missing <= 0 else -(-missing // self._refill_per_ns)

    def try_acquire(self, weight: int, *, reserve: int = 0) -> bool:
        """Take `weight` now if that leaves `reserve` in the bucket; never waits."""
        if self._wait_ns(weight, reserve) > 0:
            return False
        self._take(weight)
        return True

    async def acquire(self, weight: int, *, reserve: int = 0) -> int:
        """Wait until `weight` can be taken leaving `reserve` behind, take it; returns ns waited."""
        if weight < 0 or reserve < 0:
            raise ValueError(f"weight and reserve must not be negative, got {weight} and {reserve}")
        waited = 0
        while (wait := self._wait_ns(weight, reserve)) > 0:
            # Someone else may take the tokens meanwhile: re-check after every sleep.
            await self._sleep(wait / NS_PER_S)
            waited += wait
        self._take(weight)
        return waited

    def charge(self, weight: int) -> None:
        """Weight the venue counted after the fact (fill queries cost more per 20 items returned):
        taken even if it drives the bucket below zero, which delays the next requests."""
        if weight > 0:
            self._refill()
            self._take(weight)

    def pause(self, seconds: float) -> None:
        """The venue answered 429: nothing is granted for `seconds`, and the bucket is emptied."""
        now = self._refill()
        self._paused_until = max(self._paused_until, now + int(seconds * NS_PER_S))
        self._tokens = min(self._tokens, 0)

    def _take(self, weight: int) -> None:
        self._tokens -= weight * _UNITS_PER_WEIGHT
        self.granted += weight


class BudgetedInfoClient(InfoClient):
    """`InfoClient` whose every request first takes its weight from a shared `WeightBudget`.

    The base weight is taken before sending; what the answer's length adds (fill queries) is charged
    after. A 429 pauses the whole budget for `rate_limit_pause_s` (every client of the process is over
    the limit, not only this one) and is re-raised: what to do next is the caller's policy.
    """

    def __init__(
        self,
        base_url: str,
        budget: WeightBudget,
        *,
        reserve: int = 0,
        rate_limit_pause_s: float = 5.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(base_url, **kwargs)
        self.budget = budget
        self.reserve = reserve
        self._rate_limit_pause_s = rate_limit_pause_s

    async def post(self, body: dict[str, Any]) -> Any:
        request_type = str(body.get("type"))
        base = info_weight(request_type)
        await self.budget.acquire(base, reserve=self.reserve)
        try:
            payload = await super().post(body)
        except InfoRateLimited:
            self.budget.pause(self._rate_limit_pause_s)
            raise
        if isinstance(payload, list):
            self.budget.charge(info_weight(request_type, len(payload)) - base)
        return payload
