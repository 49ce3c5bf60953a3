"""`mirrorbot simulate` and `mirrorbot backtest` take histories with builder-dex coins (`dex:COIN`,
HIP-3) beside the default dex's: fills files, scenarios, and per-token options naming them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from bot.cli import app
from tests.simulate.helpers import run_cli, simulate

SOURCE = "0x5e9ee1089755c3435139848e47e6635505d5a13a"
T0 = 1_700_000_000_000


def _fill(coin: str, side: str, px: str, sz: str, start: str, n: int) -> dict[str, Any]:
    return {
        "coin": coin,
        "px": px,
        "sz": sz,
        "side": side,
        "time": T0 + n * 60_000,
        "startPosition": start,
        "dir": "",
        "closedPnl": "0",
        "hash": f"0x{n:064x}",
        "oid": 100 + n,
        "tid": 1000 + n,
        "crossed": True,
        "fee": "0",
    }


# ETH on the default dex; test:GOLD on the builder dex `test`: an open, a flip and a close.
FILLS = [
    _fill("ETH", "B", "3000", "10", "0", 0),
    _fill("test:GOLD", "B", "2400", "2", "0", 1),
    _fill("test:GOLD", "A", "2410", "6", "2", 2),
    _fill("test:GOLD", "B", "2390", "4", "-4", 3),
]


def _fills_file(tmp_path: Path) -> Path:
    path = tmp_path / "fills.json"
    path.write_text(json.dumps(FILLS), encoding="utf-8")
    return path


def test_simulate_replays_a_builder_dex_history(tmp_path: Path) -> None:
    code, lines, err = run_cli(
        "--fills", str(_fills_file(tmp_path)), "--equity", "10000", "--source-equity", "200000"
    )
    assert code == 0, err
    gold = [(line["event"], line["target"]) for line in lines if line["coin"] == "test:GOLD"]
    assert gold[1:] == [("open", "0.1"), ("flip", "-0.2"), ("close", "0")]  # after the follow's start
    assert [line["target"] for line in lines if line["coin"] == "ETH"] == ["0", "0.5"]


def test_a_scenario_names_builder_dex_instruments_and_scales_them(tmp_path: Path) -> None:
    scenario = {
        "instruments": {"ETH": {"sz_decimals": 4}, "test:GOLD": {"sz_decimals": 4, "max_leverage": 20}},
        "follow": {"scaling": {"test:GOLD": 50}, "include": ["ETH", "test:GOLD"]},
        "steps": [
            {
                "source_equity": "200000",
                "follower_equity": "10000",
                "mids": {"ETH": "3000", "test:GOLD": "2400"},
                "source": {"ETH": "0", "test:GOLD": "0"},
            },
            {"source": {"test:GOLD": "2"}},
            {"source": {"test:GOLD": "-2"}},
        ],
    }
    lines = simulate(scenario, tmp_path)
    assert [line["target"] for line in lines if line["coin"] == "test:GOLD"][1:] == ["0.05", "-0.05"]


def test_backtest_takes_a_builder_dex_history_and_its_per_token_scaling(tmp_path: Path) -> None:
    # Offline the lots come from the history's sizes (whole units here): ρ = 1, k = 50 % on test:GOLD.
    args = ["backtest", SOURCE, "--fills", str(_fills_file(tmp_path)), "--source-equity", "200000"]
    result = CliRunner().invoke(
        app,
        [*args, "--equity", "200000", "--scale", "test:GOLD=50", "--json"],
        env={"MIRROR_HL_API_URL": "http://127.0.0.1:9"},
    )
    assert result.exit_code == 0, result.stderr
    log = json.loads(result.stdout)["log"]
    sent = [(d["coin"], d["event"], d["side"], d["ordered"]) for d in log if d["outcome"] == "sent"]
    assert sent == [
        ("ETH", "open", "buy", "10"),
        ("test:GOLD", "open", "buy", "1"),
        ("test:GOLD", "flip", "sell", "3"),
        ("test:GOLD", "close", "buy", "2"),
    ]
