"""What users of freqtrade's Telegram bot expect (issue #19): /close one position (buttons, the same
confirmation and group approval as other dangerous changes), /positions with entry price and
unrealised PnL, /profit and /daily /weekly /monthly, the reply keyboard. Through the real
python-telegram-bot against the fake Bot API, on the localnet; each new command also takes hostile
arguments (property test) without an internal error or a change."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.localnet.server import LocalnetThread
from bot.domain import Side
from bot.ledger import Ledger
from bot.service.settings import settings_from_json
from bot.telegram.render import short
from tests.service.support import funded, market_open, sdk_exchange
from tests.telegram.conftest import ADMIN, Bot
from tests.telegram.support import connect
from tests.telegram.test_hostile import POISON, clear, first_answer, snapshot, unchanged_but_refusals

GROUP = -1004242
SECOND, THIRD = 2101, 2102
NEW_COMMANDS = ("close", "forceexit", "profit", "daily", "weekly", "monthly")


@dataclass
class Copying:
    follower: str
    source: str


async def _trade(localnet: LocalnetThread, account: object, coin: str, size: str) -> None:
    exchange = sdk_exchange(localnet.url, account)  # type: ignore[arg-type]
    await asyncio.to_thread(market_open, exchange, coin, True, Decimal(size))


@pytest.fixture
async def copying(bot: Bot, localnet: LocalnetThread) -> AsyncIterator[Copying]:
    """ADMIN's account follows a source for ETH and BTC, and holds ETH, BTC and SOL (SOL not copied)."""
    master, _ = await connect(bot, localnet, ADMIN, "closer")
    source = (await asyncio.to_thread(funded, localnet.url, "closer-source", "50000")).address.lower()
    assert "Following" in await bot.ask(ADMIN, f"/follow {source} ETH,BTC 100", "Following")
    for coin, size in (("ETH", "0.2"), ("BTC", "0.01"), ("SOL", "1")):
        await _trade(localnet, master, coin, size)
    yield Copying(master.address.lower(), source)


async def _press(bot: Bot, question_call: object, label: str, chat_type: str = "private") -> int:
    mark = len(bot.api.calls)
    buttons = dict(question_call.buttons)  # type: ignore[attr-defined]
    bot.api.push_callback(ADMIN, question_call, buttons[label], chat_type=chat_type)  # type: ignore[arg-type]
    return mark


async def test_positions_show_entry_price_and_unrealised_pnl_at_lot_precision(
    bot: Bot, copying: Copying
) -> None:
    text = await bot.ask(ADMIN, "/positions", "Positions")
    eth = next(line for line in text.splitlines() if line.strip().startswith("ETH from"))
    # Sizes rounded to the coin's lot (trailing zeros dropped), the entry in USD to cents, the PnL signed.
    assert f"ETH from {short(copying.source)}: 0 | +0.2 | 0 est. | +0.2 ($" in eth
    assert " · entry $" in eth and " · uPnL " in eth
    entry = eth.split(" · entry $")[1].split(" ")[0]
    assert len(entry.split(".")[1]) == 2  # cents
    sol = next(line for line in text.splitlines() if line.strip().startswith("SOL:"))
    assert "you +1 (not managed) · entry $" in sol


async def test_close_without_a_coin_offers_the_copied_positions_then_confirms_and_excludes_the_coin(
    bot: Bot, copying: Copying, ledger: Ledger
) -> None:
    mark = await bot.say(ADMIN, "/close")
    picker = await bot.api.reply_to(ADMIN, "which position?", after=mark)
    labels = [label for label, _ in picker.buttons]
    assert labels == ["BTC +0.01", "ETH +0.2", "Cancel"]  # SOL is not copied: not offered
    mark = await _press(bot, picker, "ETH +0.2")
    question = await bot.api.reply_to(ADMIN, "Confirm within", after=mark)
    assert "CLOSE your ETH position (+0.2 ETH, about $" in question.text
    assert "reduce-only market order" in question.text
    assert f"stop copying ETH from {short(copying.source)}" in question.text
    assert f"/tokens {short(copying.source)} include ETH" in question.text
    before = await ledger.current_plan(copying.follower, copying.source)
    assert before is not None and settings_from_json(before.settings).config.filters.covers("ETH")

    mark = await _press(bot, question, "Confirm")
    await bot.api.reply_to(ADMIN, "Updated", after=mark)
    plan = await ledger.current_plan(copying.follower, copying.source)
    assert plan is not None and plan.version == before.version + 1
    settings_ = settings_from_json(plan.settings)
    assert settings_.active and settings_.release == "close"  # the runner closes ETH (reduce-only)
    assert not settings_.config.filters.covers("ETH") and settings_.config.filters.covers("BTC")


async def test_close_refuses_what_it_cannot_close_and_changes_nothing(
    bot: Bot, copying: Copying, ledger: Ledger
) -> None:
    before = await snapshot(ledger)
    assert "you hold no DOGE position" in await bot.ask(ADMIN, "/close DOGE", "DOGE")
    sol = await bot.ask(ADMIN, "/close sol", "SOL")
    assert "not copied from any source" in sol and "close it on the venue" in sol
    refused = await bot.ask(ADMIN, "/close ETH BTC", "arguments")
    assert "arguments: unexpected 'BTC'" in refused and "Usage: /close" in refused
    await unchanged_but_refusals(ledger, before)


async def test_close_of_the_only_copied_coin_unfollows_after_a_confirmation(
    bot: Bot, localnet: LocalnetThread, ledger: Ledger
) -> None:
    master, _ = await connect(bot, localnet, ADMIN, "alone")
    source = (await asyncio.to_thread(funded, localnet.url, "alone-source", "50000")).address.lower()
    assert "Following" in await bot.ask(ADMIN, f"/follow {source} ETH 100", "Following")
    await _trade(localnet, master, "ETH", "0.1")
    mark = await bot.say(ADMIN, "/close ETH")
    question = await bot.api.reply_to(ADMIN, "Confirm within", after=mark)
    assert "ETH is the only token copied from" in question.text and "also unfollows it" in question.text
    mark = await _press(bot, question, "Confirm")
    await bot.api.reply_to(ADMIN, "Unfollowed", after=mark)
    plan = await ledger.current_plan(master.address.lower(), source)
    assert plan is not None
    assert not settings_from_json(plan.settings).active and plan.settings["release"] == "close"


async def test_close_in_a_group_waits_for_k_approvals(bot: Bot, copying: Copying, ledger: Ledger) -> None:
    for user in (SECOND,):
        await bot.ask(ADMIN, f"/invite {user}", "can now")

    def in_group(user: int, text: str, contains: str) -> asyncio.Future[str]:
        return asyncio.ensure_future(bot.ask(user, text, contains, chat=GROUP, chat_type="supergroup"))

    await in_group(ADMIN, f"/group admins {ADMIN},{SECOND},{THIRD} 2", "Group admins")
    await in_group(ADMIN, f"/group adopt {copying.follower}", "belongs")
    mark = await bot.say(ADMIN, "/close ETH", chat=GROUP, chat_type="supergroup")
    pending = await bot.api.reply_to(GROUP, ": 1 of 2", after=mark)
    assert "close ETH" in pending.text
    plan = await ledger.current_plan(copying.follower, copying.source)
    assert plan is not None and settings_from_json(plan.settings).config.filters.covers("ETH")
    mark = len(bot.api.calls)
    bot.api.push_callback(SECOND, pending, pending.buttons[0][1], chat_type="supergroup")
    await bot.api.reply_to(GROUP, "applied", after=mark)
    plan = await ledger.current_plan(copying.follower, copying.source)
    assert plan is not None and not settings_from_json(plan.settings).config.filters.covers("ETH")
    assert plan.settings["release"] == "close"


async def _fill(
    ledger: Ledger, account: str, n: int, coin: str, side: Side, size: str, px: str, start: str, **more: str
) -> None:
    when = datetime.fromisoformat(more.pop("time"))
    await ledger.record_fill(
        venue="hyperliquid",
        account=account,
        trade_id=str(900_000 + n),
        coin=coin,
        side=side,
        price=Decimal(px),
        size=Decimal(size),
        fee=Decimal(more.get("fee", "0")),
        time=when,
        closed_pnl=Decimal(more.get("pnl", "0")),
        start_position=Decimal(start),
        oid=800_000 + n,
    )


async def test_profit_and_period_pnl_from_the_ledgers_fills(
    bot: Bot, localnet: LocalnetThread, ledger: Ledger
) -> None:
    master, _ = await connect(bot, localnet, ADMIN, "profit")
    me = master.address.lower()
    now = datetime.now(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    yesterday, long_ago = today - timedelta(days=1), today - timedelta(days=40)
    minute = timedelta(minutes=1)
    at = {"today": today.isoformat(), "yesterday": yesterday.isoformat(), "long ago": long_ago.isoformat()}
    later = {k: (datetime.fromisoformat(v) + minute).isoformat() for k, v in at.items()}  # the closes
    # A win on ETH yesterday (+100 − 2 fees), a loss on BTC today (−50 − 1), one long ago (+10 − 0).
    await _fill(ledger, me, 1, "ETH", Side.BUY, "1", "2000", "0", fee="1", time=at["yesterday"])
    await _fill(
        ledger, me, 2, "ETH", Side.SELL, "1", "2100", "1", fee="1", pnl="100", time=later["yesterday"]
    )
    await _fill(ledger, me, 3, "BTC", Side.BUY, "0.01", "30000", "0", fee="0.5", time=at["today"])
    await _fill(
        ledger, me, 4, "BTC", Side.SELL, "0.01", "25000", "0.01", fee="0.5", pnl="-50", time=later["today"]
    )
    await _fill(ledger, me, 5, "SOL", Side.BUY, "1", "100", "0", time=at["long ago"])
    await _fill(ledger, me, 6, "SOL", Side.SELL, "1", "110", "1", pnl="10", time=later["long ago"])

    text = await bot.ask(ADMIN, "/profit", "Profit")
    assert "Profit (all time; funding not included)" in text
    assert "realised $60.00, fees $3.00, net $57.00 (6 fills)" in text
    assert "round trips closed 3, won 2, win rate 66.67 %" in text
    assert "max drawdown $51.00" in text  # +10, +108 (peak), +57
    month = await bot.ask(ADMIN, "/profit 30", "Profit")
    assert "realised $50.00, fees $3.00, net $47.00 (4 fills)" in month
    assert "round trips closed 2, won 1, win rate 50 %, profit factor 1.92" in month

    daily = await bot.ask(ADMIN, "/daily 3", "PnL per UTC day")
    lines = daily.splitlines()
    assert lines[1] == f"  {today:%Y-%m-%d}: -$51.00 (realised -$50.00, fees $1.00, 2 fills)"
    assert lines[2] == f"  {yesterday:%Y-%m-%d}: +$98.00 (realised $100.00, fees $2.00, 2 fills)"
    assert lines[3].endswith(": $0.00 (realised $0.00, fees $0.00, 0 fills)")
    assert lines[4] == "  total: $47.00"
    weekly = await bot.ask(ADMIN, "/weekly", "PnL per UTC week, last 8")
    assert weekly.count("week of ") == 8
    monthly = await bot.ask(ADMIN, "/monthly 3", "PnL per UTC month, last 3")
    assert f"  {today:%Y-%m}:" in monthly and "total: $57.00" in monthly  # 40 days back: within 3 months

    refused = await bot.ask(ADMIN, "/daily 91", "count")
    assert "count: out of range: 91 (accepted: a whole number from 1 to 90)" in refused


async def test_the_reply_keyboard_comes_with_start_and_help_in_private_only(bot: Bot) -> None:
    mark = await bot.say(ADMIN, "/start")
    welcome = await bot.api.reply_to(ADMIN, "Welcome", after=mark)
    keyboard = welcome.params["reply_markup"]["keyboard"]
    assert [b["text"] for b in keyboard[0]] == ["/status", "/positions", "/profit"]
    assert any(b["text"] == "/close" for row in keyboard for b in row)
    mark = await bot.say(ADMIN, "/help")
    shown = await bot.api.reply_to(ADMIN, "What you hold and made", after=mark)
    assert "keyboard" in shown.params["reply_markup"]
    group = shown.text.split("What you hold and made\n")[1].split("\n\n")[0].splitlines()
    listed = [line.split(" — ")[0] for line in group]
    assert listed == ["/positions", "/pnl", "/profit", "/daily", "/weekly", "/monthly", "/history", "/why"]
    stop_and_go = shown.text.split("Stop and go\n")[1].split("\n\n")[0]
    assert "/close — " in stop_and_go
    mark = await bot.say(ADMIN, "/help", chat=GROUP, chat_type="supergroup")
    in_group = await bot.api.reply_to(GROUP, "Commands", after=mark)
    assert not in_group.params.get("reply_markup")  # noisy for every member of a group
    # A press sends the command as text: it is run as typed.
    assert "No follower account" in await bot.ask(ADMIN, "/status", "No follower account")


def new_command_lines(source: str) -> st.SearchStrategy[str]:
    words = st.lists(
        st.sampled_from([source[:8], "ETH", "eth", "BTC", "SOL", "7", "52", "on=closer", "*", "all"]),
        max_size=2,
    )
    return st.builds(
        lambda name, before, poison, after: " ".join([f"/{name}", *before, poison, *after]),
        st.sampled_from(NEW_COMMANDS),
        words,
        POISON,
        words,
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_new_commands_take_hostile_arguments_with_one_clear_answer_and_no_change(
    bot: Bot, ledger: Ledger, copying: Copying, data: st.DataObject
) -> None:
    line = data.draw(new_command_lines(copying.source), label="command")
    before = await snapshot(ledger)
    mark = len(bot.api.calls)
    bot.api.push_message(ADMIN, line)
    clear(await first_answer(bot, mark))
    await asyncio.sleep(0.05)
    for call in bot.api.calls[mark:]:
        clear(call)
    await unchanged_but_refusals(ledger, before)
