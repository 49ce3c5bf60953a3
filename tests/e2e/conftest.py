"""Fixtures: a fresh localnet per test, a World on it over SQLite (or PostgreSQL where asked)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from adapters.localnet.server import LocalnetThread
from tests.e2e.support import World, unique_sdk_nonce
from tests.ledger.support import fresh_pg_database, pg_server_url


@pytest.fixture(autouse=True)
def unique_sdk_nonces(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK takes nonces from the wall clock: a leader trading twice in one ms would collide."""
    monkeypatch.setattr("hyperliquid.exchange.get_timestamp_ms", unique_sdk_nonce)


@pytest.fixture
def localnet() -> Iterator[LocalnetThread]:
    with LocalnetThread(seed=3) as net:
        yield net


@pytest.fixture(params=["sqlite"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite by default; a test marked `both_databases` (via `indirect` params) runs on PostgreSQL too."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}"
        return
    with fresh_pg_database(pg_server_url(), prefix="e2e") as url:
        yield url


@pytest.fixture
async def world(localnet: LocalnetThread, tmp_path: Path, db_url: str) -> AsyncIterator[World]:
    made = await World(localnet, tmp_path, db_url).open()
    try:
        yield made
    finally:
        await made.close()
