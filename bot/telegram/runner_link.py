"""The control hooks for a pipeline running in this process (bot/pipeline/runner.py's Runner): pause
and resume reach the follower's engine at once; stop cancels our resting orders (the ones with our
cloids) and applies the unfollow-with-close plan versions now instead of at the next plan refresh."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.ledger import Ledger
from bot.logs import log_event
from bot.service import runner_health

if TYPE_CHECKING:
    from bot.pipeline.runner import Runner

log = logging.getLogger(__name__)


class RunnerHooks:
    """Owner controls reach the running pipeline through its OwnerControls (bot/pipeline/owner_controls.py),
    the one path that pauses, resumes and cancels our orders through the order manager. A follower with
    no desk yet (the runner not started, or the account not loaded) is picked up at the runner's start or
    its next plans sync, which read the same ledger rows."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    async def paused(self, follower: str, paused: bool) -> None:
        if self.runner.controls is not None:
            await self.runner.controls.sync([follower])  # the row OwnerService just wrote

    async def stopped(self, follower: str) -> None:
        copier, controls = self.runner.copier, self.runner.controls
        desk = None if copier is None else copier.desks.get(follower)
        if desk is None or controls is None:
            return
        await controls.sync([follower])  # cancels our open orders and pauses
        await self.runner.sync_plans()  # the follows turned off with release=close: positions closed now
        desk.engine.set_paused(True)  # nothing new until /resume
        log_event(log, "stop_applied", follower=follower)

    async def restore(self) -> None:
        """At start: a follower paused (or stopped) before a restart stays paused."""
        if self.runner.controls is not None:
            await self.runner.controls.sync()  # the guards' own pause is not lifted here


async def copying_note(runner: Any, ledger: Ledger, action: str) -> str:
    """What a follow change written from the chat does now: a runner in this process applies it at its
    next plans sync (and says "Copying started" here once it has); one in another process applies it
    too, but its pushes do not reach this chat; with none running, nothing is copied yet."""
    starting = action == "follow.add"
    ready = getattr(runner, "ready", None)  # bot.pipeline.runner.Runner: set once it has started
    if ready is not None and ready.is_set():
        if starting:
            return "Copying starts within seconds: you are told here once it has."
        return "The running bot applies this within seconds."
    health = await runner_health.runner_health(ledger, datetime.now(UTC))
    if health["runner"] is not None and health["runner"]["state"] == "running":
        return "The running bot (`mirrorbot run`) applies this within seconds."
    if starting:
        return "Not copying yet: no bot is running. Copying starts when `mirrorbot run` runs."
    return "No bot is running: this applies when `mirrorbot run` runs."
