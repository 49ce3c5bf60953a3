"""What a command takes (issue #14): `on=<account>` selects the follow when several of one's accounts
follow the same source (item 7), and words or options a command does not take are refused with its
form, changing nothing (item 13)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from adapters.localnet.server import LocalnetThread
from bot.ledger import Ledger
from bot.service.settings import settings_from_json
from bot.service.tenancy import user_owner
from tests.service.support import funded
from tests.telegram.conftest import ADMIN, Bot
from tests.telegram.support import connect

OTHER = 6161


@dataclass
class Two:
    a: str  # the admin's account labelled "a"
    b: str  # the admin's account labelled "b"
    theirs: str  # another user's account
    source: str  # followed by a and b


@pytest.fixture
async def two(bot: Bot, localnet: LocalnetThread) -> AsyncIterator[Two]:
    a, _ = await connect(bot, localnet, ADMIN, "a")
    b, _ = await connect(bot, localnet, ADMIN, "b")
    assert "can now use the bot" in await bot.ask(ADMIN, f"/invite {OTHER}", "can now")
    theirs, _ = await connect(bot, localnet, OTHER, "theirs")
    source = (await asyncio.to_thread(funded, localnet.url, "args-source", "50000")).address.lower()
    for label in ("a", "b"):
        assert "Following" in await bot.ask(ADMIN, f"/follow {source} ETH,BTC 100 on={label}", "Following")
    assert "Following" in await bot.ask(OTHER, f"/follow {source}", "Following")
    yield Two(a.address.lower(), b.address.lower(), theirs.address.lower(), source)


async def _plan(ledger: Ledger, follower: str, source: str) -> dict[str, object]:
    plan = await ledger.current_plan(follower, source)
    assert plan is not None
    return dict(plan.settings)


async def _k(ledger: Ledger, follower: str, source: str, coin: str) -> str:
    plan = await ledger.current_plan(follower, source)
    assert plan is not None
    return str(settings_from_json(plan.settings).config.k(coin))


async def test_on_selects_the_follow_and_another_users_account_is_refused(
    bot: Bot, two: Two, ledger: Ledger
) -> None:
    src = two.source
    several = await bot.ask(ADMIN, f"/scale {src} ETH 50", "account")
    assert "several of your accounts follow" in several and "on=" in several
    assert "Updated" in await bot.ask(ADMIN, f"/scale {src} ETH 50 on=b", "Updated")
    assert await _k(ledger, two.b, src, "ETH") == "50" and await _k(ledger, two.a, src, "ETH") == "100"

    assert "Updated" in await bot.ask(ADMIN, f"/limits {src} max_leverage=3 on=a", "Updated")
    assert (await _plan(ledger, two.a, src)).get("max_leverage") == "3"
    assert (await _plan(ledger, two.b, src)).get("max_leverage") is None
    assert "max_leverage: 3" in await bot.ask(ADMIN, f"/limits {src} on=a", "Limits of")

    assert "Updated" in await bot.ask(ADMIN, f"/copycurrent {src} on on=b", "Updated")
    assert (await _plan(ledger, two.b, src))["copy_current"] is True
    assert (await _plan(ledger, two.a, src))["copy_current"] is False
    question = await bot.ask(ADMIN, f"/tokens {src} exclude BTC on=b", "close or keep")
    assert "stops copying BTC" in question  # asked about b's follow (a's is not touched by asking)

    # Another user's account: refused, and nothing of anyone's changes.
    before = [await _plan(ledger, f, src) for f in (two.a, two.b, two.theirs)]
    refused = await bot.ask(ADMIN, f"/unfollow {src} keep on={two.theirs}", "account")
    assert "no single account of yours matches" in refused
    refused = await bot.ask(ADMIN, f"/scale {src} ETH 70 on={two.theirs[:10]}", "account")
    assert "no single account of yours matches" in refused
    assert [await _plan(ledger, f, src) for f in (two.a, two.b, two.theirs)] == before

    assert "Unfollowed" in await bot.ask(ADMIN, f"/unfollow {src} keep on=a", "Unfollowed")
    assert (await _plan(ledger, two.a, src))["active"] is False
    assert (await _plan(ledger, two.b, src))["active"] is True
    assert (await _plan(ledger, two.theirs, src))["active"] is True


REFUSED = [
    ("/scale {src} ETH 50 extra on=a", "arguments: unexpected 'extra'"),
    ("/limits {src} max_leverage on=a", "arguments: unexpected 'max_leverage'"),
    ("/unfollow {src} keep now on=a", "arguments: unexpected 'now'"),
    ("/copycurrent {src} on later on=a", "arguments: unexpected 'later'"),
    ("/tokens {src} all BTC on=a", "mode: unknown"),
    ("/pause a extra", "arguments: unexpected 'extra'"),
    ("/stop all now", "arguments: unexpected 'now'"),
    ("/alerts copied off twice", "arguments: unexpected 'twice'"),
    ("/scale {src} ETH 50 on=a mode=fast", "option: unknown mode"),
    ("/follow {src} ETH 50 BTC on=a", "tokens: given twice"),
]


async def test_words_a_command_does_not_take_are_refused_with_its_form_and_change_nothing(
    bot: Bot, two: Two, ledger: Ledger
) -> None:
    src, control = two.source, bot.handle.room.control
    before = [await _plan(ledger, f, src) for f in (two.a, two.b)]
    states = await control.states([two.a, two.b])
    modes = await control.alert_modes(user_owner(ADMIN))
    for command, expected in REFUSED:
        answer = await bot.ask(ADMIN, command.format(src=src), expected.split(":")[0])
        assert expected in answer and "\nUsage: /" in answer, (command, answer)
    assert [await _plan(ledger, f, src) for f in (two.a, two.b)] == before
    assert await control.states([two.a, two.b]) == states
    assert await control.alert_modes(user_owner(ADMIN)) == modes


async def test_a_picker_over_several_accounts_names_each_and_acts_on_the_one_pressed(
    bot: Bot, two: Two, ledger: Ledger
) -> None:
    mark = await bot.say(ADMIN, "/unfollow")
    picker = await bot.api.reply_to(ADMIN, "which source?", after=mark)
    labels = [label for label, _ in picker.buttons]
    assert len(labels) == 3 and all(" on 0x" in label for label in labels[:2]) and labels[2] == "Cancel"
    on_b = next(data for label, data in picker.buttons if two.b[-4:] in label)
    mark = len(bot.api.calls)
    bot.api.push_callback(ADMIN, picker, on_b)
    question = await bot.api.reply_to(ADMIN, "close the positions", after=mark)
    mark = len(bot.api.calls)
    bot.api.push_callback(ADMIN, question, question.buttons[1][1])  # keep
    await bot.api.reply_to(ADMIN, "Unfollowed", after=mark)
    assert (await _plan(ledger, two.b, two.source))["active"] is False
    assert (await _plan(ledger, two.a, two.source))["active"] is True
