"""The control hooks for a pipeline running in this process (bot/pipeline/runner.py's Runner): pause
and resume reach the follower's engine at once; stop cancels our resting orders (the ones with our
cloids) and applies the unfollow-with-close plan versions now instead of at the next plan refresh."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from bot.ledger import Ledger
from bot.logs import log_event
from bot.service import runner_health
from bot.service.owner import PAUSED, STOPPED, OwnerService

log = logging.getLogger(__name__)


class RunnerHooks:
    def __init__(self, runner: Any) -> None:
        self.runner = runner

    def _desk(self, follower: str) -> Any:
        copier = getattr(self.runner, "copier", None)
        return None if copier is None else copier.desks.get(follower)

    async def paused(self, follower: str, paused: bool) -> None:
        controls = getattr(self.runner, "controls", None)  # bot/pipeline/owner_controls.py: guards kept apart
        if controls is not None:
            await controls.sync([follower])  # the row OwnerService just wrote
            return
        desk = self._desk(follower)
        if desk is not None:
            desk.engine.set_paused(paused)

    async def stopped(self, follower: str) -> None:
        desk = self._desk(follower)
        if desk is None:
            return
        controls = getattr(self.runner, "controls", None)
        if controls is not None:  # cancels our open orders and pauses; the plans sync closes
            await controls.sync([follower])
        else:  # on the runner's own venue, where the follower trades
            for order in await self.runner.venue.open_orders(desk.account):
                if order.cloid:  # ours; a manual order (no cloid) is the user's business
                    await self.runner.venue.cancel(desk.account, order.coin, order.cloid)
        await self.runner.sync_plans()  # the follows turned off with release=close: positions closed now
        desk.engine.set_paused(True)  # nothing new until /resume
        log_event(log, "stop_applied", follower=follower)

    async def restore(self, control: OwnerService) -> None:
        """At start: a follower paused (or stopped) before a restart stays paused."""
        copier = getattr(self.runner, "copier", None)
        if copier is None:
            return
        if getattr(self.runner, "controls", None) is not None:
            await self.runner.controls.sync()  # the guards' own pause is not lifted here
            return
        states = await control.states(list(copier.desks))
        for follower, state in states.items():
            copier.desks[follower].engine.set_paused(state in (PAUSED, STOPPED))


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
