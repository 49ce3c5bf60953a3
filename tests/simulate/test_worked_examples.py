"""SPEC §2's four worked examples, run through `mirrorbot simulate --scenario` (tests/simulate/scenarios)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.simulate.helpers import SCENARIOS, orders, simulate

KEYS = ["step", "coin", "event", "ratio", "target", "position", "order", "reason"]


def test_example_1_locked_ratio_survives_a_source_equity_change() -> None:
    lines = simulate(SCENARIOS / "example1_eth_locked_ratio.json")
    assert orders(lines) == [
        (0, None, "in_sync"),
        (1, "buy", "0.1", False),  # source opens +10, ρ = 0.01
        (2, "buy", "0.05", False),  # +15
        (3, None, "applies_at_next_open"),  # source equity 200,000 → nothing
        (4, "buy", "0.05", False),  # +20: the locked ratio, not 0.005
        (5, "sell", "0.04", True),  # +16: −20 %
        (6, "sell", "0.16", True),  # close
        (7, "buy", "0.05", False),  # opens +10 again at ρ = 0.005
    ]
    assert [line["ratio"] for line in lines if line["step"] in (1, 4, 7)] == ["0.01", "0.01", "0.005"]
    assert [line["event"] for line in lines[1:]] == [
        "open",
        "increase",
        "equity",
        "increase",
        "decrease",
        "close",
        "open",
    ]


def test_example_2_scaling_change_applies_at_the_flip_as_one_order() -> None:
    lines = simulate(SCENARIOS / "example2_btc_scaling_flip.json")
    assert orders(lines)[1:] == [
        (1, "buy", "0.2", False),
        (2, None, "applies_at_next_open"),  # user sets BTC k = 50 → nothing
        (3, "buy", "0.1", False),
        (4, "sell", "0.35", False),  # one sell, not reduce-only
    ]
    flip = lines[-1]
    assert (flip["event"], flip["ratio"], flip["target"], flip["position"]) == (
        "flip",
        "0.05",
        "-0.05",
        "-0.05",
    )


def test_example_3_copy_current_on_joins_the_held_position() -> None:
    lines = simulate(SCENARIOS / "example3_sol_copy_current_on.json")
    assert orders(lines) == [(0, "sell", "6", False)]
    assert (lines[0]["event"], lines[0]["ratio"], lines[0]["target"]) == ("copy_current", "0.15", "-6")


def test_example_3_copy_current_off_leaves_the_position_untracked_until_it_closes() -> None:
    lines = simulate(SCENARIOS / "example3_sol_copy_current_off.json")
    assert orders(lines) == [
        (0, None, "untracked"),
        (1, None, "untracked"),  # source −20 → nothing
        (2, None, "untracked"),  # source 0 → nothing
        (3, "buy", "1.5", False),  # source opens +10
    ]


def test_example_4_min_notional_deferral_keeps_the_residual() -> None:
    lines = simulate(SCENARIOS / "example4_sol_min_notional.json")
    assert orders(lines)[1:] == [
        (1, None, "deferred_min_notional"),  # τ = 0.06, $9
        (2, "buy", "0.07", False),  # τ = 0.072
        (3, "sell", "0.07", True),
    ]
    assert [(line["target"], line["position"]) for line in lines[1:]] == [
        ("0.06", "0"),
        ("0.072", "0.07"),
        ("0", "0"),
    ]


def test_spec_section_7_example_line_format() -> None:
    lines = simulate(SCENARIOS / "spec_section7.json")
    assert all(list(line) == KEYS for line in lines)
    assert lines[1] == {
        "step": 1,
        "coin": "ETH",
        "event": "open",
        "ratio": "0.01",
        "target": "0.1",
        "position": "0.1",
        "order": {"side": "buy", "size": "0.1", "reduce_only": False},
        "reason": None,
    }
    assert list(lines[1]["order"]) == ["side", "size", "reduce_only"]
    # scaling, equity and switching Copy Current on while tracking send nothing
    assert [(line["event"], line["order"], line["reason"]) for line in lines[2:]] == [
        ("scaling", None, "applies_at_next_open"),
        ("equity", None, "applies_at_next_open"),
        ("copy_current", None, "in_sync"),
    ]


def test_the_installed_command_runs_example_2_in_a_real_process() -> None:
    exe = Path(sys.executable).parent / "mirrorbot"
    proc = subprocess.run(
        [str(exe), "simulate", "--scenario", str(SCENARIOS / "example2_btc_scaling_flip.json")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    raw = proc.stdout.splitlines()
    assert raw[-1] == (
        '{"step": 4, "coin": "BTC", "event": "flip", "ratio": "0.05", "target": "-0.05", '
        '"position": "-0.05", "order": {"side": "sell", "size": "0.35", "reduce_only": false}, '
        '"reason": null}'
    )
    assert [json.loads(line)["step"] for line in raw] == [0, 1, 2, 3, 4]
