"""Start-up's first venue contact: a venue that is down when `mirrorbot run` (or a cluster role) starts
is waited for.

Retried with a capped back-off, one log line per attempt; `VenueWait` says meanwhile what the last
attempt found (the ops port's `/readyz` reads it: not ready until the venue answers). A refusal of the
request itself (a 4xx) is not waited out: it is raised.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx

from bot.config import Settings
from bot.domain import Instrument, Venue, VenueRequestError
from bot.logs import log_event
from bot.pipeline.accounts import RunnerError
from bot.redaction import redact_text
from bot.venues import venue_url

log = logging.getLogger(__name__)

T = TypeVar("T")


class StoppedBeforeStart(RunnerError):
    """SIGINT/SIGTERM came while start-up waited for the venue: a clean stop, not a failure."""


@dataclass(frozen=True, slots=True)
class Backoff:
    first_s: float = 1.0
    factor: float = 2.0
    max_s: float = 30.0

    def delay(self, attempt: int) -> float:
        return min(self.max_s, self.first_s * self.factor ** (attempt - 1))


@dataclass(slots=True)
class VenueWait:
    """What start-up knows of the venue: answered yet, and what the last attempt found."""

    answered: bool = False
    detail: str = "not asked yet"
    attempts: int = 0


def venue_down(exc: BaseException) -> bool:
    """A venue that is not there (yet): no connection, a timeout, a 5xx from its proxy."""
    if isinstance(exc, (httpx.TransportError, OSError, TimeoutError)):
        return True
    return isinstance(exc, VenueRequestError) and (exc.status is None or exc.status >= 500)


async def wait_for_venue(
    probe: Callable[[], Awaitable[T]],
    state: VenueWait,
    stop: asyncio.Event,
    *,
    url: str,
    backoff: Backoff = Backoff(),
) -> T | None:
    """`probe()`'s answer once the venue answers; None when `stop` is set first."""
    while True:
        state.attempts += 1
        try:
            answer = await probe()
        except Exception as exc:
            if not venue_down(exc):
                raise
            delay = backoff.delay(state.attempts)
            state.detail = f"unreachable: {type(exc).__name__}"
            log_event(
                log,
                "venue_unreachable",
                level=logging.WARNING,
                url=redact_text(url),
                attempt=state.attempts,
                retry_in_s=delay,
                error=redact_text(f"{type(exc).__name__}: {exc}"),
            )
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except TimeoutError:
                continue
            return None
        state.answered, state.detail = True, "answered"
        if state.attempts > 1:
            log_event(log, "venue_reachable", url=redact_text(url), attempts=state.attempts)
        return answer


async def venue_instruments(
    venue: Venue, settings: Settings, state: VenueWait, stop: asyncio.Event
) -> list[Instrument]:
    """The venue's instruments once it answers (a role's first contact); StoppedBeforeStart when `stop`
    came first."""
    listed = await wait_for_venue(venue.instruments, state, stop, url=venue_url(settings))
    if listed is None:
        raise StoppedBeforeStart("stopped while waiting for the venue to answer")
    return listed
