"""Account reads, bounded: the one reader the copier's refreshes and the reconciliation pass share.

Requests in flight at once stay under the venue clients' pools (32 connections each; an account read
takes two): 1,000 followers queue here rather than time out in a pool. Reads go through httpx, whose
pool rescans its whole queue on every request (1,000 queued cost more CPU than the requests). An
uncapped read of every follower at start-up already failed at 1,000 followers (issue #13).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from bot.domain import AccountState, Venue

READ_CONCURRENCY = 16

R = TypeVar("R")


async def gather_bounded(aws: Iterable[Awaitable[R]], limit: int) -> list[R | Exception]:
    """`asyncio.gather(..., return_exceptions=True)` with at most `limit` awaited at once."""
    gate = asyncio.Semaphore(limit)

    async def one(aw: Awaitable[R]) -> R | Exception:
        async with gate:
            try:
                return await aw
            except Exception as exc:
                return exc

    return await asyncio.gather(*(one(aw) for aw in aws))


@dataclass(frozen=True, slots=True)
class AccountReads:
    """What one round of reads found: per address, its state or the failure (unknown, never flat)."""

    sources: list[AccountState | Exception]
    followers: list[AccountState | Exception]


@dataclass(slots=True)
class AccountReader:
    """Reads sources (each on the venue it trades on) and followers, at most `limit` in flight."""

    venue: Venue  # the followers' venue
    source_venue: Callable[[str], Venue]
    limit: int = READ_CONCURRENCY

    async def read(self, sources: Sequence[str], followers: Sequence[str]) -> AccountReads:
        reads = await gather_bounded(
            [
                *(self.source_venue(s).account(s) for s in sources),
                *(self.venue.account(address) for address in followers),
            ],
            self.limit,
        )
        return AccountReads(reads[: len(sources)], reads[len(sources) :])
