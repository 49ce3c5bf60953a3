"""The strangers' budgets and spare sends (bot.telegram.intake, bot.telegram.send), on a clock the test
moves: what a stranger may cost per user and all together, and that a spare call never waits."""

from __future__ import annotations

from typing import Any

import pytest

from bot.ledger import Ledger
from bot.service.tenancy import Tenancy
from bot.telegram.intake import DoorLimits, Doorman
from bot.telegram.send import SPARE, ChatRateLimiter, Limits, Throttled


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_stranger_is_let_through_twice_then_once_per_30_s_and_all_of_them_5_then_1_a_second(
    ledger: Ledger,
) -> None:
    clock = Clock()
    door = Doorman(Tenancy(ledger, frozenset({1})), DoorLimits(), clock)
    assert await door.known(1) and not await door.known(42)
    assert [door.let_in(42) for _ in range(50)].count(True) == 2  # one stranger's flood: 2 answers
    clock.now += 29
    assert not door.let_in(42)
    clock.now += 1
    assert door.let_in(42) and not door.let_in(42)
    # Many strangers at once: the overall budget (5 at once, then 1 a second) caps them together.
    clock.now += 60
    assert [door.let_in(100 + i) for i in range(50)].count(True) == 5
    clock.now += 1
    assert [door.let_in(200 + i) for i in range(50)].count(True) == 1
    assert door.let_through == 2 + 1 + 5 + 1 and door.dropped == 48 + 1 + 1 + 45 + 49


async def test_invite_and_revoke_apply_to_the_doorman_at_once(ledger: Ledger) -> None:
    door = Doorman(Tenancy(ledger, frozenset({1})), DoorLimits(refresh_s=3600), Clock())
    assert not await door.known(42)
    door.admit(42)
    assert await door.known(42)
    door.forget(42)
    assert not await door.known(42)


async def _ok(*_: Any, **__: Any) -> bool:
    return True


async def test_a_spare_call_never_waits_and_leaves_half_the_global_burst_to_members() -> None:
    clock = Clock()
    limiter = ChatRateLimiter(Limits(burst=2, global_burst=10, global_per_s=1.0), clock)

    async def send(chat: int, spare: bool) -> bool:
        data = {"chat_id": chat}
        args = SPARE if spare else None
        return bool(await limiter.process_request(_ok, (), {}, "sendMessage", data, args))

    assert await send(7, spare=True) and await send(7, spare=True)
    with pytest.raises(Throttled):  # the chat's burst is spent: not sent, and no waiting
        await send(7, spare=True)
    for chat in range(100, 103):  # other chats drain the global bucket down to its reserve (half)
        await send(chat, spare=True)
    with pytest.raises(Throttled):
        await send(200, spare=True)
    assert limiter.waited_s == 0 and limiter.spared == 2
    assert await send(300, spare=False)  # a member's call still goes (at once: the reserve is there)
    assert limiter.waited_s == 0
