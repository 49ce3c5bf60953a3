"""Helpers for the Telegram tests: connecting an account through the chat, waiting for venue state."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from eth_account.signers.local import LocalAccount

from adapters.localnet.server import LocalnetThread
from tests.service.support import funded, sdk_exchange
from tests.telegram.conftest import Bot


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 30.0) -> None:
    """Wait for a condition on the venue (polled: the venue has no push for it)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await check():
        if loop.time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def connect(bot: Bot, localnet: LocalnetThread, user: int, tag: str) -> tuple[LocalAccount, str]:
    """Fund a master account, approve an agent for it with the SDK, and /connect it from `user`'s chat."""
    master = await asyncio.to_thread(funded, localnet.url, tag, "10000")
    answer, agent_key = await asyncio.to_thread(sdk_exchange(localnet.url, master).approve_agent, "tg")
    assert answer["status"] == "ok", answer
    assert "Now send the private key" in await bot.ask(
        user, f"/connect {master.address} label={tag}", "Now send"
    )
    mark = len(bot.api.calls)
    key_message = bot.api.push_message(user, agent_key)
    connected = await bot.api.reply_to(user, "Connected", after=mark)
    assert (user, key_message) in bot.api.deleted  # deleted before anything else was said
    deletion = next(i for i, c in enumerate(bot.api.calls) if c.method == "deleteMessage" and i >= mark)
    assert deletion < bot.api.calls.index(connected)
    assert "checked on the venue" in connected.text
    return master, agent_key
