"""The CLI twins through typer's CliRunner: a temporary data dir, the ledger on SQLite or PostgreSQL."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from adapters.localnet.server import LocalnetThread
from bot.cli import app
from tests.service.support import fixed_key, funded, market_open, sdk_exchange, write_fast_keystore

PASSWORD = "correct horse battery"
UNREACHABLE = "http://127.0.0.1:9"  # discard port: connection refused at once
SOURCE = "0x" + "5e" * 20

Run = Callable[..., Result]


@pytest.fixture
def run(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """`mirrorbot ARGS…` in-process, on this test's database, with no venue reachable unless told."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    base = {
        "MIRROR_DATA_DIR": str(tmp_path / "data"),
        "MIRROR_DATABASE_URL": db_url,
        "MIRROR_HL_API_URL": UNREACHABLE,
        "MIRROR_KEYSTORE_PASSWORD": PASSWORD,
    }

    def invoke(*args: str, input: str | None = None, **env: str | None) -> Result:
        return CliRunner().invoke(app, list(args), input=input, env=base | env)

    return invoke


def ok_json(result: Result) -> Any:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_keystore_new_and_import(run: Run, tmp_path: Path) -> None:
    made = ok_json(run("keystore", "new", "agent.json", "--json"))
    path = tmp_path / "agent.json"
    assert made["path"] == str(path) and stat.S_IMODE(path.stat().st_mode) == 0o600
    again = run("keystore", "new", "agent.json")
    assert again.exit_code == 1 and "already exists: refusing to overwrite" in again.stderr

    key = fixed_key("cli-import")
    # the key is asked for (hidden), never an argument; without the env variable so is the password
    imported = run(
        "keystore",
        "import",
        "imported.json",
        input=f"{key.key.hex()}\n{PASSWORD}\n{PASSWORD}\n",
        MIRROR_KEYSTORE_PASSWORD=None,
    )
    assert imported.exit_code == 0, imported.stderr
    assert key.address.lower() in imported.stdout
    assert key.key.hex() not in imported.stdout + imported.stderr
    bad = run("keystore", "import", "bad.json", input="0x" + "zz" * 32 + "\n")
    assert bad.exit_code == 2
    assert "private_key: not a private key (input not shown)" in bad.stderr and "zz" * 32 not in bad.stderr


def test_accounts_follows_status_and_why(run: Run, tmp_path: Path) -> None:
    keystore, agent = write_fast_keystore(tmp_path / "agent.json", PASSWORD)
    master = fixed_key("cli-master").address
    added = run("account", "add", "--address", master, "--keystore", str(keystore), "--label", "desk")
    assert added.exit_code == 0, added.stderr
    assert f"Registered master account {master.lower()} with agent {agent}" in added.stdout
    assert "venue did not answer" in added.stderr  # auto check: skipped, and said so
    assert [a["label"] for a in ok_json(run("account", "list", "--json"))] == ["desk"]

    change = ok_json(
        run("follow", "add", SOURCE, "--tokens", "eth,BTC", "--scale", "ETH=50", "--copy-current", "--json")
    )
    assert (change["plan"]["version"], change["plan"]["tokens"]) == (1, "BTC, ETH")
    assert change["plan"]["settings"]["scaling"] == {"*": "100", "ETH": "50"}
    updated = run("follow", "update", SOURCE, "--scaling", "120", "--set", "max_leverage=3")
    assert updated.exit_code == 0 and "plan v2" in updated.stdout
    (listed,) = ok_json(run("follow", "list", "--json"))
    assert (listed["version"], listed["settings"]["max_leverage"], listed["scaling"]["*"]) == (2, "3", "120")

    table = run("follow", "list")
    assert table.exit_code == 0 and SOURCE in table.stdout and "v2" in table.stdout

    no_choice = run("follow", "remove", SOURCE)
    assert no_choice.exit_code == 2 and "accepted: --close, --keep" in no_choice.stderr
    removed = run("follow", "remove", SOURCE, "--keep")
    assert removed.exit_code == 0 and "kept, detached" in removed.stdout

    status = ok_json(run("status", "--json"))
    assert [f["version"] for f in status["follows"]] == [3]
    assert status["counts"] == {
        "leader_events": 0,
        "decisions": 0,
        "orders": 0,
        "rejected": 0,
        "fills": 0,
        "deferrals": 0,
    }
    assert run("status").exit_code == 0
    why = run("why", "12345")
    assert why.exit_code == 1 and "Nothing in the ledger matches '12345'" in why.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("follow", "add", "0xnope"),
            "source: not an address: '0xnope' (accepted: 0x followed by 40 hex digits)",
        ),
        (("follow", "add", SOURCE, "--scaling", "5000"), "scaling: out of range: 5000 (accepted: (0, 1000])"),
        (("follow", "add", SOURCE, "--scale", "ETH"), "--scale: expected KEY=VALUE, got 'ETH'"),
        (("follow", "add", SOURCE, "--side", "up"), "side: unknown value 'up' (accepted: both, long_only"),
        (
            ("follow", "add", SOURCE, "--set", "colour=red"),
            "colour: unknown follow option (accepted: strategy",
        ),
        (("account", "add", "--address", "0x12", "--keystore", "k.json"), "address: not an address: '0x12'"),
    ],
)
def test_bad_input_exits_2_naming_the_field(
    run: Run, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    keystore, _ = write_fast_keystore(tmp_path / "agent.json", PASSWORD)
    assert run("account", "add", "--address", "0x" + "77" * 20, "--keystore", str(keystore)).exit_code == 0
    result = run(*args)
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr
    assert result.stdout == ""


def test_a_held_token_is_refused_with_the_holder_and_the_flag_to_confirm(run: Run, tmp_path: Path) -> None:
    keystore, _ = write_fast_keystore(tmp_path / "agent.json", PASSWORD)
    assert run("account", "add", "--address", "0x" + "77" * 20, "--keystore", str(keystore)).exit_code == 0
    assert run("follow", "add", SOURCE, "--tokens", "ETH").exit_code == 0
    other = "0x" + "6f" * 20
    refused = run("follow", "add", other, "--tokens", "ETH,SOL")
    assert refused.exit_code == 1
    assert f"already copies ETH (from {SOURCE}, plan v1)" in refused.stderr
    assert "pass --reassign to confirm" in refused.stderr
    moved = run("follow", "add", other, "--tokens", "ETH,SOL", "--reassign")
    assert moved.exit_code == 0 and f"Re-assigned from {SOURCE}" in moved.stdout


def test_positions_against_a_localnet(run: Run, tmp_path: Path) -> None:
    with LocalnetThread(seed=5) as net:
        leader = funded(net.url, "cli-leader", usdc="50000")
        market_open(sdk_exchange(net.url, leader), "ETH", False, Decimal("1"))
        follower = funded(net.url, "cli-follower", usdc="5000")
        _, agent_key = sdk_exchange(net.url, follower).approve_agent("bot")
        keystore, _ = write_fast_keystore(tmp_path / "agent.json", PASSWORD, bytes.fromhex(agent_key[2:]))
        venue = {"MIRROR_HL_API_URL": net.url}
        added = run("account", "add", "--address", follower.address, "--keystore", str(keystore), **venue)
        assert added.exit_code == 0 and "The venue confirms" in added.stdout
        assert run("follow", "add", leader.address, "--tokens", "ETH", **venue).exit_code == 0
        # Copy Current off: the leader's position from before the follow is not joined, not drift.
        unjoined = ok_json(run("positions", "--json", **venue))
        assert "not joined (Copy Current off)" in run("positions", **venue).stdout
        update = run("follow", "update", leader.address, "--copy-current", **venue)
        assert update.exit_code == 0, update.stderr
        view = ok_json(run("positions", "--json", **venue))
        table = run("positions", **venue)
    (row,) = unjoined["rows"]
    assert (row["source_size"], row["follower_size"], row["target"], row["drift"], row["note"]) == (
        "-1",
        "0",
        None,
        None,
        "not joined (Copy Current off)",
    )
    (row,) = view["rows"]
    assert (row["coin"], row["source_size"], row["follower_size"], row["target_basis"]) == (
        "ETH",
        "-1",
        "0",
        "estimate",
    )
    assert Decimal(row["target"]) < 0 and Decimal(row["drift"]) == -Decimal(row["target"])
    assert table.exit_code == 0 and "ETH" in table.stdout
    offline = run("positions")
    assert offline.exit_code == 1 and f"venue URL {UNREACHABLE}" in offline.stderr


def test_follow_sets_allocation_mode_and_refuses_a_bad_band(run: Run, tmp_path: Path) -> None:
    """`--strategy allocation --set …` (SPEC §9) like any follow setting; a refusal names the field and
    changes nothing; a new strategy drops the old one's keys."""
    keystore, _ = write_fast_keystore(tmp_path / "agent.json", PASSWORD)
    master = fixed_key("cli-alloc").address
    assert run("account", "add", "--address", master, "--keystore", str(keystore)).exit_code == 0
    change = ok_json(
        run("follow", "add", SOURCE, "--strategy", "allocation", "--set", "rebalance_band_pct=2", "--json")
    )
    settings = change["plan"]["settings"]
    assert (settings["strategy"], settings["rebalance_band_pct"], settings["rebalance_every"]) == (
        "allocation",
        "2",
        900,
    )
    bad = run("follow", "update", SOURCE, "--set", "rebalance_trigger_pct=1")
    assert bad.exit_code == 2
    assert "rebalance_trigger_pct: 1 is narrower than rebalance_band_pct 2" in bad.stderr
    policy = run("follow", "update", SOURCE, "--set", "out_of_sync=rebalance", "--strategy", "mirror")
    assert policy.exit_code == 0, policy.stderr
    (listed,) = ok_json(run("follow", "list", "--json"))
    assert listed["version"] == 2 and listed["settings"]["out_of_sync"] == "rebalance"
    assert (listed["settings"]["strategy"], listed["settings"]["rebalance_band_pct"]) == ("mirror", None)
