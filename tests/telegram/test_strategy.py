"""/strategy: a follow's sizing strategy (portfolio-allocation mode, SPEC §9) and its out-of-sync policy,
shown and set from Telegram like the other follow settings; bad input changes nothing and says what is
accepted, in one line."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from adapters.localnet.server import LocalnetThread
from bot.ledger import Ledger
from tests.service.support import funded
from tests.telegram.conftest import ADMIN, Bot
from tests.telegram.support import connect


@dataclass
class Setup:
    follower: str
    source: str


@pytest.fixture
async def followed(bot: Bot, localnet: LocalnetThread) -> AsyncIterator[Setup]:
    master, _ = await connect(bot, localnet, ADMIN, "strategy")
    source = (await asyncio.to_thread(funded, localnet.url, "strategy-source", "50000")).address.lower()
    assert "Following" in await bot.ask(ADMIN, f"/follow {source} ETH 100", "Following")
    yield Setup(master.address.lower(), source)


async def _settings(ledger: Ledger, setup: Setup) -> dict[str, Any]:
    plan = await ledger.current_plan(setup.follower, setup.source)
    assert plan is not None
    return dict(plan.settings)


async def test_strategy_shows_sets_allocation_and_switches_back(
    bot: Bot, followed: Setup, ledger: Ledger
) -> None:
    src = followed.source
    shown = await bot.ask(ADMIN, f"/strategy {src}", "Strategy of")
    assert "strategy: mirror" in shown and "out_of_sync: catch_up" in shown
    text = await bot.ask(
        ADMIN, f"/strategy {src} allocation rebalance_band_pct=2 out_of_sync=rebalance", "Updated"
    )
    assert "Updated" in text
    doc = await _settings(ledger, followed)
    assert (doc["strategy"], doc["rebalance_band_pct"], doc["rebalance_trigger_pct"]) == (
        "allocation",
        "2",
        "5",
    )
    assert (doc["rebalance_every"], doc["out_of_sync"]) == (900, "rebalance")
    shown = await bot.ask(ADMIN, f"/strategy {src}", "Strategy of")
    assert "strategy: allocation" in shown and "rebalance_band_pct: 2" in shown

    # Back to mirror: the allocation keys go with the old strategy (no refusal for leftovers).
    assert "Updated" in await bot.ask(ADMIN, f"/strategy {src} mirror", "Updated")
    doc = await _settings(ledger, followed)
    assert doc["strategy"] == "mirror" and doc["rebalance_band_pct"] is None


async def test_bad_strategy_input_changes_nothing_and_names_what_is_accepted(
    bot: Bot, followed: Setup, ledger: Ledger
) -> None:
    src = followed.source
    before = await _settings(ledger, followed)
    word = await bot.ask(ADMIN, f"/strategy {src} yolo", "strategy")
    assert (
        "strategy: unknown value 'yolo' (accepted: mirror, fixed_ratio, fixed_notional, allocation)" in word
    )
    wide = await bot.ask(ADMIN, f"/strategy {src} allocation rebalance_band_pct=250", "out of range")
    assert "rebalance_band_pct" in wide and "[0, 100]" in wide
    narrow = await bot.ask(
        ADMIN, f"/strategy {src} allocation rebalance_band_pct=3 rebalance_trigger_pct=2", "narrower"
    )
    assert "rebalance_trigger_pct: 2 is narrower than rebalance_band_pct 3" in narrow
    other = await bot.ask(ADMIN, f"/strategy {src} rebalance_band_pct=2", "only for strategy")
    assert "rebalance_band_pct: only for strategy allocation, not mirror" in other
    policy = await bot.ask(ADMIN, f"/strategy {src} out_of_sync=ignore", "out_of_sync")
    assert "accepted: catch_up, restrict, pause, rebalance" in policy
    unknown = await bot.ask(ADMIN, f"/strategy {src} max_fun=3", "unknown")
    assert "max_fun" in unknown
    assert await _settings(ledger, followed) == before
