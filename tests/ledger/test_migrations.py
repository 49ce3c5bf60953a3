"""The migrations build exactly the models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from bot.ledger import create_engine, init_db
from bot.ledger.db import LedgerConfigError, alembic_config
from bot.ledger.models import metadata
from tests.ledger.support import fresh_pg_database, pg_server_url


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, metadata))


async def _diff_at(url: str) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_diff)
    finally:
        await engine.dispose()


async def test_migrated_schema_equals_the_models(db_url: str) -> None:
    # db_url is migrated by init_db (the same path the bot takes at start-up).
    assert await _diff_at(db_url) == []


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'sub' / 'dir' / 'ledger.db'}"
        return
    with fresh_pg_database(pg_server_url(), prefix="ledger_empty") as url:
        yield url


def _downgrade_to_base(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "base")


async def test_the_comparison_sees_a_missing_schema_and_init_db_is_idempotent(empty_url: str) -> None:
    if "sqlite" in empty_url:
        await init_db(empty_url)  # also creates the missing directories
    engine = create_engine(empty_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade_to_base)
        missing = await _diff_at(empty_url)
        # Not vacuous: with no schema, every table is reported missing.
        assert {d[1].name for d in missing if d[0] == "add_table"} == set(metadata.tables)
        await init_db(empty_url)
        await init_db(empty_url)  # already at head: nothing to do, no error
        assert await _diff_at(empty_url) == []
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert tables == set(metadata.tables) | {"alembic_version"}
    finally:
        await engine.dispose()


def test_one_linear_history_with_typed_revision_files() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    assert len(scripts.get_heads()) == 1
    for revision in scripts.walk_revisions():
        assert revision.path is not None and Path(revision.path).name.startswith("rev_")
        assert "import sqlmodel" in Path(revision.path).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "url",
    ["mysql+aiomysql://u@h/db", "sqlite+pysqlite:///sync.db", "postgresql+psycopg2://u@h/db", "not a url"],
)
async def test_unsupported_database_urls_are_refused_with_the_accepted_forms(url: str) -> None:
    # `sqlite:///…` and `postgresql://…` are accepted since issue #14 (tests/ledger/test_ledger_file.py).
    with pytest.raises(LedgerConfigError, match="accepted: sqlite:///"):
        await init_db(url)
