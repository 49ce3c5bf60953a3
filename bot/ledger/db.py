"""Engines, sessions and schema set-up. `init_db(url)` runs the packaged alembic migrations to head.

No alembic.ini is needed at run time: the configuration is built here and points at
`bot/ledger/migrations`. Developers add a revision with `python -m bot.ledger revision -m "…"`.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import event, inspect
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.database_url import DatabaseUrlError, database_url
from bot.redaction import redact_text, redact_url

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
PG_CONNECT_TIMEOUT_S = 15  # an unreachable PostgreSQL is reported after this long, not asyncpg's 60 s
PRIVATE_FILE = 0o600  # the ledger file (and SQLite's -wal/-shm, which SQLite creates with its mode)
PRIVATE_DIR = 0o700  # the folders created for it


class LedgerConfigError(DatabaseUrlError):
    """The database URL cannot be used by the ledger; the message says which forms are accepted."""


class LedgerMissing(LedgerConfigError):
    """A read-only command was pointed at a ledger that does not exist (it never creates one)."""


class LedgerUnavailable(LedgerConfigError):
    """The ledger's database cannot be reached or opened; the message says where (password hidden)."""


def ledger_url(url: str) -> str:
    """`url` in the ledger's driver spelling (bot/database_url.py has the rules); a URL the ledger cannot
    use raises `LedgerConfigError` naming the accepted forms."""
    try:
        return database_url(url)
    except DatabaseUrlError as exc:
        raise LedgerConfigError(str(exc)) from None


def _is_sqlite_memory(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys on (SQLite leaves them off), WAL so `mirrorbot why` can read while the bot writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # Under WAL, NORMAL fsyncs at checkpoints, not at every commit: a commit survives the process being
    # killed, only an OS crash or power loss can drop the last ones (docs/decisions/hotpath.md: why that
    # is safe for orders, and what it saves on the copy path).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _sqlite_path(url: str) -> Path | None:
    """The file of a SQLite ledger URL (None: PostgreSQL or in-memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or _is_sqlite_memory(url) or not parsed.database:
        return None
    return Path(parsed.database).expanduser()


def _private_sqlite_file(path: Path) -> None:
    """Create the ledger file 0600 in folders created 0700 before SQLite opens it (SQLite gives its
    -wal/-shm files the database file's mode). An existing ledger of ours is tightened to 0600 too."""
    missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=PRIVATE_DIR, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(OSError):  # not ours, or not there: left as it is
            if file.stat().st_uid == os.getuid() and file.stat().st_mode & 0o077:
                file.chmod(PRIVATE_FILE)


def _unavailable(url: str, exc: BaseException) -> LedgerUnavailable:
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [""])[0][:200]
    reason = f"{type(orig).__name__}: {first}" if first else type(orig).__name__
    return LedgerUnavailable(f"cannot open the ledger at {redact_url(url)}: {redact_text(reason)}")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for the ledger (aiosqlite or asyncpg), with SQLite set up to behave."""
    url = ledger_url(url)
    if make_url(url).get_backend_name() == "postgresql":
        kwargs.setdefault("connect_args", {"timeout": PG_CONNECT_TIMEOUT_S})
    if _is_sqlite_memory(url):
        # One shared connection, or every session would see its own empty in-memory database.
        kwargs.setdefault("poolclass", StaticPool)
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def sync_twin(engine: AsyncEngine) -> Engine | None:
    """A synchronous engine on the same SQLite file (None for PostgreSQL or an in-memory database,
    which another engine could not see), set up like `create_engine`'s: the ledger's hot-path writes
    run whole transactions on it in one worker thread (`Ledger._write`)."""
    if engine.dialect.name != "sqlite" or _is_sqlite_memory(engine.url.render_as_string(hide_password=False)):
        return None
    twin = sa_create_engine(engine.url.set(drivername="sqlite"), connect_args={"check_same_thread": False})
    event.listen(twin, "connect", _sqlite_pragmas)
    return twin


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Rows stay readable after commit: the API returns them to callers outside the session.
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def alembic_config(url: str | None = None) -> Config:
    """Alembic's configuration for the packaged migrations (no alembic.ini)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    # Revision files must be importable module names (mypy and ruff check them like any module).
    config.set_main_option("file_template", "rev_%%(rev)s_%%(slug)s")
    if url is not None:
        # `%` is interpolation syntax in alembic's config parser.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def _has_schema(url: str) -> bool:
    engine = create_async_engine(url, connect_args={"timeout": PG_CONNECT_TIMEOUT_S})
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(lambda c: inspect(c).has_table("alembic_version"))
    finally:
        await engine.dispose()


async def init_db(url: str, revision: str = "head", *, create: bool = True) -> None:
    """Create or upgrade the ledger schema at `url` (idempotent: an up-to-date database is untouched).

    `create=False` (the read-only commands): a ledger that does not exist is not created — `LedgerMissing`
    says so in one line. A database that cannot be reached is `LedgerUnavailable` (one line, no
    traceback, the URL's password hidden)."""
    url = ledger_url(url)
    path = _sqlite_path(url)
    try:
        exists = path.is_file() if path is not None else _is_sqlite_memory(url) or await _has_schema(url)
        if not create and not exists:
            where = str(path) if path is not None else redact_url(url)
            raise LedgerMissing(
                f"no ledger at {where} (MIRROR_DATABASE_URL / MIRROR_DATA_DIR): nothing recorded there "
                "yet; `mirrorbot account add` or `mirrorbot run` creates it"
            )
        if path is not None:
            _private_sqlite_file(path)
        # A plain engine: migrations must be free to toggle SQLite pragmas the ledger engine sets.
        kwargs: dict[str, Any] = {"poolclass": StaticPool} if _is_sqlite_memory(url) else {}
        if path is None and not _is_sqlite_memory(url):
            kwargs["connect_args"] = {"timeout": PG_CONNECT_TIMEOUT_S}
        engine = create_async_engine(url, **kwargs)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(_upgrade, revision)
        finally:
            await engine.dispose()
    except LedgerConfigError:
        raise
    except (OSError, TimeoutError, SQLAlchemyError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise _unavailable(url, exc) from None
