"""/close in a running bot (issue #19): the position is closed by the pipeline's own order path — one
reduce-only order for the coin — and the coin is no longer copied while the follow's other tokens are.

The real Runner (its control room included) on the localnet, the leader trading through the real SDK,
the chat through the real python-telegram-bot against the fake Bot API.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlmodel import col, select

from adapters.hyperliquid.info import InfoClient
from adapters.localnet.server import LocalnetThread
from bot.config import Settings
from bot.ledger.db import session_factory
from bot.ledger.models import OrderIntent
from tests.service.support import funded, market_open, sdk_exchange
from tests.telegram.conftest import ADMIN
from tests.telegram.fakebot import FakeBotApi
from tests.telegram.support import connect
from tests.telegram.test_connect_copies_live import running
from tests.waiting import wait_until


async def test_close_sends_one_reduce_only_order_through_the_pipeline_and_stops_copying_the_coin(
    fake_api: FakeBotApi, settings: Settings, localnet: LocalnetThread, info: InfoClient
) -> None:
    leader = await asyncio.to_thread(funded, localnet.url, "close-leader", "100000")
    leads = sdk_exchange(localnet.url, leader)

    async def held(coin: str) -> Decimal:
        return (await info.account_state(follower)).size(coin)

    async with running(settings, fake_api) as live:
        bot = live.bot
        master, _ = await connect(bot, localnet, ADMIN, "close-live")
        follower = master.address.lower()
        mark = await bot.say(ADMIN, f"/follow {leader.address.lower()} ETH,BTC 100")
        await bot.api.reply_to(ADMIN, "Copying started", after=mark, wait_s=30)
        # ρ = 10,000 / 100,000 × 100% = 0.1: +2 ETH → +0.2 ETH, +0.1 BTC → +0.01 BTC.
        await asyncio.to_thread(market_open, leads, "ETH", True, Decimal(2))
        await asyncio.to_thread(market_open, leads, "BTC", True, Decimal("0.1"))
        await wait_until(lambda: held("ETH"), "ETH copied", equals=Decimal("0.2"))
        await wait_until(lambda: held("BTC"), "BTC copied", equals=Decimal("0.01"))

        mark = await bot.say(ADMIN, "/close ETH")
        question = await bot.api.reply_to(ADMIN, "Confirm within", after=mark)
        mark = len(bot.api.calls)
        bot.api.push_callback(ADMIN, question, dict(question.buttons)["Confirm"])
        await bot.api.reply_to(ADMIN, "Updated", after=mark)
        await wait_until(lambda: held("ETH"), "ETH closed", equals=Decimal(0))
        assert await held("BTC") == Decimal("0.01")  # the follow's other token is untouched

        async with session_factory(live.runner.ledger.engine)() as session:
            query = select(OrderIntent).where(OrderIntent.account == follower, OrderIntent.coin == "ETH")
            intents = list((await session.exec(query.order_by(col(OrderIntent.id)))).all())
        assert [(i.side, i.size, i.reduce_only) for i in intents] == [
            ("buy", Decimal("0.2"), False),
            ("sell", Decimal("0.2"), True),  # the close: one reduce-only order, by the pipeline
        ]

        # The leader trades both coins again: BTC is copied, ETH no longer (excluded by the close).
        await asyncio.to_thread(market_open, leads, "ETH", True, Decimal(1))
        await asyncio.to_thread(market_open, leads, "BTC", True, Decimal("0.1"))
        await wait_until(lambda: held("BTC"), "BTC copied again", equals=Decimal("0.02"))
        assert await held("ETH") == Decimal(0)
