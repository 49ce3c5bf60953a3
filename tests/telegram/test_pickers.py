"""Token and percentage pickers: a command that leaves out its token (or percentage) is answered with
buttons listing the likely ones, and pressing one runs the command with it."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from adapters.localnet.server import LocalnetThread
from bot.ledger import Ledger
from bot.service.settings import settings_from_json
from strategies.config import FollowConfig
from tests.service.support import funded, market_open, sdk_exchange
from tests.telegram.conftest import ADMIN, Bot
from tests.telegram.fakebot import Call
from tests.telegram.support import connect


async def _follow_a_source_holding_sol(bot: Bot, localnet: LocalnetThread) -> tuple[str, str]:
    master, _ = await connect(bot, localnet, ADMIN, "pickers")
    wallet = await asyncio.to_thread(funded, localnet.url, "pickers-source", "50000")
    exchange = sdk_exchange(localnet.url, wallet)
    await asyncio.to_thread(market_open, exchange, "SOL", True, Decimal(20))
    exchange.session.close()
    source = wallet.address.lower()
    assert "Following" in await bot.ask(ADMIN, f"/follow {source} 100", "Following")
    return master.address.lower(), source


async def _config(ledger: Ledger, follower: str, source: str) -> FollowConfig:
    plan = await ledger.current_plan(follower, source)
    assert plan is not None
    return settings_from_json(plan.settings).config


async def _question(bot: Bot, request: str, contains: str) -> Call:
    mark = await bot.say(ADMIN, request)
    return await bot.api.reply_to(ADMIN, contains, after=mark)


async def _press(bot: Bot, question: Call, label: str, answer: str) -> Call:
    mark = len(bot.api.calls)
    bot.api.push_callback(ADMIN, question, dict(question.buttons)[label])
    return await bot.api.reply_to(ADMIN, answer, after=mark)


def _labels(call: Call) -> list[str]:
    return [label for label, _ in call.buttons]


async def test_scale_without_a_token_or_a_percentage_offers_them(
    bot: Bot, localnet: LocalnetThread, ledger: Ledger
) -> None:
    follower, source = await _follow_a_source_holding_sol(bot, localnet)
    # The token left out: the source's coins (it holds SOL; the follow covers every token) and `*`.
    question = await _question(bot, f"/scale {source} 80", "which token?")
    assert _labels(question) == ["SOL", "* (default)", "Cancel"]
    await _press(bot, question, "SOL", "Updated")
    assert (await _config(ledger, follower, source)).k("SOL") == 80
    # Nothing named at all (a single follow: its source is taken): token, then percentage.
    question = await _question(bot, "/scale", "which token?")
    assert _labels(question)[0] == "SOL"
    percents = await _press(bot, question, "SOL", "which percentage?")
    assert _labels(percents) == ["25%", "50%", "75%", "100%", "150%", "200%", "Cancel"]
    await _press(bot, percents, "50%", "Updated")
    assert (await _config(ledger, follower, source)).k("SOL") == 50
    # Above 100% the pressed percentage still needs its confirmation.
    percents = await _question(bot, f"/scale {source} *", "which percentage?")
    confirm = await _press(bot, percents, "200%", "Confirm within")
    assert "MORE than the source's own risk" in confirm.text
    assert (await _config(ledger, follower, source)).k("ETH") == 100


async def test_tokens_offers_include_exclude_and_the_coins(
    bot: Bot, localnet: LocalnetThread, ledger: Ledger
) -> None:
    follower, source = await _follow_a_source_holding_sol(bot, localnet)
    view = await _question(bot, "/tokens", "Tokens copied from")
    assert _labels(view) == ["Include…", "Exclude…", "All tokens", "Cancel"]
    coins = await _press(bot, view, "Exclude…", "which token?")
    assert _labels(coins) == ["SOL", "Cancel"]
    dropped = await _press(bot, coins, "SOL", "close or keep")  # the service's question, unchanged
    await _press(bot, dropped, "Keep them", "Updated")
    assert not (await _config(ledger, follower, source)).filters.covers("SOL")
    # Excluded now: not offered for exclusion or scaling again, offered for inclusion.
    assert "SOL" not in _labels(await _question(bot, f"/tokens {source} exclude", "which token?"))
    assert "SOL" in _labels(await _question(bot, f"/tokens {source} include", "which token?"))


async def _update_tokens(bot: Bot, request: str) -> None:
    """Run a /tokens change; when it drops tokens the service asks close or keep: keep."""
    answer = await _question(bot, request, "")
    if "close or keep" in answer.text:
        answer = await _press(bot, answer, "Keep them", "Updated")
    assert "Updated" in answer.text, answer.text


async def test_tokens_include_adds_exclude_removes_only_sets_the_list(
    bot: Bot, localnet: LocalnetThread, ledger: Ledger
) -> None:
    """Issue #19 item 5: `include` used to replace the list, and the picker offered copied tokens."""
    follower, source = await _follow_a_source_holding_sol(bot, localnet)  # every token copied
    offered = await _question(bot, f"/tokens {source} include", "which token?")
    assert "SOL" not in _labels(offered)  # SOL is copied already: nothing to include
    await _update_tokens(bot, f"/tokens {source} only ETH,BTC")
    assert (await _config(ledger, follower, source)).filters.include == frozenset({"ETH", "BTC"})
    assert _labels(await _question(bot, f"/tokens {source} include", "which token?"))[0] == "SOL"
    await _update_tokens(bot, f"/tokens {source} include SOL")
    assert (await _config(ledger, follower, source)).filters.include == frozenset({"ETH", "BTC", "SOL"})
    await _update_tokens(bot, f"/tokens {source} exclude BTC")
    filters = (await _config(ledger, follower, source)).filters
    assert [c for c in ("ETH", "BTC", "SOL") if filters.covers(c)] == ["ETH", "SOL"]
    await _update_tokens(bot, f"/tokens {source} all")
    await _update_tokens(bot, f"/tokens {source} exclude DOGE")
    await _update_tokens(bot, f"/tokens {source} exclude SOL")
    filters = (await _config(ledger, follower, source)).filters
    assert not filters.covers("DOGE") and not filters.covers("SOL") and filters.covers("ETH")
    await _update_tokens(bot, f"/tokens {source} include DOGE")
    filters = (await _config(ledger, follower, source)).filters
    assert filters.covers("DOGE") and not filters.covers("SOL")
