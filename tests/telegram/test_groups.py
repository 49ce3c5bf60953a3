"""Group mode for a DAO treasury: the group owns the account, its listed admins change settings with
k-of-n approvals (each vote in the AuditLog), nobody else changes anything."""

from __future__ import annotations

import asyncio

from adapters.localnet.server import LocalnetThread
from bot.ledger import Ledger
from bot.service.settings import settings_from_json
from tests.service.support import funded
from tests.telegram.conftest import ADMIN, Bot
from tests.telegram.support import connect

GROUP = -1009876
SECOND, THIRD, OUTSIDER = 2001, 2002, 3003


async def test_a_group_change_waits_for_k_approvals(
    bot: Bot, localnet: LocalnetThread, ledger: Ledger
) -> None:
    master, _ = await connect(bot, localnet, ADMIN, "dao")
    treasury = master.address.lower()
    source = (await asyncio.to_thread(funded, localnet.url, "dao-source", "50000")).address.lower()
    assert "Following" in await bot.ask(ADMIN, f"/follow {source} ETH 100", "Following")
    for user in (SECOND, OUTSIDER):
        await bot.ask(ADMIN, f"/invite {user}", "can now")

    def in_group(user: int, text: str, contains: str) -> asyncio.Future[str]:
        return asyncio.ensure_future(bot.ask(user, text, contains, chat=GROUP, chat_type="supergroup"))

    refused = await in_group(SECOND, f"/group admins {ADMIN},{SECOND},{THIRD} 2", "only a bot admin")
    assert "only a bot admin" in refused
    policy = await in_group(ADMIN, f"/group admins {ADMIN},{SECOND},{THIRD} 2", "Group admins")
    assert "2 approval(s)" in policy
    assert "now belongs to this group" in await in_group(ADMIN, f"/group adopt {treasury}", "belongs")
    account = await ledger.get_account("hyperliquid", treasury)
    assert account is not None and account.owner == f"telegram-group:{GROUP}"
    assert "no follower account" in await bot.ask(
        ADMIN, "/positions", "no follower account"
    )  # not private now

    # An invited user who is not on the group's admin list changes nothing there.
    assert "listed admins" in await in_group(OUTSIDER, f"/scale {source} ETH 50", "listed admins")

    mark = await bot.say(ADMIN, f"/scale {source} ETH 50", chat=GROUP, chat_type="supergroup")
    pending = await bot.api.reply_to(GROUP, "1 of 2", after=mark)
    assert [label for label, _ in pending.buttons] == ["Approve", "Reject"]
    plan = await ledger.current_plan(treasury, source)
    assert plan is not None and settings_from_json(plan.settings).config.k("ETH") == 100

    # The proposer's second press does not count twice.
    mark = len(bot.api.calls)
    bot.api.push_callback(ADMIN, pending, pending.buttons[0][1], chat_type="supergroup")
    await bot.api.wait_for(
        lambda c: c.method == "answerCallbackQuery" and "already voted" in str(c.params), after=mark
    )
    plan = await ledger.current_plan(treasury, source)
    assert plan is not None and settings_from_json(plan.settings).config.k("ETH") == 100

    mark = len(bot.api.calls)
    bot.api.push_callback(SECOND, pending, pending.buttons[0][1], chat_type="supergroup")
    await bot.api.reply_to(GROUP, "applied", after=mark)
    plan = await ledger.current_plan(treasury, source)
    assert plan is not None and settings_from_json(plan.settings).config.k("ETH") == 50
    assert plan.actor == f"telegram:{SECOND}"  # applied by the admin whose approval completed it

    actions = [(e.action, e.actor) for e in await ledger.audit_entries(limit=500)]
    assert ("approval.propose", f"telegram:{ADMIN}") in actions
    assert ("approval.vote", f"telegram:{SECOND}") in actions
    assert ("approval.applied", f"telegram:{SECOND}") in actions
