"""`mirrorbot run` as a user runs it: a separate process configured by environment variables, keys
from keystores, stopped by SIGTERM (graceful) or after one pass (`--once`)."""

from __future__ import annotations

import asyncio
import json
import signal
from decimal import Decimal

from bench.cluster import MIRRORBOT, Site, role_environment
from tests.e2e.support import PASSWORD, World

__all__ = ["MIRRORBOT", "environment", "events"]


def environment(world: World, *, password: str | None = PASSWORD) -> dict[str, str]:
    return role_environment(Site(world.url, world.db_url, world.tmp, password), world.tmp / "bot")


async def start(world: World, *args: str, password: str | None = PASSWORD) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        MIRRORBOT,
        "run",
        *args,
        env=environment(world, password=password),
        cwd=world.tmp,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def events(stderr: bytes) -> list[str]:
    out = []
    for line in stderr.decode().splitlines():
        if line.startswith("{"):
            out.append(json.loads(line).get("event", ""))
    return out


async def test_run_once_joins_open_positions_and_exits_0(world: World) -> None:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    await world.leader_to(leader, "ETH", "10")
    await world.top_up(leader.address, "100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address, copy_current=True)

    process = await start(world, "--once")
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    assert "runner_started" in events(stderr) and events(stderr)[-1] == "runner_stopped"
    assert await world.position(follower, "ETH") == Decimal("0.1")
    assert PASSWORD not in stderr.decode()


async def test_sigterm_stops_the_bot_gracefully(world: World) -> None:
    await world.set_mids(BTC="60000")
    leader = await world.leader("50000")
    follower = await world.master_follower("5000", agent=True)
    await world.follow(follower, leader.address)
    process = await start(world)
    assert process.stderr is not None
    seen: list[str] = []
    while "runner_started" not in seen:
        line = await asyncio.wait_for(process.stderr.readline(), 60)
        assert line, "the bot exited before it started"
        seen += events(line)

    await world.leader_to(leader, "BTC", "1")
    await world.follower_at(follower, "BTC", "0.1")
    process.send_signal(signal.SIGTERM)
    _, rest = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, rest.decode()
    told = events(rest)
    assert told[-1] == "runner_stopped" and "runner_stopping" in told, rest.decode()
    # An order in flight when the signal came was finished and recorded, not cut off.
    assert world.ledger is not None
    (opened,) = [d for d in await world.ledger.last_decisions(20) if d.event_kind == "open"]
    intent = await world.ledger.get_intent(opened.cloid)
    assert intent is not None and intent.status == "accepted"


async def test_without_the_keystore_password_it_refuses_to_start(world: World) -> None:
    await world.master_follower("1000")
    process = await start(world, "--once", password=None)
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert "MIRROR_KEYSTORE_PASSWORD" in stderr.decode()


async def test_a_wrong_keystore_password_is_named_not_echoed(world: World) -> None:
    await world.master_follower("1000")
    process = await start(world, "--once", password="not-the-password")
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert "wrong password" in stderr.decode() and "not-the-password" not in stderr.decode()
