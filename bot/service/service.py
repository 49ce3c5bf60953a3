"""The service layer: every user-facing operation, once. The CLI (bot/cli_service.py) and Telegram are
thin views over these calls; each takes the `Actor` who asked and writes the audit log — refusals too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from bot.domain import AccountState
from bot.ledger import Ledger
from bot.ledger.models import utcnow
from bot.service import runner_health, venue_reads
from bot.service.accounts import AccountCommands
from bot.service.actor import Actor
from bot.service.commission import CommissionCommands
from bot.service.core import FOLLOWER_VENUES, MAX_LABEL, VENUE, _settings_of
from bot.service.inactivity import inactive_now
from bot.service.positions import FollowState, follow_rows, stopped_rows, unmanaged_rows
from bot.service.views import (
    AccountView,
    DecisionView,
    FollowView,
    PositionRow,
    PositionsView,
    StatusView,
    WhyView,
)
from bot.service.why import lookup as why_lookup
from bot.venues import Venues

__all__ = ["FOLLOWER_VENUES", "MAX_LABEL", "VENUE", "MirrorService"]


class MirrorService(AccountCommands, CommissionCommands):
    """Every user-facing operation: keystores and accounts (bot/service/accounts.py), follows
    (bot/service/follows.py), leader commissions (bot/service/commission.py), and the reads below,
    on the shared core (bot/service/core.py)."""

    @classmethod
    @asynccontextmanager
    async def connect(
        cls,
        db_url: str,
        venues: Venues | None = None,
        *,
        kdf_iterations: int | None = None,
        create: bool = True,
    ) -> AsyncIterator[MirrorService]:
        """Open the ledger (migrating it; `create=False`: never creating it) with `venues` to read (closed
        on the way out)."""
        ledger = await Ledger.open(db_url, create=create)
        try:
            yield cls(ledger, venues, kdf_iterations=kdf_iterations)
        finally:
            await ledger.close()
            if venues is not None:
                await venues.close()

    # ---- reads ----------------------------------------------------------------------------------

    async def status(self, actor: Actor, *, decisions: int = 10) -> StatusView:
        """Accounts, follows (current plan versions), the latest decisions and ledger counts."""
        accounts = tuple(AccountView.of(row) for row in await self.ledger.accounts())
        plans = await self.ledger.current_plans()
        follows = tuple(FollowView.of(plan) for plan in plans)
        latest = tuple(DecisionView.of(row) for row in await self.ledger.last_decisions(decisions))
        counts = await self.ledger.counts()
        health: dict[str, Any] = {
            **await runner_health.runner_health(self.ledger, utcnow()),
            "last_leader_event_at": await self.ledger.last_leader_event_time(),
        }
        await self._audit(actor, "status", {})
        inactive = await inactive_now(self.ledger, plans, utcnow())
        return StatusView(accounts, follows, latest, counts, health, inactive)

    async def follower_states(self, addresses: Sequence[str]) -> dict[str, AccountState]:
        """Each follower account's state, read on the venue it is registered for (pnl, equity)."""
        venues = {row.address: row.venue for row in await self.ledger.accounts()}
        return await self._states([(venues.get(a, VENUE), a) for a in addresses])

    async def positions(self, actor: Actor, follower: str | None = None) -> PositionsView:
        """Source vs follower per coin, read from the venue now, with the drift from the target."""
        async with self._refusals(actor, "positions"):
            reads = await self._venue(True, "positions")
            assert reads is not None
            rows_by_address = {row.address: row.venue for row in await self.ledger.accounts()}
            if follower is not None:
                followers = [await self.resolve_follower(follower)]
            else:
                followers = list(rows_by_address)
            current = [p for p in await self.ledger.current_plans() if p.follower in followers]
            plans = [p for p in current if _settings_of(p).active]
            stopped_states = await self.ledger.control_states(followers)
            stopped = [  # follows a /stop ended: their sources still hold positions (issue #19)
                p
                for p in current
                if not _settings_of(p).active and stopped_states.get(p.follower) == "stopped"
            ]
            instruments = await venue_reads.instruments(reads)
            mids = await venue_reads.mids(reads)
            # Each account on its own venue: a follower on the one it is registered for, a source on the
            # one its plan names (`source_venue`), as the runner reads them.
            wanted = [(rows_by_address.get(f, VENUE), f) for f in followers]
            wanted += [(_settings_of(p).source_venue, p.source) for p in plans + stopped]
            states = await self._states(wanted)
            rows: list[PositionRow] = []
            for address in followers:
                managed: set[str] = set()
                for plan in (p for p in plans if p.follower == address):
                    targets = {}
                    for coin in {p.coin for p in states[plan.source].positions} | {
                        p.coin for p in states[address].positions
                    }:
                        decision = await self.ledger.latest_target(address, plan.source, coin)
                        if decision is not None:
                            targets[coin] = decision.target_after
                    follow = FollowState(states[address], states[plan.source], _settings_of(plan), targets)
                    made = follow_rows(follow, instruments, mids)
                    managed |= {row.coin for row in made}
                    rows += made
                for plan in (p for p in stopped if p.follower == address):
                    made = stopped_rows(states[address], states[plan.source], mids, instruments)
                    managed |= {row.coin for row in made}
                    rows += made
                rows += unmanaged_rows(states[address], managed, mids, instruments)
            await self._audit(actor, "positions", {"followers": followers})
            return PositionsView(tuple(rows), {a: s.equity for a, s in states.items()})

    async def why(self, actor: Actor, ref: str) -> WhyView:
        """The lineage of a fill, an order (oid or cloid) or a decision, read from the ledger alone."""
        async with self._refusals(actor, "why"):
            view, recorded = await why_lookup(self.ledger, ref)
            await self._audit(actor, "why", {"ref": recorded, "chains": view.chains})
            return view
