"""Telegram `/status` shows the runner's persisted health (it may run in another process): running with
its heartbeat, the sync score and dead-man switch of the user's own followers, then "not running"."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from adapters.localnet.server import LocalnetThread
from bot.alerts import Alert, AlertKind
from bot.ledger import Ledger
from bot.pipeline.health import HealthRecorder
from bot.telegram.render import short
from tests.service.support import funded
from tests.telegram.conftest import ADMIN, Bot
from tests.telegram.support import connect


async def test_status_shows_the_runner_then_not_running(
    bot: Bot, localnet: LocalnetThread, ledger: Ledger
) -> None:
    master, _ = await connect(bot, localnet, ADMIN, "health")
    follower = master.address.lower()
    source = (await asyncio.to_thread(funded, localnet.url, "health-source", "50000")).address.lower()
    await bot.ask(ADMIN, f"/follow {source} ETH 100", "Following")
    someone_else = "0x" + "0" * 40
    scores = {follower: Decimal("87.5"), someone_else: Decimal(3)}
    recorder = HealthRecorder(ledger, bot.alerts, lambda: scores)
    recorder.armed(follower, 1_795_000_000_000)
    await recorder.start()
    running = await bot.ask(ADMIN, "/status", "Status")
    assert "runner running (heartbeat" in running
    assert f"sync score {short(follower)} 87.5" in running
    assert short(someone_else) not in running  # another owner's follower is not shown
    assert "dead-man switch until" in running

    await recorder.stop()
    stopped = await bot.ask(ADMIN, "/status", "Status")
    assert "runner not running (last seen" in stopped


async def test_status_counts_only_the_chats_own_alerts(
    bot: Bot, localnet: LocalnetThread, ledger: Ledger
) -> None:
    """Issue #19 item 10: the alert counts of `/status` are those of the chat's own accounts, never
    another owner's (the runner counts them per follower)."""
    master, _ = await connect(bot, localnet, ADMIN, "own-alerts")
    mine, someone_else = master.address.lower(), "0x" + "1" * 40
    recorder = HealthRecorder(ledger, bot.alerts, dict)
    await recorder.start()
    for follower, kind in (
        (mine, AlertKind.COPIED),
        (mine, AlertKind.COPIED),
        (someone_else, AlertKind.REJECTED),
    ):
        bot.alerts.publish(Alert(kind, "test_reason", "m", follower=follower, coin="ETH"))
    bot.alerts.publish(Alert(AlertKind.FAILURE, "pipeline_down", "m"))  # no account: the bot's admins
    await recorder.write()
    text = await bot.ask(ADMIN, "/status", "Status")
    assert "alerts (1h) copied/test_reason 2, failure/pipeline_down 1" in text
    assert "rejected" not in text
    await recorder.stop()
