"""What every part of `Ledger` stands on: the engine, sessions, one transaction per call, SQLite's
writers taking turns, idempotent inserts, and the hot path's batch writes on a plain connection
(`_write`, `_insert_new` and the Core helpers below). `Ledger` (bot/ledger/repository.py) is assembled
from one part per aggregate: accounts, follow plans, fills and positions, audit and health, the
pipeline's reads, and the hot path's decisions, intents and orders."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self, TypeVar

from sqlalchemy import Table
from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.ledger.db import create_engine, init_db, session_factory, sync_twin
from bot.ledger.models import (
    LedgerModel,
)

T = TypeVar("T", bound=LedgerModel)
U = TypeVar("U")
R = TypeVar("R")


def _table(model: type[LedgerModel]) -> Table:
    return LedgerModel.metadata.tables[str(getattr(model, "__tablename__", ""))]


def _in_transaction(engine: Engine, work: Callable[[Connection], R]) -> R:
    with engine.begin() as conn:
        return work(conn)


def _where(conn: Connection, model: type[T], clause: Any) -> list[T]:
    return [model(**row._mapping) for row in conn.execute(core_select(_table(model)).where(clause))]


def _where_in(conn: Connection, model: type[T], column: str, keys: Sequence[Any]) -> list[T]:
    found: list[T] = []
    for chunk in _chunks(keys):
        if chunk:
            found += _where(conn, model, col(getattr(model, column)).in_(chunk))
    return found


def _chunks(items: Sequence[U], size: int = 500) -> list[Sequence[U]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [items[:0]]


class LedgerBase:
    """The ledger over one database (SQLite or PostgreSQL)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = session_factory(engine)
        twin = sync_twin(engine)  # the hot path's writes (`_write`), SQLite files only
        self._serial = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        self._writer = (
            None if twin is None else (twin, ThreadPoolExecutor(1, thread_name_prefix="ledger-writer"))
        )

    @property
    def sync_engines(self) -> list[Engine]:
        """The synchronous engines under this ledger (the async engine's, the writer thread's if any):
        for tools that set connection options on every connection."""
        return [self.engine.sync_engine] + ([self._writer[0]] if self._writer is not None else [])

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True, create: bool = True) -> Self:
        """Connect to `url`, upgrading the schema to the latest revision first (unless told not to).
        `create=False`: refuse (`LedgerMissing`) rather than create a ledger that does not exist."""
        if migrate:
            await init_db(url, create=create)
        return cls(create_engine(url))

    async def close(self) -> None:
        if self._writer is not None:
            engine, pool = self._writer
            pool.shutdown(wait=True)
            engine.dispose()
        await self.engine.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncSession]:
        async with self._turn(), self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """SQLite has one writer at a time: this process's transactions take turns here (first come,
        first served) instead of in SQLite's busy handler, whose sleeps are unfair — with 1,000
        followers settling at once some waited past `busy_timeout` ("database is locked")."""
        if self._serial is None:
            yield
            return
        async with self._serial:
            yield

    async def _insert_ignore(self, session: AsyncSession, row: LedgerModel) -> bool:
        """Insert unless a unique key is already taken; True when a row was inserted."""
        table = LedgerModel.metadata.tables[str(getattr(type(row), "__tablename__", ""))]
        values = {
            column.name: getattr(row, column.name)
            for column in table.columns
            if not (column.primary_key and getattr(row, column.name) is None)
        }
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        result = await session.exec(insert(table).values(values).on_conflict_do_nothing())
        return result.rowcount == 1

    async def _write(self, work: Callable[[Connection], R]) -> R:
        """Run `work` in one transaction on a plain (synchronous) connection. SQLite (a file): on the
        ledger's writer thread, so the whole transaction is one hand-off to a thread instead of one per
        statement through aiosqlite (a few per statement: cursor, execute, fetch, close); otherwise
        through the async engine (`run_sync`: asyncpg has no thread to hop to)."""
        async with self._turn():
            if self._writer is not None:
                engine, pool = self._writer
                return await asyncio.get_running_loop().run_in_executor(pool, _in_transaction, engine, work)
            async with self.engine.begin() as conn:
                return await conn.run_sync(work)

    def _insert_new(
        self, conn: Connection, model: type[LedgerModel], rows: Sequence[Mapping[str, Any]], key: str
    ) -> dict[Any, int]:
        """Insert rows (column values) of one table unless their unique keys are taken, in one cached
        statement; for each row inserted, its `key` column's value → the id the database gave it."""
        if not rows:
            return {}
        table = _table(model)
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        query = insert(table).on_conflict_do_nothing().returning(table.c[key], table.c.id)
        return {value: ident for value, ident in conn.execute(query, list(rows)).all()}
