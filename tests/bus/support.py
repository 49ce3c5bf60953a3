"""The bus tests' Redis: the shared test server (`MIRROR_TEST_REDIS_URL`, scripts/redis.sh, started by
`make test`), or a private one a test may kill and restart (the same script in a directory of its own)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REDIS_ENV = "MIRROR_TEST_REDIS_URL"
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "redis.sh"


def _missing(reason: str) -> None:
    """Skip with the reason; fail under CI, where Redis must run."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"Redis is required under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def redis_server_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        _missing(f"{REDIS_ENV} is not set: run `scripts/redis.sh start` and export its URL (make test does)")
    assert url is not None
    return url


class PrivateRedis:
    """A Redis of the test's own (its data directory under tmp): `stop()`, `kill()` (SIGKILL), `start()`."""

    def __init__(self, directory: Path) -> None:
        self.env = {**os.environ, "MIRROR_REDIS_DIR": str(directory)}
        self.directory = directory
        self.url = ""

    def _script(self, command: str) -> str:
        done = subprocess.run(
            [str(SCRIPT), command], env=self.env, capture_output=True, text=True, timeout=60, check=False
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


@contextmanager
def private_redis(directory: Path) -> Iterator[PrivateRedis]:
    if subprocess.run(["sh", "-c", "command -v redis-server"], capture_output=True).returncode != 0:
        _missing("redis-server is not installed: run `scripts/redis.sh start` once (it installs it)")
    server = PrivateRedis(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()
