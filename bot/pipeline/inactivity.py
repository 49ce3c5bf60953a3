"""Source inactivity (SPEC §12) in the running bot: the runner's job `inactivity` finds the active
follows whose source has been quiet for its `inactive_after` (the rule: bot/service/inactivity.py),
tells each once per quiet spell (alert kind `source_inactive`, the book keeps who was told) and carries
out its `inactive_policy` the way the owner's own commands do, so `status`, `/status` and a restart see
the same thing:
- `alert`: only the alert;
- `pause`: a `paused` control row for the follower (as `mirrorbot pause` writes; `resume` lifts it);
- `unfollow_keep` / `unfollow_close`: a new plan version with the follow off, positions kept (detached)
  or closed (as `unfollow` writes).
Each is audited (actor `system:inactivity`). A source that fills again is active again: the next quiet
spell is told again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.alerts import Alert, AlertBus, AlertKind
from bot.ledger import Ledger
from bot.ledger.models import AuditChannel, utcnow
from bot.logs import log_event
from bot.pipeline.desk import Desk, LoadedPlan
from bot.pipeline.guard_gate import RiskGate
from bot.service.inactivity import InactiveFollow, inactive_follows
from bot.service.owner import PAUSED
from bot.service.settings import settings_to_json

log = logging.getLogger(__name__)

ACTOR = "system:inactivity"
DONE = {
    "alert": "nothing else was changed",
    "pause": "the follower is paused (no new exposure; /resume lifts it)",
    "unfollow_keep": "the follow was turned off, its positions kept (no longer managed)",
    "unfollow_close": "the follow was turned off and its positions closed",
}


class InactivityWatch:
    def __init__(
        self,
        ledger: Ledger,
        desks: dict[str, Desk],
        risk: RiskGate,
        alerts: AlertBus,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.ledger, self.desks, self.risk, self.alerts, self.clock = ledger, desks, risk, alerts, clock

    async def check(self) -> list[InactiveFollow]:
        """Tell and act on the follows whose source just became inactive; the ones acted on (a plan
        version or a control row written: the caller syncs the plans)."""
        active: list[tuple[Desk, LoadedPlan]] = [
            (desk, loaded)
            for desk in self.desks.values()
            for loaded in desk.plans.values()
            if loaded.settings.active and loaded.plan.source in desk.engine.follows
        ]
        if not active:
            return []
        fills = await self.ledger.last_source_fills({loaded.plan.source for _, loaded in active})
        now = self.clock()
        quiet = {
            (f.follower, f.source): f
            for f in inactive_follows([(p.plan, p.settings.inactivity) for _, p in active], fills, now)
        }
        acted: list[InactiveFollow] = []
        book = self.risk.book
        for desk, loaded in active:
            source = loaded.plan.source
            found = quiet.get((desk.address, source))
            if book.note_inactive(desk.address, source, loaded.version, found is not None):
                assert found is not None
                await self._act(desk, loaded, found, now)
                acted.append(found)
        return [f for f in acted if f.policy != "alert"]

    async def _act(self, desk: Desk, loaded: LoadedPlan, found: InactiveFollow, now: datetime) -> None:
        policy = found.policy
        if policy == "pause":
            await self.ledger.add_control_states([desk.address], PAUSED, ACTOR)
        elif policy in ("unfollow_keep", "unfollow_close"):
            release = "close" if policy == "unfollow_close" else "keep"
            settings = replace(loaded.settings, active=False, release=release)
            await self.ledger.new_plan_version(
                desk.address, found.source, settings_to_json(settings), actor=ACTOR
            )
        details: dict[str, Any] = {
            "follower": desk.address,
            "source": found.source,
            "version": found.version,
            "policy": policy,
        }
        await self.ledger.audit(
            actor=ACTOR, channel=AuditChannel.SYSTEM, action="source.inactive", details=details
        )
        message = f"Inactive {found.describe(now)}: {DONE[policy]}"
        log_event(log, "source_inactive", **details)
        self.alerts.publish(
            Alert(
                AlertKind.SOURCE_INACTIVE,
                "source_inactive",
                message,
                desk.address,
                found.source,
                None,
                details,
            )
        )
