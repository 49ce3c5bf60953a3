"""`mirrorbot audit export` / `verify` as a user runs them, over a ledger with real copies (SPEC §15):
accounts pseudonymised, the chain intact, and an edited, removed or reordered line caught each time."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
from pathlib import Path

import pytest

from tests.e2e.support import World
from tests.ops.support import MIRRORBOT


async def mirrorbot(world: World, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIRROR_")}
    process = await asyncio.create_subprocess_exec(
        MIRRORBOT,
        *args,
        env=env | {"MIRROR_DATABASE_URL": world.db_url, "MIRROR_DATA_DIR": str(world.tmp / "bot")},
        cwd=world.tmp,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def key_of(path: Path) -> tuple[bytes, int]:
    """The export key the operator was given, and its file's mode."""
    return bytes.fromhex(path.read_text(encoding="utf-8").strip()), path.stat().st_mode & 0o777


async def copied_twice(world: World) -> tuple[str, str]:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("10000")
    await world.follow(follower, leader.address)
    await world.start_runner()
    await world.leader_to(leader, "ETH", "1")
    await world.follower_at(follower, "ETH", "0.1")
    await world.leader_to(leader, "ETH", "3")
    await world.follower_at(follower, "ETH", "0.3")
    await world.settle()
    return leader.address, follower


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
async def test_export_pseudonymises_and_verify_catches_every_tampering(world: World) -> None:
    leader, follower = await copied_twice(world)
    out = world.tmp / "audit.jsonl"
    code, _, err = await mirrorbot(
        world, "audit", "export", "--since", "2020-01-01", "--until", "2100-01-01", "--out", str(out)
    )
    assert code == 0, err
    text = out.read_text(encoding="utf-8")
    lines = text.splitlines()
    conversions = [json.loads(line) for line in lines if json.loads(line)["type"] == "conversion"]
    assert len(conversions) >= 2 and len(lines) == len(conversions) + 2
    opened = next(c for c in conversions if c["decision"]["event_kind"] == "open")
    assert opened["leader_event"]["new_size"] == "1" and opened["order"]["size"] == "0.1"
    assert opened["fills"] and opened["fills"][0]["size"] == "0.1"
    assert opened["leader_event"]["venue_time"] and opened["decision"]["ledger_time"]
    # Accounts are keyed pseudonyms: none of the addresses is in the file, and the operator's key maps
    # the follower to the pseudonym an auditor follows.
    for address in (leader, follower):
        assert address[2:].lower() not in text.lower()
    key, mode = key_of(Path(f"{out}.key"))
    assert mode == 0o600
    digest = hmac.new(key, f"acct:{follower.lower()}".encode(), hashlib.sha256).hexdigest()[:16]
    assert {c["decision"]["follower"] for c in conversions} == {f"acct:{digest}"}

    code, said, err = await mirrorbot(world, "audit", "verify", str(out), "--key-file", f"{out}.key")
    assert code == 0 and "intact" in said and "MAC checked" in said, said + err

    increase = next(i for i, line in enumerate(lines) if '"new_size":"3"' in line)
    edited = list(lines)
    edited[increase] = edited[increase].replace('"new_size":"3"', '"new_size":"30"')  # the leader "did more"
    tampered = {
        "edited": edited,
        "removed": lines[:1] + lines[2:],
        "reordered": [*lines[:1], lines[2], lines[1], *lines[3:]],
        "cut": lines[:-2] + lines[-1:],
    }
    for what, variant in tampered.items():
        path = world.tmp / f"{what}.jsonl"
        path.write_text("".join(line + "\n" for line in variant), encoding="utf-8")
        code, said, err = await mirrorbot(world, "audit", "verify", str(path))
        assert code == 1 and "NOT intact: line" in err and "Traceback" not in err, (what, said, err)


async def test_bad_input_is_refused_in_one_line_naming_the_field(world: World) -> None:
    code, _, err = await mirrorbot(
        world, "audit", "export", "--since", "yesterday", "--until", "2100-01-01", "--out", "x"
    )
    assert code == 2 and "--since" in err and "ISO-8601" in err and len(err.strip().splitlines()) == 1
    code, _, err = await mirrorbot(world, "audit", "export", "--since", "2026-01-01", "--until", "2100-01-01")
    assert code == 2 and "--key-out" in err
    (world.tmp / "taken.jsonl").write_text("mine\n", encoding="utf-8")
    code, _, err = await mirrorbot(
        world,
        "audit",
        "export",
        "--since",
        "2026-01-01",
        "--until",
        "2100-01-01",
        "--out",
        str(world.tmp / "taken.jsonl"),
    )
    assert code == 2 and "never overwritten" in err
    assert (world.tmp / "taken.jsonl").read_text(encoding="utf-8") == "mine\n"
    assert not (world.tmp / "taken.jsonl.key").exists()
