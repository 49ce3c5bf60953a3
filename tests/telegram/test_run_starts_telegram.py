"""`mirrorbot run` starts the control room beside the pipeline when a token is set, and stops it."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from typer.testing import CliRunner

from adapters.localnet.server import LocalnetThread
from bot.cli import app
from bot.config import Settings
from bot.pipeline.runner import Runner, RunnerOptions
from bot.telegram.beside import beside_runner
from tests.telegram.conftest import ADMIN, OPTIONS, PASSWORD, TOKEN
from tests.telegram.fakebot import FakeBotApi

QUICK = RunnerOptions(plans_refresh_s=0.3, accounts_refresh_s=0.3, reconcile_s=0, dead_man_rearm_s=0)
# What `mirrorbot run` hands the runner (bot/cli/run.py): the control room beside the pipeline.
TELEGRAM = [beside_runner(OPTIONS)]


async def test_run_answers_telegram_while_copying_and_stops_it(
    fake_api: FakeBotApi, settings: Settings
) -> None:
    runner = Runner(settings, options=QUICK, companions=TELEGRAM)
    task = asyncio.create_task(runner.run(duration_s=60))
    try:
        await asyncio.wait_for(runner.ready.wait(), 30)
        mark = len(fake_api.calls)
        fake_api.push_message(ADMIN, "/help follow")  # one short answer (the full /help comes in chunks)
        answer = await fake_api.reply_to(ADMIN, "/follow", after=mark, wait_s=30)
        assert answer.method == "sendMessage"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    # The control room stopped with the runner: a message now gets no answer.
    mark = len(fake_api.calls)
    fake_api.push_message(ADMIN, "/help follow")
    await asyncio.sleep(1.5)  # a second poll would have been made by now; waiting, not measuring
    assert not [c for c in fake_api.calls[mark:] if c.method == "sendMessage"]
    assert runner.stopped.is_set()


async def test_run_without_a_token_runs_without_telegram(fake_api: FakeBotApi, settings: Settings) -> None:
    plain = settings.model_copy(update={"telegram_token": None})
    runner = Runner(plain, options=QUICK, companions=TELEGRAM)
    await runner.run(duration_s=0.5)
    assert runner.stopped.is_set()
    assert not [c for c in fake_api.calls if c.method in ("getUpdates", "getMe")]


async def test_the_runner_itself_starts_no_control_room(fake_api: FakeBotApi, settings: Settings) -> None:
    """The pipeline knows nothing of Telegram (issue #13): with a token set but no companion handed in,
    `run()` copies without ever asking the Bot API."""
    runner = Runner(settings, options=QUICK)
    await runner.run(duration_s=0.5)
    assert runner.stopped.is_set() and runner.companions == []
    assert not [c for c in fake_api.calls if c.method in ("getUpdates", "getMe")]


async def test_the_run_command_hands_the_runner_its_control_room(
    fake_api: FakeBotApi, settings: Settings, localnet: LocalnetThread
) -> None:
    """`mirrorbot run` (bot/cli/run.py) passes the control room to the runner: with a token it answers."""
    env = {
        "MIRROR_NETWORK": "localnet",
        "MIRROR_HL_API_URL": localnet.url,
        "MIRROR_DATA_DIR": str(settings.data_dir),
        "MIRROR_DATABASE_URL": settings.db_url,
        "MIRROR_KEYSTORE_PASSWORD": PASSWORD,
        "MIRROR_TELEGRAM_TOKEN": TOKEN,
        "MIRROR_TELEGRAM_API_URL": fake_api.url,
        "MIRROR_TELEGRAM_ADMINS": str(ADMIN),
    }
    # Its own event loop in a thread, as a separate `mirrorbot run` would have; it stops by itself.
    root = logging.getLogger()
    level = root.level
    try:
        result = await asyncio.to_thread(CliRunner().invoke, app, ["run", "--duration", "3"], env=env)
    finally:  # the command configured logging onto the runner's (closed) stream
        for handler in [h for h in root.handlers if getattr(h, "_mirror_handler", False)]:
            root.removeHandler(handler)
        root.setLevel(level)
    assert result.exit_code == 0, result.output
    assert "getMe" in [c.method for c in fake_api.calls]  # the control room started
