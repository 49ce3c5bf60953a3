"""`mirrorbot inspect` / `mirrorbot backtest` offline, on the real 500-fill recording: outputs, the
PNG charts, and bad input (exit 2, the message naming the field)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from bot.analytics.definitions import BACKTEST, DISCLAIMER, INSPECT
from bot.cli import app
from tests.analytics.support import FILLS, TRADER, assert_png


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"MIRROR_HL_API_URL": "http://127.0.0.1:9"})


def ok_json(*args: str) -> Any:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)  # nothing but the JSON on stdout (no progress, no notes)


def test_inspect_offline_json_and_chart(tmp_path: Path) -> None:
    doc = ok_json("inspect", TRADER, "--fills", str(FILLS), "--chart", str(tmp_path / "c.png"))
    stats = doc["stats"]
    assert (stats["fills"], stats["realised_pnl"], stats["fees"], stats["funding"]) == (
        500,
        "-152.586132",
        "0",
        "0",
    )
    assert stats["funding_note"] and stats["max_leverage"] is None  # offline: no funding, no equity
    assert doc["disclaimer"] == DISCLAIMER and doc["definitions"] == INSPECT
    assert doc["equity_curve"][0][1] == "0" and doc["equity_curve"][-1][1] == stats["net_pnl"]
    assert_png(tmp_path / "c.png")


def test_inspect_text_shows_every_figure_with_its_definition() -> None:
    result = run("inspect", TRADER, "--fills", str(FILLS))
    assert result.exit_code == 0, result.stderr
    assert DISCLAIMER in result.stdout
    for definition in INSPECT.values():
        if definition.startswith(("UTC", "Distinct", "Today's")):
            continue  # shown in the header / joined to another line
        assert definition in result.stdout, definition


def test_days_keeps_the_last_days_of_a_recording() -> None:
    # the recording spans 5.5 minutes: one day keeps everything
    assert ok_json("inspect", TRADER, "--fills", str(FILLS), "--days", "1")["stats"]["fills"] == 500


def test_backtest_offline_json_text_and_chart(tmp_path: Path) -> None:
    args = ("backtest", TRADER, "--fills", str(FILLS), "--source-equity", "100000", "--equity", "5000")
    doc = ok_json(*args, "--scaling", "80", "--scale", "SUI=50", "--chart", str(tmp_path / "b.png"))
    assert doc["params"]["scaling"] == {"*": "80", "SUI": "50"}
    d = doc["decisions"]
    assert d["total"] == len(doc["log"]) == d["sent"] + d["deferred"] + d["skipped"] + d["unchanged"]
    assert doc["follower"]["end_positions"] == {} and doc["definitions"] == BACKTEST
    assert_png(tmp_path / "b.png")
    text = run(*args)
    assert text.exit_code == 0 and "Tracking error" in text.stdout and DISCLAIMER in text.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["inspect", "0x1234", "--fills", str(FILLS)], "ADDRESS: not an address"),
        (["inspect", TRADER, "--fills", str(FILLS), "--days", "0"], "days: out of range: 0"),
        (["inspect", TRADER, "--fills", "missing.json"], "--fills: cannot read missing.json"),
        (["inspect", TRADER, "--fills", str(FILLS), "--chart", "out.jpg"], "--chart: expected a file name"),
        (["backtest", TRADER, "--fills", str(FILLS)], "--source-equity: needed with a recording"),
        (["backtest", TRADER, "--fills", str(FILLS), "--source-equity", "-5"], "--source-equity: out of"),
        (["backtest", TRADER, "--fills", str(FILLS), "--equity", "ten"], "--equity: not a number"),
        (["backtest", TRADER, "--fills", str(FILLS), "--scale", "ETH"], "--scale: expected KEY=VALUE"),
        (["backtest", TRADER, "--fills", str(FILLS), "--scale", "ETH=0"], "--scale ETH: out of range: 0"),
        (["backtest", TRADER, "--fills", str(FILLS), "--scaling", "2000"], "--scaling: out of range: 2000"),
        (["backtest", TRADER, "--fills", str(FILLS), "--taker-fee", "0.5"], "--taker-fee: out of range"),
        (["backtest", TRADER, "--fills", str(FILLS), "--depth", "0"], "--depth: out of range"),
        (["backtest", TRADER, "--fills", str(FILLS), "--set", "colour=red"], "colour: unknown setting"),
    ],
)
def test_bad_input_exits_2_naming_the_field(args: list[str], message: str, tmp_path: Path) -> None:
    result = run(*args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert message in result.stderr and result.stdout == ""


def test_a_bad_file_is_refused_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "fills.json"
    bad.write_text('[{"coin": "ETH"}]', encoding="utf-8")
    result = run("inspect", TRADER, "--fills", str(bad))
    assert result.exit_code == 2 and "--fills: fills.json: userFills[0].px: missing" in result.stderr


def test_online_without_a_venue_fails_with_exit_1() -> None:
    result = run("inspect", TRADER, "--days", "1")
    assert result.exit_code == 1 and "did not answer" in result.stderr
