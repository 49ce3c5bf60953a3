"""/inspect and /backtest through the fake Bot API, on a leader history scripted on the localnet with the
unmodified SDK: the text report (as the service renders it) and the PNG chart, and bad arguments
answered with what was expected."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from hyperliquid.info import Info

from adapters.hyperliquid.venue import HyperliquidVenue
from adapters.localnet.server import LocalnetThread
from bot.analytics import backtest_inputs, backtest_source, inspect_source
from tests.service.support import funded, market_open, sdk_exchange
from tests.telegram.conftest import ADMIN, Bot
from tests.telegram.fakebot import Call

# long ETH 1 → 1.5 → 0.8 → 0, SOL 20 → 0: a complete history, flat at the end
SCRIPT = [("ETH", True, "1"), ("SOL", True, "20"), ("ETH", True, "0.5"), ("ETH", False, "0.7")]
SCRIPT += [("SOL", False, "20"), ("ETH", False, "0.8")]


@pytest.fixture(scope="module")
def leader(localnet: LocalnetThread) -> str:
    with pytest.MonkeyPatch.context() as patch:
        from tests.service.support import unique_nonce

        patch.setattr("hyperliquid.exchange.get_timestamp_ms", unique_nonce)
        wallet = funded(localnet.url, "tg-analytics-leader", "100000")
        exchange = sdk_exchange(localnet.url, wallet)
        for coin, is_buy, size in SCRIPT:
            market_open(exchange, coin, is_buy, Decimal(size))
        exchange.session.close()
    return wallet.address.lower()


def _leader_fills(url: str, leader: str) -> int:
    info = Info(url, skip_ws=True)
    try:
        return len(info.user_fills(leader))
    finally:
        info.session.close()


async def _report(bot: Bot, request: str) -> tuple[str, Call]:
    """Send `request`; the text the bot answered before its chart, and the chart (sendPhoto)."""
    mark = await bot.say(ADMIN, request)
    photo = await bot.api.wait_for(lambda c: c.method == "sendPhoto" and c.chat_id == ADMIN, after=mark)
    end = bot.api.calls.index(photo)
    texts = [c.text for c in bot.api.calls[mark:end] if c.method == "sendMessage" and c.chat_id == ADMIN]
    return "\n".join(texts), photo


def _line(text: str, start: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(start))


async def test_inspect_answers_the_record_and_its_equity_curve(
    bot: Bot, leader: str, localnet: LocalnetThread, reads: HyperliquidVenue
) -> None:
    text, photo = await _report(bot, f"/inspect {leader} 1")
    fills = await asyncio.to_thread(_leader_fills, localnet.url, leader)
    assert text.startswith(f"Source {leader}")
    assert _line(text, "Fills").startswith(f"Fills: {fills} in")
    assert photo.params["photo_bytes"].startswith(b"\x89PNG") and leader in photo.text
    # The same numbers as the service call the CLI uses.
    direct = await inspect_source(leader, days=1, venue=reads)
    for label in ("Fills", "Realised PnL", "Fees", "Round trips", "Win rate"):
        assert _line(text, label) == _line(direct.text(), label)


async def test_backtest_replays_with_the_users_inputs_and_sends_the_chart(
    bot: Bot, leader: str, reads: HyperliquidVenue, localnet: LocalnetThread
) -> None:
    text, photo = await _report(bot, f"/backtest {leader} days=1 equity=2500 scaling=50 scale=ETH:25")
    assert f"Backtest of copying {leader}" in text and f"from venue {localnet.url}" in text
    settings = _line(text, "Follower equity")
    assert "2,500" in settings and "*=50 %" in settings and "ETH=25 %" in settings
    assert photo.params["photo_bytes"].startswith(b"\x89PNG") and "Source vs follower" in photo.text
    checked = backtest_inputs(equity="2500", scaling="50", scale={"ETH": "25"})
    direct = (await backtest_source(leader, checked, days=1, venue=reads)).text()
    for label in ("Decisions", "Source PnL", "Follower at the end"):
        assert _line(text, label) == _line(direct, label)
    entries = await bot.handle.room.service.ledger.audit_entries()
    assert any(e.action == "backtest" and e.details["address"] == leader for e in entries)


async def test_backtest_bad_arguments_say_what_was_expected(bot: Bot, leader: str) -> None:
    cases = [
        ("/backtest", "address: missing"),
        ("/backtest 0x12", "not an address: '0x12'"),
        ("/backtest 0x1234", "no followed source matches '0x1234'"),  # a prefix: of a follow
        (f"/backtest {leader} equity=-5", "equity"),
        (f"/backtest {leader} scaling=5000", "out of range: 5000"),
        (f"/backtest {leader} scaling=lots", "not a percentage: 'lots'"),
        (f"/backtest {leader} scale=ETH", "no percentage for ETH"),
        (f"/backtest {leader} leverage=3", "unknown leverage"),
        (f"/backtest {leader} 0", "days"),
        (f"/backtest {leader} 7 extra", "unexpected 'extra'"),
    ]
    for request, expected in cases:
        answer = await bot.ask(ADMIN, request, "Usage: /backtest")
        assert expected in answer, (request, answer)
    assert not [c for c in bot.api.calls if c.method == "sendPhoto"]  # nothing was replayed


async def test_the_short_address_and_10k_equity_are_accepted_as_scale_accepts_them(
    bot: Bot, localnet: LocalnetThread, leader: str
) -> None:
    """Issue #19 item 9: the short form replies show (and a prefix) names a followed source in /inspect
    and /backtest as in /scale; `equity=10k` is 10000 USD exactly; the /limits hint pastes back."""
    from bot.telegram.render import short
    from tests.telegram.support import connect

    await connect(bot, localnet, ADMIN, "paste")
    assert "Following" in await bot.ask(ADMIN, f"/follow {leader} ETH 100", "Following")
    assert "Updated" in await bot.ask(ADMIN, f"/scale {short(leader)} ETH 50", "Updated")
    text, _ = await _report(bot, f"/inspect {short(leader)} 1")
    assert leader in text or short(leader) in text
    text, _ = await _report(bot, f"/backtest {leader[:10]} days=1 equity=10k")
    assert "follower equity 10000 USD" in text
    hint = _line(await bot.ask(ADMIN, f"/limits {leader}", "Limits of"), "Change: ")
    assert "Updated" in await bot.ask(ADMIN, hint.removeprefix("Change: "), "Updated")
