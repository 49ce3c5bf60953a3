"""End to end: the real python-telegram-bot Application (fake Bot API), the real pipeline (Runner) and
the localnet, driven through the unmodified hyperliquid-python-sdk.

A user connects (the pasted key is deleted from the chat and stored encrypted), follows a source with
per-token scaling, the leader trades, the user receives the fill alert and sees /positions; /stop asks
for its confirmation, then flattens the follower on the venue. Another user sees none of it.
"""

from __future__ import annotations

import asyncio
import json
import re
import stat
from decimal import Decimal

from adapters.hyperliquid.info import InfoClient
from adapters.localnet.server import LocalnetThread
from bot.config import Settings
from bot.ledger import Ledger
from bot.pipeline.runner import Runner, RunnerOptions
from bot.service.settings import settings_from_json
from tests.service.support import funded, market_open, sdk_exchange
from tests.telegram.conftest import ADMIN, Bot
from tests.telegram.support import connect
from tests.waiting import wait_until

OTHER = 2002


async def test_connect_follow_copy_alert_positions_and_stop(
    bot: Bot, localnet: LocalnetThread, settings: Settings, ledger: Ledger, info: InfoClient
) -> None:
    leader = await asyncio.to_thread(funded, localnet.url, "leader", "100000")
    master, agent_key = await connect(bot, localnet, ADMIN, "main")
    follower = master.address.lower()

    # The key is stored encrypted, 0600, and is nowhere in clear: not the keystore, ledger or audit log.
    account = await ledger.get_account("hyperliquid", follower)
    assert account is not None and account.owner == f"telegram:{ADMIN}" and account.keystore_path
    keystore = settings.data_dir / "keystores" / account.keystore_path.rsplit("/", 1)[-1]
    assert stat.S_IMODE(keystore.stat().st_mode) == 0o600
    secret = agent_key.removeprefix("0x")
    assert secret not in keystore.read_text()
    audit = json.dumps([e.details for e in await ledger.audit_entries(limit=1000)])
    assert secret not in audit and "crypto" not in audit

    # Follow with per-token scaling: ETH at 50%, everything else at 100%.
    leader_address = leader.address.lower()
    assert "Following" in await bot.ask(ADMIN, f"/follow {leader_address} ETH:50,BTC 100", "Following")
    plan = await ledger.current_plan(follower, leader_address)
    assert plan is not None
    config = settings_from_json(plan.settings).config
    assert config.k("ETH") == Decimal(50) and config.k("BTC") == Decimal(100)

    runner = Runner(
        settings,
        ledger=ledger,
        alerts=bot.alerts,
        options=RunnerOptions(plans_refresh_s=0.3, accounts_refresh_s=1.0, reconcile_s=0, dead_man_rearm_s=0),
    )
    await runner.start()
    try:
        await bot.handle.attach_runner(runner)
        # The leader trades with the real SDK: +2 ETH. ρ = 10,000 / 100,000 × 50% = 0.05 → +0.1 ETH.
        mark = len(bot.api.calls)
        await asyncio.to_thread(market_open, sdk_exchange(localnet.url, leader), "ETH", True, Decimal(2))
        alert = await bot.api.reply_to(ADMIN, "[copied]", after=mark)
        assert "bought 0.1 ETH" in alert.text and "ETH" in alert.text
        # Its value in USD and the short id /why takes back (issue #19).
        assert re.search(r"bought 0\.1 ETH at [\d.]+ · \$[\d,]+\.\d\d\n", alert.text), alert.text
        short_id = re.findall(r"explain: /why ([0-9a-f]{12})$", alert.text)[0]
        assert f"Decision {short_id}" in await bot.ask(ADMIN, f"/why {short_id}", "Decision")

        positions = await bot.ask(ADMIN, "/positions", "Positions")
        assert f"ETH from {leader_address[:6]}" in positions
        assert "+2 | +0.1 | +0.1 | 0" in positions
        # The refresh button re-renders in place; an unchanged text is no error.
        shown = bot.api.sent_to(ADMIN)[-1]
        assert shown.buttons == [("↻ Refresh", "rf:positions")]
        mark = len(bot.api.calls)
        bot.api.push_callback(ADMIN, shown, "rf:positions")
        await bot.api.wait_for(lambda c: c.method == "answerCallbackQuery", after=mark)
        assert not [c for c in bot.api.calls[mark:] if c.method == "sendMessage"]

        # Charts come as PNG photos.
        for request, caption in (("/chart", "Exposure per coin"), ("/chart tracking ETH", "Tracking ETH")):
            mark = await bot.say(ADMIN, request)
            photo = await bot.api.wait_for(lambda c: c.method == "sendPhoto", after=mark)
            assert photo.text.startswith(caption) and photo.params["photo_bytes"].startswith(b"\x89PNG")

        # Someone else sees none of it.
        await bot.ask(ADMIN, f"/invite {OTHER}", "can now")
        assert "no follower account" in await bot.ask(OTHER, "/positions", "no follower account")
        # The copy's fills reach the ledger in the follower's next batched read (bot/pipeline/fills.py).
        assert runner.copier is not None
        await asyncio.wait_for(runner.copier.settler.fills.wait_idle(), 30)
        history = await bot.ask(ADMIN, "/history", "Latest fills")
        assert re.search(r" ETH \w+ 0\.1 @ [\d.]+ · \$[\d,]+\.\d\d · fee \$\d+\.\d\d · tid ", history), (
            history
        )
        trade_id = history.rsplit("tid ", 1)[1].strip()
        assert "Nothing of yours" in await bot.ask(OTHER, f"/why {trade_id}", "Nothing")
        lineage = await bot.ask(ADMIN, f"/why {trade_id}", f"trade {trade_id}")
        assert "ETH" in lineage and leader_address in lineage

        # /stop asks first: nothing changes until the button is pressed.
        question_mark = len(bot.api.calls)
        await bot.say(ADMIN, "/stop")
        question = await bot.api.reply_to(ADMIN, "Confirm within", after=question_mark)
        plan = await ledger.current_plan(follower, leader_address)
        assert plan is not None and settings_from_json(plan.settings).active
        confirm = next(data for label, data in question.buttons if label == "Confirm")
        mark = len(bot.api.calls)
        bot.api.push_callback(ADMIN, question, confirm)
        await bot.api.reply_to(ADMIN, "STOPPED", after=mark)

        async def flat() -> bool:
            return (await info.account_state(follower)).size("ETH") == 0

        await wait_until(flat, "the follower's ETH position to be closed")
        # The close is alerted with the venue's realised PnL once its fills are recorded (issue #19).
        closed = await bot.api.reply_to(ADMIN, "sold 0.1 ETH", after=mark, wait_s=60)
        assert re.search(r"realised PnL [+-]?\$[\d,]+\.\d\d \(position closed\)", closed.text), closed.text
        plan = await ledger.current_plan(follower, leader_address)
        assert plan is not None and plan.settings["active"] is False and plan.settings["release"] == "close"
        states = await bot.handle.room.control.states([follower])
        assert states[follower] == "stopped"
        assert (await info.account_state(leader_address)).size("ETH") == Decimal(2)  # never ours to touch
        # /positions still shows what the source holds, and says copying is stopped (issue #19).
        after = await bot.ask(ADMIN, "/positions", "Positions")
        assert "Copying is stopped" in after
        assert f"ETH from {leader_address[:6]}…{leader_address[-4:]}: +2 · copying stopped" in after
    finally:
        await runner.stop()
