"""The distributed roles as real processes, for the benchmarks and the cluster tests alike: `mirrorbot
watch|copy|control` (and `mirrorbot run`) started on a localnet, a ledger and a Redis, their JSON log
lines read as they come."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.rig import LOCALNET_WEIGHT_PER_MINUTE
from bot.cluster.status import ClusterStatus, cluster_status
from bot.ledger import Ledger

MIRRORBOT = str(Path(sys.executable).with_name("mirrorbot"))
LOG_LINE_LIMIT = 1 << 24  # `worker_followers` names every follower: 10,000 are a 460 kB line
HEARTBEAT_S = 2.0  # the default; a lease lasts two (a start-up on a loaded 2-core machine blocks ~2 s)


@dataclass(frozen=True, slots=True)
class Site:
    """Where the processes run: the venue's URL, the ledger's URL, a scratch directory, and the password
    of the followers' keystores."""

    url: str
    db_url: str
    tmp: Path
    password: str | None


def role_environment(site: Site, data_dir: Path) -> dict[str, str]:
    """A `mirrorbot` process's environment: this one's less every MIRROR_* variable, then the site's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIRROR_")}
    env |= {
        "MIRROR_HL_API_URL": site.url,
        "MIRROR_DATABASE_URL": site.db_url,
        "MIRROR_DATA_DIR": str(data_dir),
        "MIRROR_LOG_FORMAT": "json",
        "MIRROR_HL_WEIGHT_PER_MINUTE": str(LOCALNET_WEIGHT_PER_MINUTE),  # reads unpaced (bench/rig.py)
    }
    if site.password is not None:
        env["MIRROR_KEYSTORE_PASSWORD"] = site.password
    return env


async def poll(probe: Callable[[], Awaitable[bool]], what: str, within: float) -> None:
    """Poll until `probe` is true; fail naming `what` after `within` seconds."""
    deadline = time.monotonic() + within
    while not await probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.02)


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

    async def started(self, event: str, within: float = 120.0) -> None:
        """Wait for the process to log `event` (it started); fail if it exits first, or after `within` s."""

        async def up() -> bool:
            assert self.process.returncode is None, f"{self.name} exited: {self.events[-5:]}"
            return self.seen(event)

        await poll(up, f"{self.name} started", within=within)

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.returncode is None:
            self.process.send_signal(sig)
        code = await asyncio.wait_for(self.process.wait(), 60)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 10)
        return code


class Cluster:
    """The processes started on a site and a bus; `ledger` (the site's, opened by the caller) for status."""

    def __init__(
        self, site: Site, bus_url: str, ledger: Ledger | None = None, heartbeat_s: float = HEARTBEAT_S
    ) -> None:
        self.site, self.bus_url, self.ledger, self.heartbeat_s = site, bus_url, ledger, heartbeat_s
        self.roles: list[Role] = []
        self.extra_env: dict[str, dict[str, str]] = {}  # by process name

    def env(self, name: str) -> dict[str, str]:
        data = self.site.tmp / "data" / name  # the guards' state file is per process
        return (
            role_environment(self.site, data)
            | {"MIRROR_BUS_URL": self.bus_url}
            | self.extra_env.get(name, {})
        )

    async def launch(self, role: str, name: str, *args: str) -> Role:
        """`mirrorbot <role> --name <name> --heartbeat <s> ARGS` (watch, copy, control)."""
        return await self.spawn(role, name, role, "--name", name, "--heartbeat", str(self.heartbeat_s), *args)

    async def spawn(self, role: str, name: str, *argv: str, env: dict[str, str] | None = None) -> Role:
        """Any `mirrorbot` command as a process of the site (`mirrorbot run` with its own `env`)."""
        process = await asyncio.create_subprocess_exec(
            MIRRORBOT,
            *argv,
            env=self.env(name) if env is None else env,
            cwd=self.site.tmp,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            limit=LOG_LINE_LIMIT,
        )
        made = Role(role, name, process, log=self.site.tmp / f"{name}.log")
        made._reader = asyncio.create_task(made._read())
        self.roles.append(made)
        return made

    async def status(self) -> ClusterStatus:
        assert self.ledger is not None
        return await cluster_status(self.ledger, "hyperliquid")

    def loaded(self) -> dict[str, set[str]]:
        """Each copy worker's followers as it last said it trades them (its desks, not its leases)."""
        out: dict[str, set[str]] = {}
        for role in self.roles:
            said = [e for e in role.events if e.get("event") == "worker_followers"]
            if role.role == "copy" and said:
                out[role.name] = set(said[-1]["followers"])
        return out

    async def stop_all(self) -> dict[str, int]:
        return {r.name: await r.stop() for r in self.roles}

    def kill_all(self) -> None:
        for role in self.roles:
            if role.process.returncode is None:
                role.process.kill()
