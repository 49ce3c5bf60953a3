"""Databases for the ledger tests (reusable by other suites that need a migrated ledger).

PostgreSQL comes from MIRROR_TEST_PG_URL (`make test` starts one with scripts/postgres.sh). Each test
session gets its own throw-away database on that server, so concurrent suites never share tables.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from bench.services import Portal, fresh_pg_database, portal
from bot.ledger import create_engine, init_db
from bot.ledger.models import metadata

__all__ = [
    "BACKENDS",
    "Portal",
    "fresh_pg_database",
    "pg_server_url",
    "portal",
    "sqlite_copy",
    "sqlite_template",
]

PG_ENV = "MIRROR_TEST_PG_URL"
BACKENDS = ("sqlite", "postgresql")


def pg_server_url() -> str:
    """The PostgreSQL test server's URL; skip without one, but fail under CI (it must run there)."""
    url = os.environ.get(PG_ENV)
    if url:
        return url
    reason = f"{PG_ENV} is not set: run `scripts/postgres.sh start` and export its URL (make test does)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required under CI: {reason}", pytrace=False)
    pytest.skip(reason)


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
