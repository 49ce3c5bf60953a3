"""`mirrorbot follow add/update --set stop_loss_pct=…` (the same key set Telegram's /set uses): stored as
exact decimals, a new plan version per change, refusals naming the key and the accepted range."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from bot.cli import app
from tests.service.support import fixed_key, write_fast_keystore

PASSWORD = "correct horse battery"
SOURCE = "0x" + "5e" * 20


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(tmp_path)  # no stray .env
    env = {
        "MIRROR_DATA_DIR": str(tmp_path / "data"),
        "MIRROR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}",
        "MIRROR_HL_API_URL": "http://127.0.0.1:9",  # no venue: the token check is skipped, and said so
        "MIRROR_KEYSTORE_PASSWORD": PASSWORD,
    }

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(app, list(args), env=env)

    keystore, _ = write_fast_keystore(tmp_path / "agent.json", PASSWORD)
    added = invoke(
        "account", "add", "--address", fixed_key("protect-cli").address, "--keystore", str(keystore)
    )
    assert added.exit_code == 0, added.stderr
    return invoke


def test_stop_loss_and_take_profit_are_follow_settings_with_a_version_per_change(run: Any) -> None:
    added = run(
        "follow", "add", SOURCE, "--set", "stop_loss_pct=5", "--set", "take_profit_pct=12.5", "--json"
    )
    assert added.exit_code == 0, added.stderr
    settings = json.loads(added.stdout)["plan"]["settings"]
    assert (settings["stop_loss_pct"], settings["take_profit_pct"]) == ("5", "12.5")

    updated = run("follow", "update", SOURCE, "--set", "stop_loss_pct=off")
    assert updated.exit_code == 0 and "plan v2" in updated.stdout
    (listed,) = json.loads(run("follow", "list", "--json").stdout)
    kept = listed["settings"]
    assert (listed["version"], kept["stop_loss_pct"], kept["take_profit_pct"]) == (2, None, "12.5")


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("stop_loss_pct=100", "stop_loss_pct: out of range: 100 (accepted: a percent in (0, 100), or off)"),
        ("stop_loss_pct=0", "stop_loss_pct: out of range: 0 (accepted: a percent in (0, 100), or off)"),
        (
            "take_profit_pct=-3",
            "take_profit_pct: out of range: -3 (accepted: a percent in (0, 10000], or off)",
        ),
    ],
)
def test_out_of_range_is_refused_and_nothing_is_written(run: Any, option: str, message: str) -> None:
    refused = run("follow", "add", SOURCE, "--set", option)
    assert refused.exit_code == 2, refused.stdout
    assert message in refused.stderr
    assert json.loads(run("follow", "list", "--json").stdout) == []
