"""Read-outs that say what is true (issue #19 item 10): a source position the follower intentionally does
not hold (Copy Current off) is "not joined", not drift."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from adapters.localnet.server import LocalnetThread
from tests.service.support import funded, market_open, sdk_exchange
from tests.telegram.conftest import ADMIN, Bot
from tests.telegram.support import connect


async def test_an_unjoined_copy_current_position_is_not_drift(bot: Bot, localnet: LocalnetThread) -> None:
    source = await asyncio.to_thread(funded, localnet.url, "unjoined-source", "50000")
    await asyncio.to_thread(market_open, sdk_exchange(localnet.url, source), "ETH", True, Decimal(2))
    await connect(bot, localnet, ADMIN, "unjoined")
    address = source.address.lower()
    assert "Following" in await bot.ask(ADMIN, f"/follow {address} ETH 100", "Following")  # no `copy`

    shown = await bot.ask(ADMIN, "/positions", "Positions")
    line = next(line for line in shown.splitlines() if line.strip().startswith("ETH from"))
    assert line.endswith("+2 · not joined (Copy Current off)"), line
    assert "| -" not in shown  # no drift is claimed
