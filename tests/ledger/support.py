"""Databases for the ledger tests (reusable by other suites that need a migrated ledger).

PostgreSQL comes from MIRROR_TEST_PG_URL (`make test` starts one with scripts/postgres.sh). Each test
session gets its own throw-away database on that server, so concurrent suites never share tables.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import uuid
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.ledger import create_engine, init_db
from bot.ledger.models import metadata

T = TypeVar("T")
PG_ENV = "MIRROR_TEST_PG_URL"
BACKENDS = ("sqlite", "postgresql")


class Portal:
    """An event loop on a background thread, so sync code (fixtures, hypothesis tests) can await
    without touching the event loop pytest-asyncio gives the test."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="ledger-test-portal", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


@contextmanager
def portal() -> Iterator[Portal]:
    runner = Portal()
    try:
        yield runner
    finally:
        runner.close()


def pg_server_url() -> str:
    """The PostgreSQL test server's URL; skip without one, but fail under CI (it must run there)."""
    url = os.environ.get(PG_ENV)
    if url:
        return url
    reason = f"{PG_ENV} is not set: run `scripts/postgres.sh start` and export its URL (make test does)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required under CI: {reason}", pytrace=False)
    pytest.skip(reason)


async def _admin(url: str, statement: str) -> None:
    # CREATE/DROP DATABASE cannot run inside a transaction.
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@contextmanager
def fresh_pg_database(server_url: str, prefix: str = "ledger") -> Iterator[str]:
    """A new, migrated database on the test server for the duration of the block; dropped after."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    with portal() as runner:
        runner.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
        try:
            runner.run(init_db(url))
            yield url
        finally:
            runner.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def sqlite_template(directory: Path) -> Iterator[Path]:
    """A migrated SQLite file to copy per test (copying is much faster than migrating)."""
    path = directory / "template.db"
    with portal() as runner:
        runner.run(init_db(f"sqlite+aiosqlite:///{path}"))
    yield path


def sqlite_copy(template: Path, directory: Path) -> str:
    target = directory / "ledger.db"
    shutil.copyfile(template, target)
    return f"sqlite+aiosqlite:///{target}"


async def truncate_all(url: str) -> None:
    """Empty every ledger table (PostgreSQL) and restart the id sequences."""
    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()
