"""Issue #19 item 3: the master key is not an agent, an account's agent can be replaced, /disconnect."""

from __future__ import annotations

import asyncio
from pathlib import Path

from adapters.localnet.server import LocalnetThread
from bot.ledger import Ledger
from bot.service.service import VENUE
from tests.service.support import funded, sdk_exchange
from tests.telegram.conftest import ADMIN, Bot
from tests.telegram.support import connect


async def test_the_master_key_is_refused_as_the_agent(
    bot: Bot, localnet: LocalnetThread, ledger: Ledger
) -> None:
    master = await asyncio.to_thread(funded, localnet.url, "own-key", "10000")
    await bot.ask(ADMIN, f"/connect {master.address}", "Now send")
    mark = len(bot.api.calls)
    bot.api.push_message(ADMIN, master.key.hex())
    reply = await bot.api.reply_to(ADMIN, "Not connected", after=mark)
    assert "master" in reply.text and "agent wallet" in reply.text
    assert "approve" in reply.text  # how to make one, in a line
    assert await ledger.get_account(VENUE, master.address.lower()) is None
    refused = [e for e in await ledger.audit_entries(limit=1000) if e.action == "telegram.refused"]
    assert any("master key" in str(e.details) for e in refused)
    assert master.key.hex().removeprefix("0x") not in str([e.details for e in refused])


async def test_reconnecting_replaces_the_agent_keeps_the_old_keystore_and_names_no_path(
    bot: Bot, localnet: LocalnetThread, ledger: Ledger, tmp_path: Path
) -> None:
    master, _ = await connect(bot, localnet, ADMIN, "swap")
    before = await ledger.get_account(VENUE, master.address.lower())
    assert before is not None and before.keystore_path is not None
    _, new_key = await asyncio.to_thread(sdk_exchange(localnet.url, master).approve_agent, "tg2")
    await bot.ask(ADMIN, f"/connect {master.address}", "Now send")
    mark = len(bot.api.calls)
    bot.api.push_message(ADMIN, new_key)
    reply = await bot.api.reply_to(ADMIN, "onnected", after=mark)
    assert reply.text.startswith("Connected"), reply.text
    assert "replaced" in reply.text
    assert str(tmp_path) not in reply.text and ".json" not in reply.text
    after = await ledger.get_account(VENUE, master.address.lower())
    assert after is not None and after.agent_address != before.agent_address
    assert after.keystore_path != before.keystore_path
    assert await asyncio.to_thread(Path(before.keystore_path).exists)  # the old keystore stays on disk
    audit = [row.action for row in await ledger.audit_entries(limit=1000)]
    assert "account.agent" in audit


async def test_disconnect_removes_an_account_refused_while_it_follows(
    bot: Bot, localnet: LocalnetThread, ledger: Ledger
) -> None:
    master, _ = await connect(bot, localnet, ADMIN, "bye")
    source = await asyncio.to_thread(funded, localnet.url, "bye-src", "1000")
    await bot.ask(ADMIN, f"/follow {source.address} ETH 50", "Following")
    refused = await bot.ask(ADMIN, "/disconnect bye", "unfollow")
    assert f"/unfollow {source.address.lower()}" in refused
    assert await ledger.get_account(VENUE, master.address.lower()) is not None
    await bot.ask(ADMIN, f"/unfollow {source.address.lower()} keep", "nfollow")
    done = await bot.ask(ADMIN, "/disconnect bye", "Disconnected")
    assert ".json" not in done
    assert await ledger.get_account(VENUE, master.address.lower()) is None
