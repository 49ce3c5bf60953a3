"""One `mirrorbot run` per follower venue on a ledger, with real processes (issue #14 item 6): the second
refuses naming the first; a killed (-9) holder is replaced; a frozen holder is replaced once its lease is
stale, and finds it lost when it wakes (it stops, exit 1). On SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import signal
import socket

import pytest
from sqlalchemy import select

from bot.ledger.models import RunnerLease
from tests.e2e.support import World
from tests.pipeline.test_run_command import MIRRORBOT, environment, events
from tests.restart.test_sigkill import launch

BOTH = pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)


async def second(world: World, **env: str) -> tuple[int | None, str]:
    process = await asyncio.create_subprocess_exec(
        MIRRORBOT,
        "run",
        env=environment(world) | env,
        cwd=world.tmp,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, stderr.decode()


async def stop(process: asyncio.subprocess.Process) -> str:
    process.send_signal(signal.SIGTERM)
    _, rest = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, rest.decode()
    return rest.decode()


async def holder(world: World) -> tuple[int, int]:
    """The Hyperliquid runner lease's (pid, epoch) as the ledger holds it."""
    assert world.ledger is not None
    async with world.ledger.engine.connect() as conn:
        row = (await conn.execute(select(RunnerLease.pid, RunnerLease.epoch))).one()  # type: ignore[call-overload]
    return int(row.pid), int(row.epoch)


async def setup(world: World) -> None:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address)


@BOTH
async def test_a_second_runner_refuses_naming_the_first_then_starts_once_it_stopped(world: World) -> None:
    await setup(world)
    first = await launch(world)
    code, stderr = await second(world)
    assert code == 2, stderr
    (line,) = [x for x in stderr.splitlines() if x.startswith("mirrorbot run:")]
    assert f"pid {first.pid} on host {socket.gethostname()}, since " in line and " UTC " in line
    assert "runner_started" not in events(stderr.encode())
    await stop(first)
    after = await launch(world)  # the lease was released at the clean stop
    await stop(after)


@BOTH
async def test_a_runner_killed_with_sigkill_is_replaced(world: World) -> None:
    await setup(world)
    first = await launch(world)
    first.kill()
    await first.wait()
    # Its lease still looks fresh, but its pid is gone on this very node: taken over at once.
    replacement = await launch(world)
    assert await holder(world) == (replacement.pid, 2)
    await stop(replacement)


async def test_a_frozen_runner_is_replaced_once_stale_and_stops_when_it_wakes(world: World) -> None:
    await setup(world)
    # The bound must exceed a `mirrorbot run` start-up (imports, ledger) on a loaded machine, for the
    # second runner to meet the frozen one's lease still fresh.
    stale_s = 10.0
    stale = {"MIRROR_LEASE_STALE_S": str(stale_s)}
    first = await launch(world, env=stale)
    loop = asyncio.get_running_loop()
    first.send_signal(signal.SIGSTOP)  # alive, silent: only the heartbeat's age can tell
    frozen_at = loop.time()
    try:
        code, stderr = await second(world, **stale)
        assert loop.time() - frozen_at < stale_s, "the machine is too slow for this bound"
        assert code == 2 and f"pid {first.pid}" in stderr, stderr
        await asyncio.sleep(stale_s + 0.5 - (loop.time() - frozen_at))  # its heartbeat is stale now
        replacement = await launch(world, env=stale)
    finally:
        first.send_signal(signal.SIGCONT)
    _, rest = await asyncio.wait_for(first.communicate(), 60)
    assert first.returncode == 1, rest.decode()
    assert "runner_lease_lost" in events(rest) and "runner_stopped" in events(rest)
    assert "stopped: the lease was taken over" in rest.decode()
    assert await holder(world) == (replacement.pid, 2)
    await stop(replacement)  # it kept running: the woken runner gave way
