"""`mirrorbot watch` and `mirrorbot copy` started while their venue is down wait for it, as `mirrorbot run`
does (issue #18, bot/pipeline/venue_wait.py; tests/ops/test_venue_down.py): one log line per attempt,
no work taken meanwhile (the process is not in the cluster yet: another could serve its share), then it
starts once the venue answers; SIGTERM while it waits is a clean stop. Before: the watcher exited with a
connection-error traceback, and a copy worker took its followers' leases first and ignored SIGTERM while
it waited. Real processes on loopback: PostgreSQL, a Redis, a localnet brought up late on a free port."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.localnet.server import LocalnetThread
from bench.cluster import Cluster, Role, Site
from bot.ledger import Ledger
from tests.bus.support import redis_server_url
from tests.e2e.support import PASSWORD
from tests.ops.support import free_port
from tests.waiting import wait_until

POSTGRESQL = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
ROLES = pytest.mark.parametrize(
    ("role", "started"), [("watch", "watcher_started"), ("copy", "runner_started")]
)


@contextlib.asynccontextmanager
async def cluster_on(port: int, db_url: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    """The roles' processes on a venue URL nobody answers yet (port `port`), and the ledger to read."""
    ledger = await Ledger.open(db_url)
    site = Site(f"http://127.0.0.1:{port}", db_url, tmp_path, PASSWORD)
    cluster = Cluster(site, redis_server_url(), ledger)
    try:
        yield cluster
    finally:
        cluster.kill_all()
        for role in cluster.roles:
            await role.stop()
        await ledger.close()


def events(role: Role, *names: str) -> list[dict[str, Any]]:
    return [e for e in role.events if e.get("event") in names]


async def attempts(role: Role, n: int) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]] | None:
        assert role.process.returncode is None, f"{role.name} exited: {role.events[-5:]}"
        found = events(role, "venue_unreachable")
        return found if len(found) >= n else None

    found: list[dict[str, Any]] = await wait_until(probe, f"{role.name}: {n} attempts logged", within=60)
    return found


def tracebacks(role: Role) -> list[str]:
    return [e["text"] for e in events(role, "text") if "Traceback" in e["text"]]


@POSTGRESQL
@ROLES
async def test_a_role_waits_for_a_venue_that_is_down_then_starts(
    db_url: str, tmp_path: Path, role: str, started: str
) -> None:
    port = free_port()
    async with cluster_on(port, db_url, tmp_path) as cluster:
        process = await cluster.launch(role, "r1")
        waited = await attempts(process, 2)
        assert [e["attempt"] for e in waited[:2]] == [1, 2]
        assert not (await cluster.status()).processes  # it has not joined: nothing taken while it waits
        with LocalnetThread(port=port):
            await process.started(started)
            assert events(process, "venue_reachable")
            assert [p.name for p in (await cluster.status()).processes if p.alive] == ["r1"]
            assert await process.stop() == 0
        assert not tracebacks(process)


@POSTGRESQL
@ROLES
async def test_sigterm_while_a_role_waits_for_the_venue_stops_it(
    db_url: str, tmp_path: Path, role: str, started: str
) -> None:
    async with cluster_on(free_port(), db_url, tmp_path) as cluster:
        process = await cluster.launch(role, "r1")
        await attempts(process, 1)
        assert await asyncio.wait_for(process.stop(signal.SIGTERM), 60) == 0  # asked to stop: a clean stop
        said = " ".join(e["text"] for e in events(process, "text"))
        assert "waiting for the venue" in said, process.events[-5:]
        assert not tracebacks(process) and not events(process, started)
