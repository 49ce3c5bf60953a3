"""The CLI's tests run the real commands (typer's runner) on SQLite and PostgreSQL ledgers (the ledger
suite's database fixtures), and against a real localnet where a command reads the venue."""

from __future__ import annotations

import pytest

from tests.ledger.conftest import _pg_database, _sqlite_template, db_url  # noqa: F401  (fixtures)
from tests.service.support import unique_nonce


@pytest.fixture(autouse=True)
def unique_sdk_nonces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("hyperliquid.exchange.get_timestamp_ms", unique_nonce)
