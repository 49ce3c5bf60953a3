"""Start-up's wait for a venue that is down (bot/pipeline/venue_wait.py): what is waited out, what is
not, the back-off, and a stop ending the wait. `mirrorbot run` as a process: tests/ops/test_venue_down.py."""

from __future__ import annotations

import asyncio

import pytest

from bot.pipeline.venue_wait import Backoff, VenueWait, wait_for_venue


async def test_a_refusing_venue_is_not_waited_out() -> None:
    """Only a venue that is not there is waited for; a refusal of the request itself is raised."""
    from bot.domain import VenueRequestError

    class Forbidden(VenueRequestError):
        status = 403

    calls = 0

    async def probe() -> int:
        nonlocal calls
        calls += 1
        raise Forbidden("HTTP 403")

    with pytest.raises(Forbidden):
        await wait_for_venue(probe, VenueWait(), asyncio.Event(), url="http://x", backoff=Backoff(0.001))
    assert calls == 1


async def test_a_venue_that_is_down_is_retried_with_back_off_until_it_answers() -> None:
    import httpx

    state = VenueWait()
    answers: list[object] = [httpx.ConnectError("refused"), OSError("unreachable"), "listed"]
    seen: list[tuple[bool, str]] = []

    async def probe() -> str:
        seen.append((state.answered, state.detail))
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        assert isinstance(answer, str)
        return answer

    got = await wait_for_venue(probe, state, asyncio.Event(), url="http://x", backoff=Backoff(0.001))
    assert got == "listed" and state.answered and state.attempts == 3
    assert seen == [
        (False, "not asked yet"),
        (False, "unreachable: ConnectError"),
        (False, "unreachable: OSError"),
    ]


async def test_stopping_while_waiting_ends_the_wait() -> None:
    import httpx

    stop = asyncio.Event()

    async def probe() -> str:
        stop.set()  # a SIGTERM arrives while the venue is down
        raise httpx.ConnectError("refused")

    assert await wait_for_venue(probe, VenueWait(), stop, url="http://x", backoff=Backoff(60.0)) is None


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [Backoff(1, 2, 5).delay(n) for n in range(1, 6)] == [1, 2, 4, 5, 5]
