"""Helpers for the Telegram tests: connecting an account through the chat, waiting for venue state."""

from __future__ import annotations

import asyncio

from eth_account.signers.local import LocalAccount

from adapters.localnet.server import LocalnetThread
from tests.service.support import funded, sdk_exchange
from tests.telegram.conftest import Bot


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
