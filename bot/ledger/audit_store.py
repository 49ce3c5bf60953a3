"""The ledger's audit log, the running bot's heartbeat row, and lineage lookups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, select

from bot.ledger.base import LedgerBase
from bot.ledger.lineage import Lineage, find_lineages, lineages_between
from bot.ledger.models import AuditChannel, AuditLog, RunnerHealth
from bot.ledger.values import choice_field, time_field


class AuditStore(LedgerBase):
    # ---- the running bot's health ---------------------------------------------------------------

    async def save_runner_health(self, row: RunnerHealth) -> None:
        """The runner's heartbeat: its row (one per runner name) rewritten in place."""
        async with self._tx() as session:
            await session.merge(row)

    # ---- audit ----------------------------------------------------------------------------------

    async def audit(
        self,
        *,
        actor: str,
        channel: AuditChannel,
        action: str,
        details: Any = None,
        time: datetime | None = None,
    ) -> AuditLog:
        choice_field("channel", str(channel), (c.value for c in AuditChannel))
        row = AuditLog(
            actor=actor,
            channel=AuditChannel(channel).value,
            action=action,
            details=details,
            time=time_field("time", time),
        )
        async with self._tx() as session:
            session.add(row)
        return row

    async def audit_entries(self, *, limit: int = 100) -> list[AuditLog]:
        """The latest audit entries, newest first."""
        query = select(AuditLog).order_by(col(AuditLog.time).desc(), col(AuditLog.id).desc()).limit(limit)
        async with self._tx() as session:
            return list((await session.exec(query)).all())

    # ---- lineage --------------------------------------------------------------------------------

    async def lineage(self, ref: str | int) -> list[Lineage]:
        """Every chain a reference names: a fill's trade id, a venue order id, a cloid or an instruction
        id (prefixes `tid:`, `oid:`, `cloid:`, `instruction:` remove any doubt). Empty when unknown."""
        async with self._tx() as session:
            return await find_lineages(session, str(ref))

    async def conversions(self, since: datetime, until: datetime) -> list[Lineage]:
        """Every decision recorded in [since, until) with its chain (leader event → decision → order →
        fills), oldest first: what `mirrorbot audit export` writes."""
        since, until = time_field("since", since), time_field("until", until)
        async with self._tx() as session:
            return await lineages_between(session, since, until)
