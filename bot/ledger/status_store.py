"""The ledger's reads and writes for the service layer and Telegram (status counts, latest decisions
and targets, the runner's health row, equity snapshots, a liveness ping), so that only `bot/ledger`
speaks SQL. A part of `Ledger` (bot/ledger/repository.py): reads in a session of their own, writes
in the ledger's `_tx` (on SQLite, the writers' turn).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.ledger.base import LedgerBase
from bot.ledger.models import (
    CopyInstruction,
    EquitySnapshot,
    Fill,
    IntentStatus,
    LeaderEvent,
    OrderIntent,
    RunnerHealth,
)
from bot.ledger.types import from_ms
from strategies.model import Reason


class StatusStore(LedgerBase):
    """A part of `Ledger`: what the status views read (counts, latest decisions and targets, the
    runner's health row, equity snapshots). The control room's are in `ControlRoomStore`."""

    def _service_session(self) -> AsyncSession:
        return self._sessions()

    async def ping(self) -> None:
        """Open a connection to the database (raises when it does not answer)."""
        async with self._service_session() as session:
            await session.connection()

    async def counts(self) -> dict[str, int]:
        """How many leader events, decisions, orders (intents), rejected orders, fills and deferrals."""
        queries = {
            "leader_events": select(func.count()).select_from(LeaderEvent),
            "decisions": select(func.count()).select_from(CopyInstruction),
            "orders": select(func.count()).select_from(OrderIntent),
            "rejected": select(func.count())
            .select_from(OrderIntent)
            .where(OrderIntent.status == IntentStatus.REJECTED.value),
            "fills": select(func.count()).select_from(Fill),
            "deferrals": select(func.count())
            .select_from(CopyInstruction)
            .where(CopyInstruction.reason == Reason.DEFERRED_MIN_NOTIONAL.value),
        }
        async with self._service_session() as session:
            return {name: int((await session.exec(query)).one()) for name, query in queries.items()}

    async def last_decisions(self, limit: int = 10) -> list[CopyInstruction]:
        query = (
            select(CopyInstruction)
            .order_by(col(CopyInstruction.created_at).desc(), col(CopyInstruction.id))
            .limit(limit)
        )
        async with self._service_session() as session:
            return list((await session.exec(query)).all())

    async def last_leader_event_time(self) -> datetime | None:
        async with self._service_session() as session:
            moment: datetime | None = (await session.exec(select(func.max(LeaderEvent.received_at)))).one()
            return moment

    async def last_source_fills(self, sources: Iterable[str]) -> dict[str, datetime]:
        """Each source's latest fill the ledger recorded (its leader events' venue time), where any."""
        wanted = sorted(set(sources))
        if not wanted:
            return {}
        query = (
            select(LeaderEvent.source, func.max(LeaderEvent.time))
            .where(col(LeaderEvent.source).in_(wanted))
            .group_by(col(LeaderEvent.source))
        )
        async with self._service_session() as session:
            return {source: moment for source, moment in (await session.exec(query)).all() if moment}

    async def last_source_sizes(self, venue: str, source: str) -> dict[str, Decimal]:
        """Per coin, the source's size after its latest recorded leader event: where a watcher taking
        over the source resumes (bot/cluster/watcher.py), so the fills it backfills become changes."""
        latest = (
            select(func.max(LeaderEvent.id))
            .where(LeaderEvent.venue == venue, LeaderEvent.source == source)
            .group_by(col(LeaderEvent.coin))
        )
        query = select(LeaderEvent).where(col(LeaderEvent.id).in_(latest))
        async with self._service_session() as session:
            return {row.coin: row.new_size for row in (await session.exec(query)).all()}

    async def latest_target(self, follower: str, source: str, coin: str) -> CopyInstruction | None:
        """The most recent decision for (follower, source, coin): its `target_after` is τ now."""
        query = (
            select(CopyInstruction)
            .where(
                CopyInstruction.follower == follower,
                CopyInstruction.source == source,
                CopyInstruction.coin == coin,
            )
            .order_by(col(CopyInstruction.created_at).desc(), col(CopyInstruction.revision).desc())
            .limit(1)
        )
        async with self._service_session() as session:
            return (await session.exec(query)).first()

    async def runner_health_row(self, name: str = "runner") -> RunnerHealth | None:
        """The health row the runner `name` last wrote (bot/pipeline/health.py), None if never."""
        async with self._service_session() as session:
            return await session.get(RunnerHealth, name)

    async def add_equity_snapshot(self, row: EquitySnapshot) -> None:
        """Insert `row` unless one for its (address, role, minute) exists: the first reading wins."""
        values = row.model_dump(exclude={"id"})
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        async with self._tx() as session:
            await session.exec(insert(EquitySnapshot).values(values).on_conflict_do_nothing())

    async def equity_snapshots(
        self, address: str, role: str, since_ms: int | None = None, until_ms: int | None = None
    ) -> list[EquitySnapshot]:
        """`address`'s equity snapshots as `role`, oldest first, within [since_ms, until_ms] when given."""
        query = select(EquitySnapshot).where(EquitySnapshot.address == address, EquitySnapshot.role == role)
        if since_ms is not None:
            query = query.where(col(EquitySnapshot.time) >= from_ms(since_ms))
        if until_ms is not None:
            query = query.where(col(EquitySnapshot.time) <= from_ms(until_ms))
        async with self._service_session() as session:
            return list((await session.exec(query.order_by(col(EquitySnapshot.time)))).all())
