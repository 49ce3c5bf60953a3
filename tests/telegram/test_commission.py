"""Leader commission in the chat (SPEC §14): /commission sets a follow's builder and rate like the other
follow settings; `/builder approve` takes the MASTER key once in a private chat — deleted before any
reply, used for one signature, never echoed, audited or logged — and the venue then holds the approval.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from adapters.hyperliquid.venue import HyperliquidVenue
from adapters.localnet.server import LocalnetThread
from bot.ledger import Ledger
from bot.service.settings import settings_from_json
from tests.service.support import funded
from tests.telegram.conftest import ADMIN, Bot
from tests.telegram.support import connect


async def test_commission_set_then_the_master_key_approves_it_once_and_is_never_kept(
    bot: Bot,
    localnet: LocalnetThread,
    ledger: Ledger,
    reads: HyperliquidVenue,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    master, agent_key = await connect(bot, localnet, ADMIN, "commission")
    follower = master.address.lower()
    leader = await asyncio.to_thread(funded, localnet.url, "commission-leader", "1000")
    source = leader.address.lower()
    await bot.ask(ADMIN, f"/follow {source} ETH 100", "Following")

    refused = await bot.ask(ADMIN, f"/commission {source} to={source} rate=101", "rate:")
    assert "out of range: 101" in refused and "1 to 100" in refused
    assert "Updated" in await bot.ask(ADMIN, f"/commission {source} to={source} rate=10", "commission")
    plan = await ledger.current_plan(follower, source)
    assert plan is not None and settings_from_json(plan.settings).commission is not None
    shown = await bot.ask(ADMIN, f"/commission {source}", "Commission of")
    assert f"to {source}, 10 tenths of a bp (= 0.01 %)" in shown
    status = await bot.ask(ADMIN, "/builder", "Builder fees")
    assert "approved 0 tenths of a bp" in status and "NOT approved" in status

    # The agent key is not the master's: refused, nothing approved, the message deleted all the same.
    assert "Send the MASTER private key" in await bot.ask(ADMIN, "/builder approve", "MASTER")
    mark = len(bot.api.calls)
    agent_message = bot.api.push_message(ADMIN, agent_key)
    not_approved = await bot.api.reply_to(ADMIN, "Not approved", after=mark)
    assert (ADMIN, agent_message) in bot.api.deleted and "not the master key" in not_approved.text
    assert await reads.max_builder_fee(follower, source) == 0

    await bot.ask(ADMIN, "/builder approve", "MASTER")
    mark = len(bot.api.calls)
    key_message = bot.api.push_message(ADMIN, master.key.hex())
    approved = await bot.api.reply_to(ADMIN, "Builder fees approved", after=mark)
    deletion = next(i for i, c in enumerate(bot.api.calls) if c.method == "deleteMessage" and i >= mark)
    assert (ADMIN, key_message) in bot.api.deleted and deletion < bot.api.calls.index(approved)
    assert f"{source}: asked 10 tenths of a bp (= 0.01 %), approved 10 tenths of a bp" in approved.text
    assert await reads.max_builder_fee(follower, source) == 10

    secret = master.key.hex().removeprefix("0x").lower()
    said = " ".join(c.text for c in bot.api.calls).lower()
    audit = " ".join(f"{e.action} {e.details}" for e in await ledger.audit_entries(limit=1000)).lower()
    assert secret not in said and secret not in audit and secret not in caplog.text.lower()
    assert "builder.approve" in audit
    assert ADMIN not in bot.handle.room.awaiting_master  # used once

    # A key sent later is not taken for an approval: /builder approve asks afresh each time.
    mark = len(bot.api.calls)
    bot.api.push_message(ADMIN, master.key.hex())
    again = await bot.api.reply_to(ADMIN, "deleted", after=mark)
    assert "Builder fees approved" not in again.text


async def test_builder_approve_is_refused_in_a_group(bot: Bot, localnet: LocalnetThread) -> None:
    await connect(bot, localnet, ADMIN, "commission-group")
    answer = await bot.ask(ADMIN, "/builder approve", "private chat", chat=-100, chat_type="group")
    assert "private chat" in answer
