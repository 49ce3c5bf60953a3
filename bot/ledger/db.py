"""Engines, sessions and schema set-up. `init_db(url)` runs the packaged alembic migrations to head.

No alembic.ini is needed at run time: the configuration is built here and points at
`bot/ledger/migrations`. Developers add a revision with `python -m bot.ledger revision -m "…"`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool
from sqlmodel.ext.asyncio.session import AsyncSession

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")


class LedgerConfigError(ValueError):
    """The database URL cannot be used by the ledger; the message says which forms are accepted."""


def _check_url(url: str) -> None:
    try:
        parsed = make_url(url)
    except Exception:
        raise LedgerConfigError(
            "invalid MIRROR_DATABASE_URL: expected e.g. sqlite+aiosqlite:///path/to/mirrorbot.db "
            "or postgresql+asyncpg://user@host:port/dbname"
        ) from None
    if parsed.drivername not in SUPPORTED_DRIVERS:
        raise LedgerConfigError(
            f"unsupported database driver {parsed.drivername!r} in MIRROR_DATABASE_URL; "
            f"accepted: {', '.join(SUPPORTED_DRIVERS)}"
        )


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


def _ensure_sqlite_dir(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not _is_sqlite_memory(url) and parsed.database:
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for the ledger (aiosqlite or asyncpg), with SQLite set up to behave."""
    _check_url(url)
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


async def init_db(url: str, revision: str = "head") -> None:
    """Create or upgrade the ledger schema at `url` (idempotent: an up-to-date database is untouched)."""
    _check_url(url)
    _ensure_sqlite_dir(url)
    # A plain engine: migrations must be free to toggle SQLite pragmas the ledger engine sets.
    kwargs: dict[str, Any] = {"poolclass": StaticPool} if _is_sqlite_memory(url) else {}
    engine = create_async_engine(url, **kwargs)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, revision)
    finally:
        await engine.dispose()
