"""The servers the distributed roles need, for the benchmarks and the tests alike: a throw-away migrated
PostgreSQL database on a running server, and a Redis of one's own (scripts/redis.sh in a directory of its
own, which a caller may SIGKILL and restart)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.ledger import init_db

T = TypeVar("T")
REDIS_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "redis.sh"


class Portal:
    """An event loop on a background thread, so sync code (fixtures, hypothesis tests, a bench's set-up)
    can await without touching the caller's event loop."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="ledger-test-portal", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


@contextmanager
def portal() -> Iterator[Portal]:
    runner = Portal()
    try:
        yield runner
    finally:
        runner.close()


async def _admin(url: str, statement: str) -> None:
    # CREATE/DROP DATABASE cannot run inside a transaction.
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@contextmanager
def fresh_pg_database(server_url: str, prefix: str = "ledger") -> Iterator[str]:
    """A new, migrated database on the server for the duration of the block; dropped after."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    with portal() as runner:
        runner.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
        try:
            runner.run(init_db(url))
            yield url
        finally:
            runner.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class PrivateRedis:
    """A Redis of one's own (its data directory given): `stop()`, `kill()` (SIGKILL), `start()`."""

    def __init__(self, directory: Path) -> None:
        self.env = {**os.environ, "MIRROR_REDIS_DIR": str(directory)}
        self.directory = directory
        self.url = ""

    def _script(self, command: str) -> str:
        done = subprocess.run(
            [str(REDIS_SCRIPT), command],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"scripts/redis.sh {command} failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def start(self) -> str:
        self.url = self._script("start")
        return self.url

    def stop(self) -> None:
        self._script("stop")

    def kill(self) -> None:
        """SIGKILL the server: no shutdown, no final write — only what the append-only file holds."""
        pid = int((self.directory / "redis.pid").read_text().strip())
        os.kill(pid, 9)
        for _ in range(1000):  # until the kernel has ended it (bounded: 10 s)
            if _state(pid) == "Z":
                return
            time.sleep(0.01)
        raise RuntimeError(f"redis-server pid {pid} still runs after SIGKILL")


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def redis_installed() -> bool:
    return subprocess.run(["sh", "-c", "command -v redis-server"], capture_output=True).returncode == 0


@contextmanager
def redis_server(directory: Path) -> Iterator[PrivateRedis]:
    """A private Redis for the block (it must be installed: scripts/redis.sh start installs it)."""
    server = PrivateRedis(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()
