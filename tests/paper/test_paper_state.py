"""The paper state file (adapters/paper/state.py): what it keeps survives a reload, and a file written
before the accounting was shared (issue #13: no `volume`) still loads."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.paper import PaperAccount
from adapters.paper.state import load_state, save_state

D = Decimal


def _traded() -> PaperAccount:
    account = PaperAccount(D(1000), address="0xpaper", leverage={"ETH": 7})
    account.trade("ETH", D("0.5"), D(3000), D("0.675"))
    account.trade("ETH", D("0.25"), D(3001), D("0.337613"))  # an averaged entry
    account.trade("ETH", D("-0.2"), D(3100), D("0.279"))
    return account


def test_an_account_survives_a_reload_whole(tmp_path: Path) -> None:
    account = _traded()
    path = tmp_path / "paper.json"
    save_state(path, 41, [account])
    assert load_state(path) == (41, [account])
    kept = json.loads(path.read_text())["accounts"][0]
    assert kept["cash"] == str(account.cash) and D(kept["cash"]) == D(1000) + account.realised - account.fees


def test_a_state_without_the_volume_loads_with_none_traded(tmp_path: Path) -> None:
    account = _traded()
    path = tmp_path / "paper.json"
    save_state(path, 7, [account])
    raw = json.loads(path.read_text())
    del raw["accounts"][0]["volume"]
    path.write_text(json.dumps(raw))
    next_oid, (loaded,) = load_state(path)
    assert next_oid == 7 and loaded.volume == 0
    assert dataclasses.replace(loaded, volume=account.volume) == account


def test_a_state_of_another_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "paper.json"
    path.write_text('{"version": 2, "next_oid": 1, "accounts": []}')
    with pytest.raises(ValueError, match="paper state version 2, expected 1"):
        load_state(path)
