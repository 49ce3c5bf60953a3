"""`mirrorbot builder approve|status`, `follow … --set commission_*` and `mirrorbot commission report`
through typer's runner, against a real localnet (SPEC §14)."""

from __future__ import annotations

import json
from pathlib import Path

from adapters.localnet.server import LocalnetThread
from tests.cli.test_service import PASSWORD, Run, ok_json, run  # noqa: F401  (the fixture)
from tests.service.support import fixed_key, funded, sdk_exchange, write_fast_keystore


def test_the_master_approves_the_follows_builder_once_and_the_key_is_never_shown(
    run: Run,  # noqa: F811  (the fixture imported above)
    tmp_path: Path,
    db_url: str,
) -> None:
    with LocalnetThread(seed=5) as net:
        venue = {"MIRROR_HL_API_URL": net.url}
        leader = fixed_key("cli-commission-leader").address.lower()
        follower = funded(net.url, "cli-commission-follower", usdc="5000")
        _, agent_key = sdk_exchange(net.url, follower).approve_agent("bot")
        agent, _ = write_fast_keystore(tmp_path / "agent.json", PASSWORD, bytes.fromhex(agent_key[2:]))
        master, _ = write_fast_keystore(tmp_path / "master.json", PASSWORD, follower.key)
        assert (
            run("account", "add", "--address", follower.address, "--keystore", str(agent), **venue).exit_code
            == 0
        )
        sets = ["--set", f"commission_to={leader}", "--set", "commission_tenths_bp=101"]
        refused = run("follow", "add", leader, "--no-check-venue", *sets)
        assert refused.exit_code == 2 and "commission_tenths_bp: out of range: 101" in refused.stderr
        sets[-1] = "commission_tenths_bp=10"
        assert run("follow", "add", leader, "--no-check-venue", *sets).exit_code == 0

        before = ok_json(run("builder", "status", "--json", **venue))
        assert before["builders"] == [{"builder": leader, "asked": 10, "approved": 0}]
        as_agent = run("builder", "approve", "--keystore", str(agent), **venue)
        assert as_agent.exit_code == 2 and "not the master key" in as_agent.stderr
        approved = run("builder", "approve", "--keystore", str(master), **venue)
        assert approved.exit_code == 0, approved.stderr
        assert f"{leader}: asked 10 tenths of a bp (= 0.01 %), approved 10 tenths of a bp" in approved.stdout
        typed = run(
            "builder",
            "approve",
            "--builder",
            leader,
            "--rate",
            "20",
            input=follower.key.hex() + "\n",
            **venue,
        )
        assert typed.exit_code == 0 and "approved 20 tenths" in typed.stdout
        shown = approved.stdout + approved.stderr + typed.stdout + typed.stderr
        assert follower.key.hex().removeprefix("0x") not in shown
        if db_url.startswith("sqlite"):  # nor in the ledger (the audit log names the account and rates)
            ledger = Path(db_url.split("///", 1)[1]).read_bytes()
            assert (
                follower.key.hex().removeprefix("0x").encode() not in ledger and b"builder.approve" in ledger
            )

    report = ok_json(run("commission", "report", "--json", "--period", "week", "--share", "20"))
    assert report["period"] == "week" and report["share_pct"] == "20" and report["follows"] == []
    bad = run("commission", "report", "--share", "0")
    assert bad.exit_code == 2 and "share: out of range: 0" in bad.stderr
    assert json.dumps(report)  # JSON-ready
