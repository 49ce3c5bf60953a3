"""Issue #19 item 2: one unit per kind of setting. A value that looks like the other unit (`0.05` for a
percent, `0.5` for a scaling, `1` for a fraction) is applied only after a confirmation that says in plain
words what it will do; a normal value applies at once and the reply repeats it with its unit."""

from __future__ import annotations

from bot.ledger import Ledger
from tests.telegram.conftest import ADMIN, Bot
from tests.telegram.test_commands import Setup, _k, followed

__all__ = ["followed"]  # the fixture, re-used


async def _setting(ledger: Ledger, setup: Setup, key: str) -> object:
    plan = await ledger.current_plan(setup.follower, setup.source)
    assert plan is not None
    return plan.settings[key]


async def test_a_stop_loss_that_looks_like_a_fraction_asks_first(
    bot: Bot, followed: Setup, ledger: Ledger
) -> None:
    mark = await bot.say(ADMIN, f"/limits {followed.source} stop_loss_pct=0.05")
    question = await bot.api.reply_to(ADMIN, "Confirm within", after=mark)
    assert "0.05 %" in question.text and "stop-loss" in question.text and "type 5" in question.text
    assert [label for label, _ in question.buttons] == ["Confirm", "Cancel"]
    assert await _setting(ledger, followed, "stop_loss_pct") is None  # nothing applied yet
    mark = len(bot.api.calls)
    bot.api.push_callback(ADMIN, question, question.buttons[0][1])
    done = await bot.api.reply_to(ADMIN, "Updated", after=mark)
    assert "stop_loss_pct 0.05 % (was off)" in done.text
    assert await _setting(ledger, followed, "stop_loss_pct") == "0.05"


async def test_a_normal_limit_applies_at_once_and_the_reply_repeats_it_with_its_unit(
    bot: Bot, followed: Setup, ledger: Ledger
) -> None:
    text = await bot.ask(ADMIN, f"/limits {followed.source} stop_loss_pct=5", "Updated")
    assert "stop_loss_pct 5 % (was off)" in text
    assert await _setting(ledger, followed, "stop_loss_pct") == "5"
    text = await bot.ask(ADMIN, f"/limits {followed.source} daily_loss_limit=0.05", "Updated")
    assert "daily_loss_limit 0.05 (= 5 %) (was off)" in text  # a fraction: its unit named
    # A fraction key typed as a percent: refused, the unit named in the refusal.
    refused = await bot.ask(ADMIN, f"/limits {followed.source} daily_loss_limit=5", "out of range")
    assert "a fraction: 0.05 = 5 %" in refused
    # A fraction of 1 (= 100 %) looks like "1 %": asked first.
    mark = await bot.say(ADMIN, f"/limits {followed.source} daily_loss_limit=1")
    question = await bot.api.reply_to(ADMIN, "Confirm within", after=mark)
    assert "100 %" in question.text and "type 0.01" in question.text
    assert await _setting(ledger, followed, "daily_loss_limit") == "0.05"


async def test_a_scaling_that_looks_like_a_factor_asks_first(
    bot: Bot, followed: Setup, ledger: Ledger
) -> None:
    mark = await bot.say(ADMIN, f"/scale {followed.source} ETH 0.5")
    question = await bot.api.reply_to(ADMIN, "Confirm within", after=mark)
    assert "0.5 %" in question.text and "type 50" in question.text
    assert await _k(ledger, followed, "ETH") == "100"
    mark = len(bot.api.calls)
    bot.api.push_callback(ADMIN, question, question.buttons[0][1])
    done = await bot.api.reply_to(ADMIN, "Updated", after=mark)
    assert "scaling ETH 0.5 % (was 100 %)" in done.text
    assert await _k(ledger, followed, "ETH") == "0.5"
    text = await bot.ask(ADMIN, f"/scale {followed.source} ETH 50", "Updated")
    assert "scaling ETH 50 % (was 0.5 %)" in text
