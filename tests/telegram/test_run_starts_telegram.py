"""`mirrorbot run` starts the control room beside the pipeline when a token is set, and stops it."""

from __future__ import annotations

import asyncio
import contextlib

from bot.config import Settings
from bot.pipeline.runner import Runner, RunnerOptions
from tests.telegram.conftest import ADMIN, OPTIONS
from tests.telegram.fakebot import FakeBotApi

QUICK = RunnerOptions(
    plans_refresh_s=0.3, accounts_refresh_s=0.3, reconcile_s=0, dead_man_rearm_s=0, telegram=OPTIONS
)


async def test_run_answers_telegram_while_copying_and_stops_it(
    fake_api: FakeBotApi, settings: Settings
) -> None:
    runner = Runner(settings, options=QUICK)
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
    runner = Runner(plain, options=QUICK)
    await runner.run(duration_s=0.5)
    assert runner.stopped.is_set()
    assert not [c for c in fake_api.calls if c.method in ("getUpdates", "getMe")]
