"""Commands against a connected account on the localnet (no pipeline running): bad input answered with
what was expected, confirmations (and their expiry) for dangerous changes, limits, pause, alert modes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from adapters.localnet.server import LocalnetThread
from bot.alerts import Alert, AlertKind
from bot.ledger import Ledger
from bot.service.settings import settings_from_json
from bot.telegram.choices import Choices
from tests.service.support import funded
from tests.telegram.conftest import ADMIN, Bot
from tests.telegram.support import connect


@dataclass
class Setup:
    follower: str
    source: str


@pytest.fixture
async def followed(bot: Bot, localnet: LocalnetThread) -> AsyncIterator[Setup]:
    master, _ = await connect(bot, localnet, ADMIN, "cmd")
    source = (await asyncio.to_thread(funded, localnet.url, "cmd-source", "50000")).address.lower()
    assert "Following" in await bot.ask(ADMIN, f"/follow {source} ETH,BTC 100", "Following")
    yield Setup(master.address.lower(), source)


async def _k(ledger: Ledger, setup: Setup, coin: str) -> str:
    plan = await ledger.current_plan(setup.follower, setup.source)
    assert plan is not None
    return str(settings_from_json(plan.settings).config.k(coin))


async def test_bad_scale_arguments_are_answered_with_what_was_expected(
    bot: Bot, followed: Setup, ledger: Ledger
) -> None:
    src = followed.source
    negative = await bot.ask(ADMIN, f"/scale {src} ETH -5", "scale")
    assert "out of range: -5" in negative and "(0, 1000]" in negative and "Usage: /scale" in negative
    absurd = await bot.ask(ADMIN, f"/scale {src} ETH 5000%", "out of range")
    assert "out of range: 5000" in absurd
    word = await bot.ask(ADMIN, f"/scale {src} ETH lots", "percent")
    assert "not a percentage: 'lots'" in word
    unlisted = await bot.ask(ADMIN, f"/scale {src} NOPE 50", "not listed")
    assert "NOPE is not listed by the venue" in unlisted and "ETH" in unlisted
    stranger = await bot.ask(ADMIN, "/scale 0x" + "9" * 40 + " ETH 50", "do not follow")
    assert "you do not follow" in stranger
    # A left-out token or percentage is offered as buttons (tests/telegram/test_pickers.py), but what
    # was given is checked first.
    assert "NOPE is not listed" in await bot.ask(ADMIN, f"/scale {src} NOPE", "not listed")
    assert "out of range: 5000" in await bot.ask(ADMIN, f"/scale {src} 5000", "out of range")
    assert await _k(ledger, followed, "ETH") == "100"  # nothing was changed by any of them
    assert "Updated" in await bot.ask(ADMIN, f"/scale {src[:8]} ETH 50", "Updated")
    assert await _k(ledger, followed, "ETH") == "50"


async def test_follow_refuses_a_bad_address_and_an_unlisted_token(bot: Bot, followed: Setup) -> None:
    text = await bot.ask(ADMIN, "/follow 0x1234 ETH", "source")
    assert "source: not an address: '0x1234'" in text and "0x" in text
    text = await bot.ask(ADMIN, "/follow 0x" + "7" * 40 + " DOGEZ", "not listed")
    assert "DOGEZ is not listed" in text


async def test_scaling_above_100_needs_a_confirmation_that_expires(
    bot: Bot, followed: Setup, ledger: Ledger
) -> None:
    now = [0.0]
    bot.handle.room.choices = Choices(60.0, clock=lambda: now[0])
    mark = await bot.say(ADMIN, f"/scale {followed.source} BTC 250")
    question = await bot.api.reply_to(ADMIN, "Confirm within", after=mark)
    assert "MORE than the source's own risk" in question.text
    assert [label for label, _ in question.buttons] == ["Confirm", "Cancel"]
    assert await _k(ledger, followed, "BTC") == "100"
    now[0] = 61.0  # the button has expired
    mark = len(bot.api.calls)
    bot.api.push_callback(ADMIN, question, question.buttons[0][1])
    await bot.api.reply_to(ADMIN, "expired", after=mark)
    assert await _k(ledger, followed, "BTC") == "100"
    # Asked again and confirmed in time, it applies; the same button cannot be used twice.
    mark = await bot.say(ADMIN, f"/scale {followed.source} BTC 250")
    question = await bot.api.reply_to(ADMIN, "Confirm within", after=mark)
    mark = len(bot.api.calls)
    bot.api.push_callback(ADMIN, question, question.buttons[0][1])
    await bot.api.reply_to(ADMIN, "Updated", after=mark)
    assert await _k(ledger, followed, "BTC") == "250"
    # Another user cannot press someone else's button.
    mark = await bot.say(ADMIN, f"/scale {followed.source} ETH 300")
    question = await bot.api.reply_to(ADMIN, "Confirm within", after=mark)
    await bot.ask(ADMIN, "/invite 3003", "can now")
    mark = len(bot.api.calls)
    bot.api.push_callback(3003, question, question.buttons[0][1])
    await bot.api.wait_for(lambda c: c.method == "answerCallbackQuery", after=mark)
    assert await _k(ledger, followed, "ETH") == "100"


async def test_limits_show_set_and_raising_asks_first(bot: Bot, followed: Setup, ledger: Ledger) -> None:
    shown = await bot.ask(ADMIN, f"/limits {followed.source}", "Limits of")
    assert "max_notional_token: off" in shown and "slippage_cap: 0.01" in shown
    text = await bot.ask(ADMIN, f"/limits {followed.source} max_notional_token=1000", "Updated")
    assert "Updated" in text  # adding a cap only tightens: no question
    mark = await bot.say(ADMIN, f"/limits {followed.source} max_notional_token=5000")
    question = await bot.api.reply_to(ADMIN, "Confirm within", after=mark)
    assert "LOOSENS max_notional_token" in question.text
    plan = await ledger.current_plan(followed.follower, followed.source)
    assert plan is not None and plan.settings["max_notional_token"] == "1000"
    bad = await bot.ask(ADMIN, f"/limits {followed.source} max_fun=3", "not a limit")
    assert "max_fun: not a limit (accepted: max_notional_token" in bad


async def test_unfollow_asks_close_or_keep_and_close_is_confirmed(
    bot: Bot, followed: Setup, ledger: Ledger
) -> None:
    mark = await bot.say(ADMIN, "/unfollow")  # the only follow is picked without asking
    question = await bot.api.reply_to(ADMIN, "close the positions", after=mark)
    assert [label for label, _ in question.buttons] == ["Close positions", "Keep positions", "Cancel"]
    mark = len(bot.api.calls)
    bot.api.push_callback(ADMIN, question, question.buttons[1][1])
    await bot.api.reply_to(ADMIN, "Unfollowed", after=mark)
    plan = await ledger.current_plan(followed.follower, followed.source)
    assert plan is not None and plan.settings["active"] is False and plan.settings["release"] == "keep"


async def test_pause_resume_and_alert_modes(bot: Bot, followed: Setup) -> None:
    assert "Paused" in await bot.ask(ADMIN, "/pause", "Paused")
    assert (await bot.handle.room.control.states([followed.follower]))[followed.follower] == "paused"
    assert "Resumed" in await bot.ask(ADMIN, "/resume", "Resumed")
    modes = await bot.ask(ADMIN, "/alerts deferred silent", "Alerts")
    assert "deferred: silent" in modes and "copied: on" in modes
    assert "skipped: off" in await bot.ask(ADMIN, "/alerts skipped off", "Alerts")
    bad = await bot.ask(ADMIN, "/alerts copied loud", "mode")
    assert "mode: unknown value 'loud' (accepted: on, silent, off)" in bad

    mark = len(bot.api.calls)
    for kind in (AlertKind.SKIPPED, AlertKind.DEFERRED, AlertKind.COPIED):
        bot.alerts.publish(
            Alert(kind, "test", f"{kind.value} alert", followed.follower, followed.source, "ETH")
        )
    copied = await bot.api.reply_to(ADMIN, "copied alert", after=mark)
    sent = [c for c in bot.api.calls[mark:] if c.method == "sendMessage"]
    deferred = next(c for c in sent if "deferred alert" in c.text)
    assert deferred.params.get("disable_notification") is True
    assert copied.params.get("disable_notification") in (None, False)
    assert not any("skipped alert" in c.text for c in sent)
