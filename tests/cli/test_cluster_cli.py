"""The distributed roles' commands refuse in one line what they cannot run on: no MIRROR_BUS_URL (the
one-process default), or a bus beside a SQLite ledger; `mirrorbot cluster status` reads the leases."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app


@pytest.mark.parametrize("command", [["watch"], ["copy"], ["control"], ["cluster", "status"]])
def test_without_a_bus_each_role_is_refused_in_one_line(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIRROR_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MIRROR_BUS_URL", raising=False)
    monkeypatch.setenv("MIRROR_DATABASE_URL", "postgresql+asyncpg://u:hunter2@127.0.0.1:1/none")
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "MIRROR_BUS_URL is not set" in line and "mirrorbot run" in line and "hunter2" not in line


@pytest.mark.parametrize("command", [["copy"], ["cluster", "status"]])
def test_a_bus_beside_sqlite_is_refused_in_one_line(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIRROR_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MIRROR_DATABASE_URL", raising=False)
    monkeypatch.setenv("MIRROR_BUS_URL", "redis://127.0.0.1:6379/0")
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("mirrorbot: invalid setting MIRROR_BUS_URL: ") and "PostgreSQL" in line
