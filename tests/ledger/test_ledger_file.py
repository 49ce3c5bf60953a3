"""Where the ledger lives (issue #14, items 8, 10, 15): the common URL spellings, a private file in a
private folder, read-only commands that never create a ledger, one line (never a traceback) when the
database cannot be used."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from bot.cli import app
from bot.config import load_settings
from bot.ledger import AuditChannel, Ledger, init_db
from bot.ledger.db import LedgerConfigError, LedgerMissing, LedgerUnavailable, ledger_url
from bot.redaction import MASK
from tests.ledger.support import fresh_pg_database, pg_server_url

READ_ONLY = [
    ["status"],
    ["why", "123"],
    ["pnl"],
    ["history"],
    ["alerts", "42"],
    ["follow", "list"],
    ["account", "list"],
    ["positions"],
    ["limits", "0x" + "5e" * 20],
]


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)  # the usual default, under which SQLite made the ledger 0644 in a 0755 folder
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("sqlite:///tmp/x/ledger.db", "sqlite+aiosqlite:///tmp/x/ledger.db"),
        ("sqlite+aiosqlite:///tmp/x/ledger.db", "sqlite+aiosqlite:///tmp/x/ledger.db"),
        ("postgresql://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
        ("postgres://u:p@h/db", "postgresql+asyncpg://u:p@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_the_common_spellings_map_to_the_async_drivers(given: str, driver: str) -> None:
    assert ledger_url(given) == driver
    assert load_settings(database_url=given).db_url == driver


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("mysql://root:hunter22@db/x", "unsupported database URL scheme 'mysql://'"),
        ("postgresql+psycopg2://u:hunter22@h/db", "unsupported database URL scheme"),
        ("/var/lib/mirrorbot.db", "not a database URL"),
        ("postgresql://u:hunter22@h:notaport/db", "malformed URL"),
        ("postgresql://u:hunter22@h:5432", "no database name"),
    ],
)
def test_other_urls_are_refused_in_one_line_naming_the_accepted_forms(given: str, says: str) -> None:
    with pytest.raises(LedgerConfigError) as info:
        ledger_url(given)
    message = str(info.value)
    assert says in message and "\n" not in message
    assert "sqlite:///" in message and "postgresql://" in message
    assert "hunter22" not in message


def test_status_with_a_bad_url_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIRROR_DATABASE_URL", "mysql://root:hunter22@db/x")
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "hunter22" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "MIRROR_DATABASE_URL" in result.output


def test_status_with_an_unreachable_postgresql_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # Port 9 (discard) on loopback: nothing listens there, the connection is refused at once.
    monkeypatch.setenv("MIRROR_DATABASE_URL", "postgresql://mirror:hunter22@127.0.0.1:9/ledger")
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "hunter22" not in result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith(
        f"mirrorbot: cannot open the ledger at postgresql+asyncpg://mirror:{MASK}@127.0.0.1:9"
    )


async def test_a_new_sqlite_ledger_is_0600_in_a_0700_folder_wal_and_shm_too(
    tmp_path: Path, umask_022: None
) -> None:
    path = tmp_path / "data" / "deeper" / "mirrorbot.db"
    async with await Ledger.open(f"sqlite:///{path}") as ledger:
        await ledger.audit(actor="test", channel=AuditChannel.CLI, action="probe", details={})
        wal, shm = path.with_name("mirrorbot.db-wal"), path.with_name("mirrorbot.db-shm")
        assert wal.exists() and shm.exists()  # WAL mode, while the ledger is open
        assert {p.name: mode(p) for p in (path, wal, shm)} == {
            "mirrorbot.db": 0o600,
            "mirrorbot.db-wal": 0o600,
            "mirrorbot.db-shm": 0o600,
        }
    assert mode(path.parent) == 0o700 and mode(path.parent.parent) == 0o700


async def test_an_existing_world_readable_ledger_is_tightened(tmp_path: Path, umask_022: None) -> None:
    path = tmp_path / "mirrorbot.db"
    await init_db(f"sqlite:///{path}")
    path.chmod(0o644)
    await init_db(f"sqlite:///{path}")
    assert mode(path) == 0o600


@pytest.mark.parametrize("command", READ_ONLY, ids=lambda c: " ".join(c))
def test_read_only_commands_never_create_a_ledger(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    typo = tmp_path / "mistyped" / "dir" / "mirrorbot.db"
    monkeypatch.setenv("MIRROR_DATABASE_URL", f"sqlite:///{typo}")
    monkeypatch.setenv("MIRROR_HL_API_URL", "http://127.0.0.1:9")
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 1, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"mirrorbot: no ledger at {typo} ")
    assert not (tmp_path / "mistyped").exists()


async def test_a_read_only_open_of_a_missing_postgresql_ledger_creates_nothing() -> None:
    with fresh_pg_database(pg_server_url(), prefix="ledger_ro") as migrated:
        empty = make_url(migrated).set(database="postgres").render_as_string(hide_password=False)
        with pytest.raises(LedgerMissing, match="no ledger at"):
            await init_db(empty, create=False)
        await init_db(migrated, create=False)  # an existing ledger opens as usual


async def test_a_missing_postgresql_database_is_one_line() -> None:
    url = make_url(pg_server_url()).set(database="no_such_ledger_db").render_as_string(hide_password=False)
    with pytest.raises(LedgerUnavailable) as info:
        await init_db(url)
    assert "\n" not in str(info.value) and "does not exist" in str(info.value)
