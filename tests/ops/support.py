"""Shared by the ops tests: free ports, `mirrorbot run` as a process with its ops port, reading it."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

import httpx

MIRRORBOT = str(Path(sys.executable).with_name("mirrorbot"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start_run(env: dict[str, str], cwd: Path, *args: str) -> asyncio.subprocess.Process:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MIRROR_")}
    return await asyncio.create_subprocess_exec(
        MIRRORBOT,
        "run",
        *args,
        env=base | {"MIRROR_LOG_FORMAT": "json"} | env,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def next_event(process: asyncio.subprocess.Process, *names: str) -> dict[str, Any]:
    """Read the process' JSON log lines until one of `names` (a generous bound: a loaded CI machine)."""
    assert process.stderr is not None
    while True:
        line = await asyncio.wait_for(process.stderr.readline(), 60)
        assert line, f"the bot exited before logging {names}"
        if line.startswith(b"{"):
            doc: dict[str, Any] = json.loads(line)
            if doc.get("event") in names:
                return doc


async def get(port: int, path: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(f"http://127.0.0.1:{port}{path}")
