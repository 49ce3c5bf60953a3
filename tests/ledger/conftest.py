"""Every ledger test that takes `db_url` or `ledger` runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.ledger import Ledger, create_engine
from tests.ledger.support import (
    BACKENDS,
    Portal,
    fresh_pg_database,
    pg_server_url,
    portal,
    sqlite_copy,
    sqlite_template,
    truncate_all,
)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with sqlite_template(tmp_path_factory.mktemp("ledger-template")) as path:
        yield path


@pytest.fixture(scope="session")
def _pg_database() -> Iterator[str]:
    with fresh_pg_database(pg_server_url()) as url:
        yield url


@pytest.fixture
def sync_portal() -> Iterator[Portal]:
    with portal() as runner:
        yield runner


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty ledger database: a fresh SQLite file, or the session's PostgreSQL database
    emptied before the test."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        return sqlite_copy(template, tmp_path)
    url: str = request.getfixturevalue("_pg_database")
    with portal() as runner:
        runner.run(truncate_all(url))
    return url


@pytest.fixture
async def ledger(db_url: str) -> AsyncIterator[Ledger]:
    store = Ledger(create_engine(db_url))
    try:
        yield store
    finally:
        await store.close()
