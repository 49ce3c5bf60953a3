"""Service tests run on SQLite and PostgreSQL (the ledger suite's database fixtures), and against a real
localnet where the venue matters."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from adapters.hyperliquid.venue import HyperliquidVenue
from adapters.localnet.server import LocalnetThread
from bench.rig import unpaced
from bot.ledger import Ledger, create_engine
from bot.service import Actor, MirrorService
from tests.ledger.conftest import _pg_database, _sqlite_template, db_url  # noqa: F401  (fixtures)
from tests.service.support import FAST_KDF, unique_nonce, write_fast_keystore

MakeKeystore = Callable[..., tuple[Path, str]]


@pytest.fixture
def actor() -> Actor:
    return Actor.cli("tester")


@pytest.fixture
async def ledger(db_url: str) -> AsyncIterator[Ledger]:  # noqa: F811
    store = Ledger(create_engine(db_url))
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def service(ledger: Ledger) -> MirrorService:
    """The service with no venue configured."""
    return MirrorService(ledger, kdf_iterations=FAST_KDF)


@pytest.fixture
def make_keystore(tmp_path: Path) -> MakeKeystore:
    """A fast-to-open keystore file holding a fresh key: returns (path, address)."""
    counter = iter(range(10_000))

    def make(password: str = "correct horse") -> tuple[Path, str]:
        return write_fast_keystore(tmp_path / f"agent-{next(counter)}.json", password)

    return make


@pytest.fixture(scope="module")
def localnet() -> Iterator[LocalnetThread]:
    with LocalnetThread(seed=3) as net:
        yield net


@pytest.fixture
async def venue_service(ledger: Ledger, localnet: LocalnetThread) -> AsyncIterator[MirrorService]:
    """The service with the localnet as its venue."""
    # The localnet imposes no weight limit: the venue's pacing is tested in tests/hyperliquid.
    venue = HyperliquidVenue(localnet.url, data_dir=None, budget=unpaced())
    try:
        yield MirrorService(ledger, venue, kdf_iterations=FAST_KDF)
    finally:
        await venue.close()


@pytest.fixture(autouse=True)
def unique_sdk_nonces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("hyperliquid.exchange.get_timestamp_ms", unique_nonce)
