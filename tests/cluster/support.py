"""Processes of the distributed roles for the cluster tests: `mirrorbot watch|copy|control` on a World's
localnet and ledger (PostgreSQL) and a Redis of the test's own, their JSON log lines read as they come."""

from __future__ import annotations

import asyncio
import json
import signal
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.cluster.status import ClusterStatus, cluster_status, render
from tests.e2e.support import World
from tests.pipeline.test_run_command import MIRRORBOT, environment
from tests.waiting import wait_until

HEARTBEAT_S = 2.0  # the default; a lease lasts two (a start-up on a loaded 2-core machine blocks ~2 s)


@dataclass
class Role:
    """One role's process and the events of its log so far."""

    role: str
    name: str
    process: asyncio.subprocess.Process
    events: list[dict[str, Any]] = field(default_factory=list)
    log: Path | None = None  # every line of its log, for a failure's post-mortem
    _reader: asyncio.Task[None] | None = None

    async def _read(self) -> None:
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            text = line.decode(errors="replace").strip()
            if self.log is not None:
                with self.log.open("a") as out:
                    out.write(text + "\n")
            if text.startswith("{"):
                self.events.append(json.loads(text))
            elif text:
                self.events.append({"event": "text", "text": text})

    def seen(self, event: str) -> bool:
        return any(e.get("event") == event for e in self.events)

    async def started(self, event: str) -> None:
        """Wait for the process to log `event` (it started); fail if it exits first."""

        async def up() -> bool:
            assert self.process.returncode is None, f"{self.name} exited: {self.events[-5:]}"
            return self.seen(event)

        await wait_until(up, f"{self.name} started", within=120)

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.returncode is None:
            self.process.send_signal(sig)
        code = await asyncio.wait_for(self.process.wait(), 60)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 10)
        return code


class Cluster:
    def __init__(self, world: World, bus_url: str) -> None:
        self.world, self.bus_url = world, bus_url
        self.roles: list[Role] = []
        self.extra_env: dict[str, dict[str, str]] = {}  # by process name

    def env(self, name: str) -> dict[str, str]:
        return (
            environment(self.world)
            | {
                "MIRROR_BUS_URL": self.bus_url,
                "MIRROR_DATA_DIR": str(
                    self.world.tmp / "data" / name
                ),  # the guards' state file is per process
            }
            | self.extra_env.get(name, {})
        )

    async def launch(self, role: str, name: str, *args: str) -> Role:
        process = await asyncio.create_subprocess_exec(
            MIRRORBOT,
            role,
            "--name",
            name,
            "--heartbeat",
            str(HEARTBEAT_S),
            *args,
            env=self.env(name),
            cwd=self.world.tmp,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        made = Role(role, name, process, log=self.world.tmp / f"{name}.log")
        made._reader = asyncio.create_task(made._read())
        self.roles.append(made)
        return made

    async def status(self) -> ClusterStatus:
        assert self.world.ledger is not None
        return await cluster_status(self.world.ledger, "hyperliquid")

    async def until(
        self, check: Callable[[ClusterStatus], bool], what: str, within: float = 60
    ) -> ClusterStatus:
        last: list[ClusterStatus] = []

        async def probe() -> ClusterStatus | None:
            last[:] = [await self.status()]
            return last[0] if check(last[0]) else None

        try:
            found: ClusterStatus = await wait_until(probe, what, within=within)
        except AssertionError as exc:
            logs = {r.name: [e.get("event") or e for e in r.events[-8:]] for r in self.roles}
            raise AssertionError(f"{exc}\n{render(last[0]) if last else ''}\n{logs}") from None
        return found

    def loaded(self) -> dict[str, set[str]]:
        """Each copy worker's followers as it last said it trades them (its desks, not its leases)."""
        out: dict[str, set[str]] = {}
        for role in self.roles:
            said = [e for e in role.events if e.get("event") == "worker_followers"]
            if role.role == "copy" and said:
                out[role.name] = set(said[-1]["followers"])
        return out

    async def settled(self, workers: list[str], watchers: list[str]) -> ClusterStatus:
        """Every source and follower owned, evenly, and every worker trading exactly what it owns."""

        def check(status: ClusterStatus) -> bool:
            owned: dict[str, set[str]] = {}
            for f in status.followers:
                if f.owner is not None:
                    owned.setdefault(f.owner, set()).add(f.key)
            followers = len(status.followers)
            return (
                balanced(status, "watcher", watchers, -(-len(status.sources) // len(watchers)))
                and balanced(status, "worker", workers, -(-followers // len(workers)))
                and all(self.loaded().get(w) == owned.get(w, set()) for w in workers)
            )

        return await self.until(check, "every source and follower owned evenly, every worker trading its own")

    async def stop_all(self) -> dict[str, int]:
        return {r.name: await r.stop() for r in self.roles}


def holds(status: ClusterStatus, role: str) -> dict[str, int]:
    return {p.name: p.holds for p in status.processes if p.role == role and p.alive}


def balanced(status: ClusterStatus, role: str, names: list[str], each: int) -> bool:
    return holds(status, role) == dict.fromkeys(names, each) and not any(status.unowned.values())


async def order_cloids(world: World) -> Counter[str]:
    return Counter(c for r in await world.stats() if r["action"] == "order" for c in r["cloids"])
