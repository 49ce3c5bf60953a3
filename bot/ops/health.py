"""Readiness: a set of named checks the runner registers and updates, served as `/readyz`.

`/healthz` says the process is alive; `/readyz` that it can do its job: every registered check passes
(venue reachable, ledger writable, websockets up, dead-man switch armed). A check not yet known to
pass is failing: a runner still waiting for its venue is not ready.

`wait_for_venue` is start-up's first venue contact: a venue that is down is retried with a capped
back-off, one log line per attempt, and the `venue` check stays false meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx

from bot.domain import VenueRequestError
from bot.logs import log_event
from bot.redaction import redact_text

log = logging.getLogger(__name__)

T = TypeVar("T")

VENUE = "venue"
LEDGER = "ledger"
WEBSOCKETS = "websockets"
DEAD_MAN = "dead_man_switch"
RUNNER_CHECKS = (VENUE, LEDGER, WEBSOCKETS, DEAD_MAN)


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    detail: str = ""


class Readiness:
    def __init__(self, names: tuple[str, ...] = ()) -> None:
        self.checks: dict[str, Check] = {}
        for name in names:
            self.register(name)

    def register(self, name: str, detail: str = "not checked yet") -> None:
        self.checks.setdefault(name, Check(False, detail))

    def set(self, name: str, ok: bool, detail: str = "") -> None:
        self.checks[name] = Check(ok, detail)

    @property
    def ready(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks.values())

    def doc(self) -> dict[str, object]:
        return {
            "ready": self.ready,
            "checks": {n: {"ok": c.ok, "detail": c.detail} for n, c in sorted(self.checks.items())},
        }


@dataclass(frozen=True, slots=True)
class Backoff:
    first_s: float = 1.0
    factor: float = 2.0
    max_s: float = 30.0

    def delay(self, attempt: int) -> float:
        return min(self.max_s, self.first_s * self.factor ** (attempt - 1))


def venue_down(exc: BaseException) -> bool:
    """A venue that is not there (yet): no connection, a timeout, a 5xx from its proxy. A refusal of
    the request itself (4xx) is not waited out."""
    if isinstance(exc, (httpx.TransportError, OSError, TimeoutError)):
        return True
    return isinstance(exc, VenueRequestError) and (exc.status is None or exc.status >= 500)


async def wait_for_venue(
    probe: Callable[[], Awaitable[T]],
    readiness: Readiness,
    stop: asyncio.Event,
    *,
    url: str,
    backoff: Backoff = Backoff(),
) -> T | None:
    """`probe()`'s answer once the venue answers; None when `stop` is set first."""
    attempt = 0
    readiness.register(VENUE)
    while True:
        attempt += 1
        try:
            answer = await probe()
        except Exception as exc:
            if not venue_down(exc):
                raise
            delay = backoff.delay(attempt)
            readiness.set(VENUE, False, f"unreachable: {type(exc).__name__}")
            log_event(
                log,
                "venue_unreachable",
                level=logging.WARNING,
                url=redact_text(url),
                attempt=attempt,
                retry_in_s=delay,
                error=redact_text(f"{type(exc).__name__}: {exc}"),
            )
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except TimeoutError:
                continue
            return None
        readiness.set(VENUE, True, "answered")
        if attempt > 1:
            log_event(log, "venue_reachable", url=redact_text(url), attempts=attempt)
        return answer
