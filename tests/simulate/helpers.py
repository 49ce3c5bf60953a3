"""Running `mirrorbot simulate` in-process (typer's CliRunner on the real app) and reading its lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from bot.cli import app

SCENARIOS = Path(__file__).parent / "scenarios"


def run_cli(*args: str) -> tuple[int, list[dict[str, Any]], str]:
    """Exit code, the JSON lines on stdout, and stderr."""
    result = CliRunner().invoke(app, ["simulate", *args])
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result.exit_code, lines, result.stderr


def simulate(scenario: Path | dict[str, Any], tmp_path: Path | None = None) -> list[dict[str, Any]]:
    """Run a scenario file (or a scenario object written to `tmp_path`) and return its lines."""
    if isinstance(scenario, dict):
        assert tmp_path is not None
        path = tmp_path / "scenario.json"
        path.write_text(json.dumps(scenario), encoding="utf-8")
    else:
        path = scenario
    code, lines, err = run_cli("--scenario", str(path))
    assert code == 0, err
    return lines


def orders(lines: list[dict[str, Any]]) -> list[tuple[int, str, str, bool] | tuple[int, None, str]]:
    """(step, side, size, reduce_only) for each order, or (step, None, reason) when nothing is sent."""
    out: list[tuple[int, str, str, bool] | tuple[int, None, str]] = []
    for line in lines:
        order = line["order"]
        if order is None:
            out.append((line["step"], None, line["reason"]))
        else:
            out.append((line["step"], order["side"], order["size"], order["reduce_only"]))
    return out
