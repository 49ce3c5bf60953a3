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
from dataclasses import dataclass
from typing import Any, Final

import httpx

from adapters.hyperliquid.constants import REST_WEIGHT_PER_MINUTE, info_weight
from adapters.hyperliquid.faults import RATE_LIMITED, VENUE_5XX, VENUE_TIMEOUT, FaultRelay
from adapters.hyperliquid.info import InfoClient, InfoRateLimited, InfoRequestError

__all__ = [
    "DEFAULT_BURST",
    "BudgetedInfoClient",
    "ReadRetry",
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
        self.pauses = 0  # 429s that paused the budget, for reports

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
        self.pauses += 1
        self._tokens = min(self._tokens, 0)

    def _take(self, weight: int) -> None:
        self._tokens -= weight * _UNITS_PER_WEIGHT
        self.granted += weight


@dataclass(frozen=True, slots=True)
class ReadRetry:
    """How a read (`/info`: idempotent, so safe to repeat) is retried after a 429, a 5xx or a timeout:
    at most `retries` more times, waiting `min(cap_s, base_s · 2ⁿ)` (a 429's `Retry-After` instead,
    when the venue gives one)."""

    retries: int = 3
    base_s: float = 0.5
    cap_s: float = 10.0

    def wait(self, attempt: int) -> float:
        return min(self.cap_s, self.base_s * float(2 ** min(attempt, 30)))


class BudgetedInfoClient(InfoClient):
    """`InfoClient` whose every request first takes its weight from a shared `WeightBudget`.

    The base weight is taken before sending (again for each retry: the venue counts refused requests
    too); what the answer's length adds (fill queries) is charged after. Rules, each reported to
    `faults` with its code:
    - 429 (`rate_limited`): the whole budget pauses (`Retry-After`, else the retry's backoff) and is
      emptied, so every request of the process — orders too — resumes at the venue's sustained rate;
      then the read is retried.
    - 5xx (`venue_5xx`) and timeouts (`venue_timeout`): retried after the backoff.
    After `retry.retries` retries the last error is raised: what then is the caller's policy (a poll is
    skipped, a lookup stays unknown — never "flat" or "not found").
    """

    def __init__(
        self,
        base_url: str,
        budget: WeightBudget,
        *,
        reserve: int = 0,
        retry: ReadRetry | None = None,
        faults: FaultRelay | None = None,
        sleep: Callable[[float], Awaitable[Any]] = _sleep,
        **kwargs: Any,
    ) -> None:
        super().__init__(base_url, **kwargs)
        self.budget = budget
        self.reserve = reserve
        self.retry = retry or ReadRetry()
        self.faults = faults or FaultRelay()
        self._sleep = sleep

    async def post(self, body: dict[str, Any]) -> Any:
        request_type = str(body.get("type"))
        base = info_weight(request_type)
        attempt = 0
        while True:
            await self.budget.acquire(base, reserve=self.reserve)
            try:
                payload = await super().post(body)
            except InfoRateLimited as exc:
                wait = exc.retry_after_s if exc.retry_after_s is not None else self.retry.wait(attempt)
                self.budget.pause(wait)
                paused = f"HTTP 429; every request paused {wait:.2f}s"
                self._report(RATE_LIMITED, request_type, paused, attempt)
                failure: Exception = exc
            except InfoRequestError as exc:
                if exc.status < 500:
                    raise  # the venue refused the request itself: repeating it changes nothing
                wait = self.retry.wait(attempt)
                self._report(VENUE_5XX, request_type, f"HTTP {exc.status}", attempt)
                failure = exc
            except httpx.TimeoutException as exc:
                wait = self.retry.wait(attempt)
                self._report(VENUE_TIMEOUT, request_type, f"no answer ({type(exc).__name__})", attempt)
                failure = exc
            else:
                if isinstance(payload, list):
                    self.budget.charge(info_weight(request_type, len(payload)) - base)
                return payload
            if attempt >= self.retry.retries:
                raise failure
            await self._sleep(wait)
            attempt += 1

    def _report(self, code: str, request_type: str, what: str, attempt: int) -> None:
        left = self.retry.retries - attempt
        then = f"retrying ({left} left)" if left > 0 else "giving up"
        self.faults(code, f"/info {request_type}: {what}; {then}")
