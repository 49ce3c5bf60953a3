"""A bad scenario: one error on stderr naming the step and the field, exit code 2, nothing on stdout."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.cli import app

BASE: dict[str, Any] = {
    "instruments": {"ETH": {"sz_decimals": 4, "max_leverage": 50}},
    "follow": {"strategy": "mirror"},
    "steps": [
        {"source_equity": "100000", "follower_equity": "1000", "mids": {"ETH": "3000"}},
        {"source": {"ETH": "10"}},
    ],
}


def _with(path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


CASES = [
    (_with(("steps", 1, "source", "ETH"), "abc"), "step 1: source.ETH: not a number: 'abc'"),
    (_with(("steps", 1, "source", "ETH"), "NaN"), "step 1: source.ETH: must be a finite number"),
    (_with(("steps", 1, "source", "XRP"), "1"), "step 1: source.XRP: unknown coin (instruments: ETH)"),
    (_with(("steps", 1, "sourc"), {}), "step 1: sourc: unknown key (accepted: comment, source_equity"),
    (
        _with(("steps", 1, "source_equity"), "-5"),
        "step 1: source_equity: out of range: -5 (accepted: (0, 1000000000000]",
    ),
    (
        _with(("steps", 1, "follower_equity"), "-1"),
        "step 1: follower_equity: out of range: -1 (accepted: [0, ",
    ),
    (_with(("steps", 1, "mids"), {"ETH": "0"}), "step 1: mids.ETH: out of range: 0 (accepted: (0, "),
    (_with(("steps", 1, "fill"), "1.5"), "step 1: fill: out of range: 1.5 (accepted: [0, 1])"),
    (_with(("steps", 1, "follow"), "yes"), "step 1: follow: expected true or false, got a string"),
    (_with(("steps", 1, "unfollow"), "close"), 'step 1: unfollow: only with "follow": false'),
    (_with(("steps", 1, "set_scaling"), {"ETH": True}), "step 1: set_scaling.ETH: expected a decimal"),
    (
        _with(("steps", 1, "set_scaling"), {"*": "-10"}),
        "step 1: set_scaling.*: out of range: -10 (accepted: [0, 1000]",
    ),
    (_with(("follow", "strategy"), "martingale"), "follow.strategy: accepted values are mirror, fixed_ratio"),
    (_with(("follow", "strategy"), "fixed_ratio"), "follow.ratio: missing (strategy fixed_ratio needs it)"),
    (_with(("follow", "side"), "up"), "follow.side: accepted values are both, long_only, short_only"),
    (_with(("follow", "slippage_cap"), "1"), "follow.slippage_cap: out of range: 1 (accepted: (0, 0.5])"),
    (_with(("follow", "include"), ["XRP"]), "follow.include[0]: unknown coin 'XRP'"),
    (_with(("follow", "wat"), 1), "follow: wat: unknown key"),
    (
        _with(("instruments", "ETH", "sz_decimals"), "4"),
        "instruments.ETH.sz_decimals: expected a whole number",
    ),
    (
        _with(("instruments", "ETH", "sz_decimals"), 9),
        "instruments.ETH.sz_decimals: out of range: 9 (accepted: a whole number from 0 to 6",
    ),
    (_with(("steps",), []), "steps: expected a non-empty list"),
    (_with(("min_notional",), "-1"), "min_notional: out of range: -1 (accepted: [0, "),
]


def _run(tmp_path: Path, text: str) -> tuple[int, str, str]:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["simulate", "--scenario", str(path)])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(("doc", "message"), CASES)
def test_bad_scenario_names_step_and_field(tmp_path: Path, doc: dict[str, Any], message: str) -> None:
    code, out, err = _run(tmp_path, json.dumps(doc))
    assert code == 2
    assert out == ""
    assert message in err, err
    assert err.startswith("mirrorbot simulate: ") and err.count("\n") == 1


def test_the_valid_base_runs(tmp_path: Path) -> None:
    code, out, err = _run(tmp_path, json.dumps(BASE))
    assert (code, err) == (0, "")
    assert len(out.splitlines()) == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ('{"instruments": {"ETH": {"sz_decimals": 4}}, "instruments": {}}', "instruments: duplicate key"),
        (
            '{"instruments": {"ETH": {"sz_decimals": 4}}, "steps": [{"source_equity": NaN}]}',
            "NaN is not a valid",
        ),
        ('{"steps": [{}]}', "instruments: missing"),
        (
            '{"instruments": {"ETH": {"sz_decimals": 4}}, "steps": [{"source_equity": "1"}]}',
            "step 0: follower_equity: missing",
        ),
        (
            '{"instruments": {"ETH": {"sz_decimals": 4}}, "steps": '
            '[{"source_equity": "1", "follower_equity": "1", "source": {"ETH": "1"}}]}',
            "step 0: source.ETH: no mid for ETH yet",
        ),
    ],
)
def test_malformed_files(tmp_path: Path, text: str, message: str) -> None:
    code, out, err = _run(tmp_path, text)
    assert (code, out) == (2, "")
    assert message in err, err


def test_option_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    cases = [
        ([], "use --scenario FILE"),
        (["--scenario", str(tmp_path / "missing.json")], "cannot read the scenario"),
        (["--fills", "x.json"], "--equity is needed with --fills"),
        (["--fills", "x.json", "--equity", "ten", "--source-equity", "1"], "--equity: not a number: 'ten'"),
        (
            ["--fills", "x.json", "--equity", "1", "--source-equity", "-1"],
            "--source-equity: out of range: -1 (accepted: (0, 1000000000000])",
        ),
        (["--scenario", "a.json", "--equity", "1"], "--equity and --source-equity go with --fills"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["simulate", *args])
        assert (result.exit_code, result.stdout) == (2, ""), args
        assert message in result.stderr, (args, result.stderr)
