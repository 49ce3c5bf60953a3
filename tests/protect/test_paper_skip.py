"""A venue without trigger orders (the paper venue reports `trigger_orders=False`): a follow that asks
for a stop-loss is still copied, the protection is skipped with a logged reason, and nothing is placed
or refused."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils.crypto import keccak
from hyperliquid.exchange import Exchange

from adapters.hyperliquid.venue import HyperliquidVenue
from adapters.paper import PaperVenue
from bot.alerts import AlertKind
from bot.cli.paper import paper_db_url, paper_runner
from bot.config import load_settings
from bot.ledger import Ledger
from bot.pipeline.runner import RunnerOptions
from bot.service import Actor, MirrorService
from tests.paper.conftest import Net, net, paper_address
from tests.waiting import wait_until

__all__ = ["net"]  # the fixture, used by name

D = Decimal
QUIET = RunnerOptions(accounts_refresh_s=0, reconcile_s=0, dead_man_rearm_s=0, plans_refresh_s=0)


async def test_the_paper_venue_skips_protection_with_a_logged_reason(
    net: Net, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(hl_api_url=net.url, data_dir=tmp_path, network="localnet")
    settings = settings.model_copy(update={"database_url": paper_db_url(settings, None)})
    follower = paper_address()
    leader = Account.from_key(keccak(text="mirrorbot-protect-paper-leader"))
    await net.control({"type": "fund", "user": leader.address, "usdc": "1000000"})
    await net.control({"type": "setMids", "mids": {"ETH": "3000"}})
    reads = HyperliquidVenue(net.url, data_dir=None)
    runner = await paper_runner(
        settings,
        followers={follower: D(10_000)},
        state_path=tmp_path / "paper.json",
        reads=reads,
        options=QUIET,
    )
    async with await Ledger.open(settings.db_url) as ledger:
        await MirrorService(ledger).follow_add(
            Actor.cli("test"), follower, leader.address.lower(), stop_loss_pct="5"
        )
    await runner.start()
    try:
        paper = runner.venue
        assert isinstance(paper, PaperVenue) and not paper.capabilities.trigger_orders
        exchange = await asyncio.to_thread(lambda: Exchange(leader, base_url=net.url))
        await asyncio.to_thread(exchange.market_open, "ETH", True, 10.0)

        async def copied() -> bool:
            return (await paper.account(follower)).size("ETH") == D("0.1")

        await wait_until(copied, "the follower copied")

        with caplog.at_level(logging.INFO, logger="bot.pipeline.protect"):
            await runner.refresh_accounts()
            assert runner.protector is not None
            await runner.protector.wait_idle()

        skipped = [r for r in caplog.records if r.getMessage() == "protect_skipped"]
        assert len(skipped) == 1 and skipped[0].levelno == logging.WARNING
        assert runner.copier is not None
        assert await paper.open_orders(runner.copier.desks[follower.lower()].account) == []
        assert not runner.alerts.of_kind(AlertKind.REJECTED)
        assert not runner.alerts.of_kind(AlertKind.FAILURE)
        assert (await paper.account(follower)).size("ETH") == D("0.1")
    finally:
        await runner.stop()
