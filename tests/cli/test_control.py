"""The CLI twins of the control room: the same service calls, the same rules."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.ledger import Ledger
from bot.service import Actor, MirrorService
from bot.service.owner import OwnerService
from tests.ledger.support import sqlite_copy
from tests.service.support import FAST_KDF, write_fast_keystore

FOLLOWER = "0x" + "ab" * 20


@pytest.fixture
def db(tmp_path: Path, _sqlite_template: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = sqlite_copy(_sqlite_template, tmp_path)
    monkeypatch.setenv("MIRROR_DATABASE_URL", url)
    monkeypatch.setenv("MIRROR_HL_API_URL", "http://127.0.0.1:9")  # never asked by these commands

    async def setup() -> None:
        async with await Ledger.open(url) as ledger:
            path, _ = write_fast_keystore(tmp_path / "agent.json", "password123")
            await MirrorService(ledger, kdf_iterations=FAST_KDF).account_add(Actor.cli("t"), FOLLOWER, path)

    asyncio.run(setup())
    return url


async def _state(url: str) -> str:
    async with await Ledger.open(url) as ledger:
        return (await OwnerService(MirrorService(ledger)).states([FOLLOWER]))[FOLLOWER]


def test_stop_needs_yes_and_pause_is_recorded(db: str) -> None:
    runner = CliRunner()
    refused = runner.invoke(app, ["stop"])
    assert refused.exit_code == 2 and "confirm with --yes" in refused.output
    assert asyncio.run(_state(db)) == "running"
    paused = runner.invoke(app, ["pause"])
    assert paused.exit_code == 0, paused.output
    assert "Paused" in paused.output and asyncio.run(_state(db)) == "paused"
    stopped = runner.invoke(app, ["stop", "--yes"])
    assert stopped.exit_code == 0 and asyncio.run(_state(db)) == "stopped"
    modes = runner.invoke(app, ["alerts", "42", "deferred", "loud"])
    assert modes.exit_code == 2 and "accepted: on, silent, off" in modes.output
