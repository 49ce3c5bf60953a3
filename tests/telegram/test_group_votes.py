"""The DAO group script (issue #19 item 6, acceptance): three listed admins, two approvals. A dangerous
change carries its warning into the vote message, every vote shows who cast it (n of k), `/group`
lists what is pending, the approval applies it; the group's other members read but change nothing."""

from __future__ import annotations

import asyncio

from adapters.localnet.server import LocalnetThread
from bot.ledger import Ledger
from bot.service.settings import settings_from_json
from tests.service.support import funded
from tests.telegram.conftest import ADMIN, Bot
from tests.telegram.support import connect

GROUP = -1004242
SECOND, THIRD, READER = 2101, 2102, 2103  # listed admins who were never /invite'd, a group member


async def test_dao_group_votes_show_warning_voters_and_pending_list(
    bot: Bot, localnet: LocalnetThread, ledger: Ledger
) -> None:
    api = bot.api
    api.names[ADMIN] = ("Ann", "ann_dao")
    api.names[SECOND] = ("<b>Bo</b> & co", "bo")  # a hostile display name shows as written
    api.names[THIRD] = ("Cy", None)
    master, _ = await connect(bot, localnet, ADMIN, "dao2")
    treasury = master.address.lower()
    source = (await asyncio.to_thread(funded, localnet.url, "dao2-source", "50000")).address.lower()
    assert "Following" in await bot.ask(ADMIN, f"/follow {source} ETH 100", "Following")

    async def in_group(user: int, text: str, contains: str) -> str:
        return await bot.ask(user, text, contains, chat=GROUP, chat_type="supergroup")

    assert "2 approval(s)" in await in_group(ADMIN, f"/group admins {ADMIN},{SECOND},{THIRD} 2", "Group")
    assert "belongs" in await in_group(ADMIN, f"/group adopt {treasury}", "belongs")

    # A listed admin proposes without an /invite (as they vote); the warning a private chat shows is in
    # the vote message.
    mark = await bot.say(SECOND, f"/scale {source} ETH 200", chat=GROUP, chat_type="supergroup")
    vote = await api.reply_to(GROUP, "Change #", after=mark)
    assert "MORE than the source's own risk" in vote.text
    assert "Approved by <b>Bo</b> & co (@bo): 1 of 2" in vote.text
    assert [label for label, _ in vote.buttons] == ["Approve", "Reject"]
    assert "<b>" not in "".join(str(e) for e in vote.entities)  # the name is text, not markup

    mark = await bot.say(ADMIN, "/stop", chat=GROUP, chat_type="supergroup")
    stop_vote = await api.reply_to(GROUP, "Change #", after=mark)
    assert "CLOSE every mirrored position" in stop_vote.text
    assert "Approved by Ann (@ann_dao): 1 of 2" in stop_vote.text

    listing = await in_group(THIRD, "/group", "Pending")
    assert "scale ETH to 200 %" in listing and "proposed by <b>Bo</b> & co (@bo)" in listing
    assert "stop" in listing and "proposed by Ann (@ann_dao)" in listing
    assert listing.count("1 of 2") == 2 and listing.count("expires") == 2

    # The group's other members read /status but change nothing, and cannot vote.
    assert "Status" in await in_group(READER, "/status", "Status")
    assert "listed admins" in await in_group(READER, f"/scale {source} ETH 50", "listed admins")
    assert "for the bot's members" in await in_group(READER, f"/backtest {source}", "members")
    mark = len(api.calls)
    api.push_callback(READER, vote, vote.buttons[0][1], chat_type="supergroup")
    await api.wait_for(lambda c: c.method == "answerCallbackQuery", after=mark)
    plan = await ledger.current_plan(treasury, source)
    assert plan is not None and settings_from_json(plan.settings).config.k("ETH") == 100

    # The second approval applies it, and says who approved.
    mark = len(api.calls)
    api.push_callback(THIRD, vote, vote.buttons[0][1], chat_type="supergroup")
    applied = await api.reply_to(GROUP, "applied", after=mark)
    assert "Approved by <b>Bo</b> & co (@bo), Cy: 2 of 2" in applied.text
    plan = await ledger.current_plan(treasury, source)
    assert plan is not None and settings_from_json(plan.settings).config.k("ETH") == 200

    listing = await in_group(ADMIN, "/group", "Admins")
    assert "ETH to 200" not in listing and "proposed by Ann (@ann_dao)" in listing  # the stop still waits
