"""The owner's controls (SPEC §4: pause, resume, stop) carried out by the running pipeline:
`OwnerControls`. Named apart from `bot.service.owner.OwnerService`, which records what the owner asked (CLI
and Telegram); this carries it out on the desks. Imports go one way, pipeline → service, never back.

The CLI and Telegram write `ControlState` rows (bot/service/owner.py), possibly from another process;
the runner reads them on every plans sync (and a Telegram room in the same process calls `sync` at
once). Each row is carried out once (its id is kept in the risk book). What each state means here:
- `paused`: the follower's engine skips new exposure (opens, increases, flip-opens); reductions and
  closes still mirror. Kept apart from the daily-loss pause (bot/pipeline/guard_gate.py), so neither lifts the
  other.
- `running` (a resume, written even when nothing was paused): `RiskGate.resume` — the account guards'
  trips are lifted with the losses so far acknowledged, the equity floor re-checked. Nothing is caught
  up here: τ did not take the skipped growth, and the next reconciliation pass acts on any other
  difference under the follow's out-of-sync policy (docs/decisions/risk.md).
- `stopped` (the kill switch): our open orders are cancelled (those with a cloid: a manual order is the
  user's), the engine is paused, and the unfollow-with-close plan versions the stop wrote are applied
  by the plans sync that follows (their closes are reductions, sent while paused).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.ledger import Ledger
from bot.logs import log_event
from bot.pipeline.desk import Desk
from bot.pipeline.guard_gate import RiskGate
from bot.pipeline.oms import OrderManager
from bot.service.owner import RUNNING, STOPPED

log = logging.getLogger(__name__)


class OwnerControls:
    def __init__(
        self,
        ledger: Ledger,
        oms: OrderManager,
        risk: RiskGate,
        desks: dict[str, Desk],
    ) -> None:
        self.ledger = ledger
        self.oms = oms  # the kill switch lists and cancels our open orders there
        self.risk = risk
        self.desks = desks  # the copier's, by address
        self.seen: dict[str, int] = {}  # follower → the ControlState row carried out in this process

    async def sync(self, followers: Iterable[str] | None = None) -> None:
        """Carry out every control row not yet carried out in this process (at start: the ones in
        force). A `running` row is an explicit resume — `OwnerService.resume` writes one even when the state
        was already running, to lift a guard's trip — carried out once: the row id is kept in the risk
        book, so a restart does not resume (and lift trips) again."""
        wanted = list(self.desks) if followers is None else [f for f in followers if f in self.desks]
        for follower, row in (await self.ledger.latest_controls(wanted)).items():
            assert row.id is not None
            if self.seen.get(follower) != row.id:
                self.seen[follower] = row.id
                await self._apply(self.desks[follower], row.id, row.state)

    async def _apply(self, desk: Desk, row_id: int, state: str) -> None:
        book = self.risk.book
        if state == RUNNING:
            if book.control_applied(desk.address) == row_id:
                self.risk.set_paused(desk, False)  # a restart: that resume was carried out before
                return
            holding = self.risk.resume(desk)
            log_event(log, "control_resumed", follower=desk.address, holding=[r.value for r in holding])
        else:
            self.risk.set_paused(desk, True)
            cancelled = await self._cancel_ours(desk) if state == STOPPED else 0
            log_event(log, f"control_{state}", follower=desk.address, cancelled=cancelled)
        book.set_control_applied(desk.address, row_id)

    async def _cancel_ours(self, desk: Desk) -> int:
        cancelled = 0
        for coin, cloid in await self.oms.open_orders(desk.account):
            cancelled += int(await self.oms.cancel(desk.account, coin, cloid))
        return cancelled
