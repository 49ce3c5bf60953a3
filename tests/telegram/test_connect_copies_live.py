"""Issue #19 item 1: accounts and follows changed while `mirrorbot run` runs take effect in the running
pipeline, without a restart, and the chat says when copying has actually started.

The real Runner (started by `Runner.run`, which starts the control room: the real python-telegram-bot
Application against the fake Bot API), on the localnet, the leader trading through the real SDK.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from eth_account import Account as EthAccount
from sqlmodel import col, delete
from typer.testing import CliRunner

from adapters.hyperliquid.info import InfoClient
from adapters.localnet.server import LocalnetThread
from bench.rig import LOCALNET_WEIGHT_PER_MINUTE
from bot.alerts import Alert, AlertBus, AlertKind
from bot.cli import app
from bot.config import Settings, load_settings
from bot.ledger import Ledger
from bot.ledger.db import session_factory
from bot.ledger.models import Account
from bot.pipeline.runner import Runner, RunnerOptions
from bot.telegram import AppContext, TelegramHandle, start_telegram
from bot.telegram.beside import beside_runner
from tests.service.support import funded, market_open, sdk_exchange, write_fast_keystore
from tests.telegram.conftest import ADMIN, OPTIONS, PASSWORD, TOKEN, Bot
from tests.telegram.fakebot import FakeBotApi
from tests.telegram.support import connect
from tests.waiting import wait_until

# The plans sync (which also loads new accounts) every 0.3 s: "within seconds" with a wide margin.
# Accounts re-read every 5 s, as a real budget would allow (the localnet's own budget is lifted below).
QUICK = RunnerOptions(plans_refresh_s=0.3, accounts_refresh_s=5.0, reconcile_s=0, dead_man_rearm_s=0)
PUSH_BOUND_S = 10.0  # the leader's fill → the follower's copied fill pushed to the chat


@pytest.fixture
def settings(fake_api: FakeBotApi, localnet: LocalnetThread, tmp_path: Path, db_url: str) -> Settings:
    """As the Telegram tests' settings, on SQLite and on PostgreSQL (recovery reads the ledger)."""
    return load_settings(
        network="localnet",
        hl_api_url=localnet.url,
        data_dir=tmp_path,
        database_url=db_url,
        keystore_password=PASSWORD,
        telegram_token=TOKEN,
        telegram_api_url=fake_api.url,
        telegram_admins=str(ADMIN),
        hl_weight_per_minute=LOCALNET_WEIGHT_PER_MINUTE,
    )


@dataclass
class Live:
    runner: Runner
    bot: Bot


@contextlib.asynccontextmanager
async def running(settings: Settings, fake_api: FakeBotApi) -> AsyncIterator[Live]:
    """`mirrorbot run` in this loop (its control room included) until the block ends."""
    runner = Runner(settings, options=QUICK, companions=[beside_runner(OPTIONS)])
    task = asyncio.create_task(runner.run(duration_s=600))
    try:
        await asyncio.wait_for(runner.ready.wait(), 60)

        async def chat_started() -> bool:
            return bool(runner.companions)

        await wait_until(chat_started, "the control room to start")
        (handle,) = runner.companions
        assert isinstance(handle, TelegramHandle)
        yield Live(runner, Bot(fake_api, handle, runner.alerts))
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _position(info: InfoClient, address: str, coin: str) -> Decimal:
    state = await info.account_state(address)
    return state.size(coin)


async def test_connect_follow_then_the_first_copied_fill_is_pushed_without_a_restart(
    fake_api: FakeBotApi, settings: Settings, localnet: LocalnetThread, info: InfoClient
) -> None:
    leader = await asyncio.to_thread(funded, localnet.url, "live-leader", "100000")
    async with running(settings, fake_api) as live:
        bot = live.bot
        assert "Welcome to mirrorbot" in await bot.ask(ADMIN, "/start", "Welcome")
        master, _ = await connect(bot, localnet, ADMIN, "live")
        follower = master.address.lower()
        mark = await bot.say(ADMIN, f"/follow {leader.address.lower()} ETH 100")
        answer = await bot.api.reply_to(ADMIN, "Following", after=mark)
        assert "Copying starts within seconds: you are told here once it has." in answer.text
        # The running pipeline has the account and the plan: said once, before any trade.
        started = await bot.api.reply_to(ADMIN, "Copying started", after=mark, wait_s=30)
        assert started.at - answer.at < PUSH_BOUND_S  # the next plans sync (0.3 s here), not a restart
        assert follower in started.text and leader.address.lower() in started.text
        assert follower in live.runner.copier.desks  # type: ignore[union-attr]

        # The leader trades: +2 ETH. ρ = 10,000 / 100,000 × 100% = 0.1 → +0.2 ETH, pushed to the chat.
        mark = len(bot.api.calls)
        await asyncio.to_thread(market_open, sdk_exchange(localnet.url, leader), "ETH", True, Decimal(2))
        traded = time.monotonic()
        copied = await bot.api.reply_to(ADMIN, "[copied]", after=mark, wait_s=30)
        assert "bought 0.2 ETH" in copied.text
        assert copied.at - traded < PUSH_BOUND_S
        assert await _position(info, follower, "ETH") == Decimal("0.2")


async def test_a_follow_made_with_no_runner_says_so_and_the_start_up_copies_are_pushed(
    bot: Bot, fake_api: FakeBotApi, settings: Settings, localnet: LocalnetThread, info: InfoClient
) -> None:
    """The control room alone (`mirrorbot telegram`): a follow is not copied yet, and the reply says so.
    Then `mirrorbot run` starts: the Copy Current join happens in its start-up, before its control room
    starts, and is still pushed."""
    leader = await asyncio.to_thread(funded, localnet.url, "cc-leader", "100000")
    await asyncio.to_thread(market_open, sdk_exchange(localnet.url, leader), "ETH", True, Decimal(2))
    master, _ = await connect(bot, localnet, ADMIN, "cc")
    # Scaling above 100% asks for a confirmation; the reply to Confirm must not imply it is copying.
    mark = await bot.say(ADMIN, f"/follow {leader.address.lower()} ETH 200 copy")
    question = await bot.api.reply_to(ADMIN, "Confirm within", after=mark)
    mark = len(bot.api.calls)
    bot.api.push_callback(ADMIN, question, dict(question.buttons)["Confirm"])
    answer = (await bot.api.reply_to(ADMIN, "Following", after=mark)).text
    assert "Not copying yet: no bot is running. Copying starts when `mirrorbot run` runs." in answer
    await bot.handle.stop()

    mark = len(fake_api.calls)
    async with running(settings, fake_api):
        started = await fake_api.reply_to(ADMIN, "Copying started", after=mark, wait_s=30)
        copied = await fake_api.reply_to(ADMIN, "[copied]", after=mark, wait_s=30)
        # Copy Current at 200%: ρ = 10,000 / 100,000 × 200% = 0.2 of the leader's open 2 ETH.
        assert "bought 0.4 ETH" in copied.text
        assert master.address.lower() in started.text
    assert await _position(info, master.address.lower(), "ETH") == Decimal("0.4")


def _cli(settings: Settings, url: str, *args: str, password: str = PASSWORD) -> None:
    env = {
        "MIRROR_DATA_DIR": str(settings.data_dir),
        "MIRROR_DATABASE_URL": settings.db_url,
        "MIRROR_HL_API_URL": url,
        "MIRROR_KEYSTORE_PASSWORD": password,
        "MIRROR_TELEGRAM_TOKEN": None,
    }
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.stderr


async def _add_account(
    settings: Settings, url: str, address: str, keystore: Path, *, password: str = PASSWORD
) -> None:
    """`mirrorbot account add` in another "process" (its own event loop), as while a runner runs."""
    args = ("account", "add", "--address", address, "--keystore", str(keystore))
    await asyncio.to_thread(_cli, settings, url, *args, password=password)


async def _agent_keystore(url: str, tag: str, path: Path, password: str) -> str:
    """A funded account with an approved agent whose key is in a keystore at `path`; its address."""
    master = await asyncio.to_thread(funded, url, tag, "10000")
    answer, agent_key = await asyncio.to_thread(sdk_exchange(url, master).approve_agent, "bot")
    assert answer["status"] == "ok", answer
    write_fast_keystore(path, password, bytes.fromhex(agent_key[2:]))
    return master.address.lower()


async def test_cli_account_add_is_picked_up_and_a_bad_keystore_stops_no_other(
    fake_api: FakeBotApi, settings: Settings, localnet: LocalnetThread, info: InfoClient, tmp_path: Path
) -> None:
    leader = await asyncio.to_thread(funded, localnet.url, "cli-leader", "100000")
    good = await _agent_keystore(localnet.url, "cli-good", tmp_path / "good.json", PASSWORD)
    bad = await _agent_keystore(localnet.url, "cli-bad", tmp_path / "bad.json", "another password")
    async with running(settings, fake_api) as live:
        runner = live.runner
        alerts = runner.alerts.subscribe()
        url = localnet.url
        # `mirrorbot account add` in another "process" (its own event loop) while the runner runs.
        # Registered by a CLI whose MIRROR_KEYSTORE_PASSWORD opens it, but not with the runner's password.
        await _add_account(settings, url, bad, tmp_path / "bad.json", password="another password")
        await asyncio.to_thread(_cli, settings, url, "follow", "add", leader.address, "--account", bad)
        refused = await _next(alerts, lambda a: a.reason == "account_skipped")
        assert refused.follower == bad and refused.kind is AlertKind.FAILURE
        assert "another password" not in refused.message

        await _add_account(settings, url, good, tmp_path / "good.json")
        await asyncio.to_thread(_cli, settings, url, "follow", "add", leader.address, "--account", good)
        started = await _next(alerts, lambda a: a.reason == "copying_started")
        assert started.follower == good
        await asyncio.to_thread(market_open, sdk_exchange(url, leader), "ETH", True, Decimal(2))
        copied = await _next(alerts, lambda a: a.kind is AlertKind.COPIED)
        assert copied.follower == good and "bought 0.2 ETH" in copied.message
        assert bad not in runner.copier.desks  # type: ignore[union-attr]
        # Not retried (and re-alerted) every plans sync while its keystore stays the same.
        assert [a for a in runner.alerts.recent if a.reason == "account_skipped"] == [refused]
    assert await _position(info, good, "ETH") == Decimal("0.2")
    assert await _position(info, bad, "ETH") == 0


async def _next(queue: asyncio.Queue[Alert], wanted: Callable[[Alert], bool], wait_s: float = 30.0) -> Alert:
    async def first() -> Alert:
        while True:
            alert = await queue.get()
            if wanted(alert):
                return alert

    try:
        return await asyncio.wait_for(first(), wait_s)
    except TimeoutError:
        pytest.fail("timed out waiting for an alert")


async def _remove_account(ledger: Ledger, address: str) -> None:
    """The account's row deleted, as removing the account from the ledger does (its history stays)."""
    async with session_factory(ledger.engine)() as session:
        await session.exec(delete(Account).where(col(Account.address) == address))
        await session.commit()


async def test_a_removed_account_is_dropped_and_re_added_it_is_recovered_without_a_second_order(
    fake_api: FakeBotApi, settings: Settings, localnet: LocalnetThread, info: InfoClient, tmp_path: Path
) -> None:
    url = localnet.url
    leader = await asyncio.to_thread(funded, url, "rm-leader", "100000")
    stays = await _agent_keystore(url, "rm-stays", tmp_path / "stays.json", PASSWORD)
    leaves = await _agent_keystore(url, "rm-leaves", tmp_path / "leaves.json", PASSWORD)
    for address, keystore in ((stays, "stays.json"), (leaves, "leaves.json")):
        await _add_account(settings, url, address, tmp_path / keystore)
        await asyncio.to_thread(_cli, settings, url, "follow", "add", leader.address, "--account", address)
    trade = sdk_exchange(url, leader)
    async with running(settings, fake_api) as live:
        runner = live.runner
        assert runner.copier is not None
        alerts = runner.alerts.subscribe()
        await asyncio.to_thread(market_open, trade, "ETH", True, Decimal(2))
        copied = {(await _next(alerts, _copied)).follower for _ in range(2)}
        assert copied == {stays, leaves}

        await _remove_account(runner.ledger, leaves)

        async def dropped() -> bool:
            return leaves not in runner.copier.desks  # type: ignore[union-attr]

        await wait_until(dropped, "the removed account to be dropped")
        await asyncio.to_thread(market_open, trade, "ETH", True, Decimal(2))  # the leader: 2 → 4 ETH
        after = await _next(alerts, _copied)
        assert after.follower == stays and "bought 0.2 ETH" in after.message
        assert await _position(info, leaves, "ETH") == Decimal("0.2")  # not traded once removed

        # Registered again: recovered like at a restart — its pair from the ledger (τ 0.2 at s = 2), the
        # move it missed (2 → 4) mirrored once as a change; its plan (already applied) is not re-joined.
        await _add_account(settings, url, leaves, tmp_path / "leaves.json")
        missed = await _next(alerts, lambda a: a.reason == "missed_source_change")
        assert "2 → 4" in missed.message
        back = await _next(alerts, _copied)
        assert back.follower == leaves and "bought 0.2 ETH" in back.message
        for _ in range(3):  # further plans syncs and account reads send nothing more
            await runner.sync_plans()
        await runner.refresh_accounts()
        assert not [
            a for a in runner.alerts.recent if a.reason == "copying_started" and a.follower == leaves
        ][1:]
    assert await _position(info, leaves, "ETH") == Decimal("0.4")
    assert await _position(info, stays, "ETH") == Decimal("0.4")


def _copied(alert: Alert) -> bool:
    return alert.kind is AlertKind.COPIED


async def test_alerts_published_before_the_control_room_started_are_pushed_once(
    fake_api: FakeBotApi, settings: Settings
) -> None:
    """`mirrorbot run` starts its control room after its start-up: what the start-up published is pushed
    when the chat starts, each alert once, before what is published afterwards."""
    bus = AlertBus()
    bus.publish(Alert(AlertKind.FAILURE, "early", "published before the chat started"))
    handle = await start_telegram(AppContext(settings, alerts=bus, options=OPTIONS))
    assert handle is not None
    try:
        mark = len(fake_api.calls)
        bus.publish(Alert(AlertKind.FAILURE, "late", "published after the chat started"))
        late = await fake_api.reply_to(ADMIN, "published after", after=0, wait_s=30)
        early = [c for c in fake_api.sent_to(ADMIN) if "published before" in c.text]
        # Delivered in order (the backlog, then the live queue): once `late` is here, so is every copy
        # of `early` there will ever be.
        assert len(early) == 1 and fake_api.calls.index(early[0]) < fake_api.calls.index(late)
        assert fake_api.calls.index(late) >= mark
    finally:
        await handle.stop()


async def test_an_agent_replaced_while_running_signs_from_the_next_plans_sync(
    fake_api: FakeBotApi, settings: Settings, localnet: LocalnetThread, info: InfoClient, tmp_path: Path
) -> None:
    url = localnet.url
    leader = await asyncio.to_thread(funded, url, "rk-leader", "100000")
    master = await asyncio.to_thread(funded, url, "rk-master", "10000")
    follower = master.address.lower()

    async def approve(name: str) -> str:  # under the same name: the venue revokes the previous agent
        answer, agent_key = await asyncio.to_thread(sdk_exchange(url, master).approve_agent, "bot")
        assert answer["status"] == "ok", answer
        write_fast_keystore(tmp_path / name, PASSWORD, bytes.fromhex(agent_key[2:]))
        return str(agent_key[2:])

    old = await approve("old.json")
    await _add_account(settings, url, follower, tmp_path / "old.json")
    await asyncio.to_thread(_cli, settings, url, "follow", "add", leader.address, "--account", follower)
    async with running(settings, fake_api) as live:
        runner = live.runner
        assert runner.copier is not None
        loaded = runner.copier.desks[follower].account.signer_key
        assert EthAccount.from_key(loaded).address == EthAccount.from_key("0x" + old).address
        alerts = runner.alerts.subscribe()
        new = await approve("new.json")  # the old agent is revoked on the venue from now on
        agent = EthAccount.from_key("0x" + new).address
        await runner.ledger.set_account_agent("hyperliquid", follower, agent, str(tmp_path / "new.json"))

        async def signer() -> str:  # the agent's address, so a failure never prints a key
            desk = runner.copier.desks.get(follower)  # type: ignore[union-attr]
            return "" if desk is None else str(EthAccount.from_key(desk.account.signer_key).address)

        await wait_until(signer, "the new agent's key to be loaded", equals=agent)
        await asyncio.to_thread(market_open, sdk_exchange(url, leader), "ETH", True, Decimal(2))
        copied = await _next(alerts, _copied)
        assert copied.follower == follower and "bought 0.2 ETH" in copied.message
    assert await _position(info, follower, "ETH") == Decimal("0.2")
