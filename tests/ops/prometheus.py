"""A real Prometheus for a test: scripts/prometheus.sh (installs the Debian package when missing)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "prometheus.sh"


def promtool() -> str:
    """promtool's path; the test is skipped, saying why, only when the package cannot be installed."""
    if shutil.which("promtool") is None:
        done = subprocess.run([str(SCRIPT), "install"], capture_output=True, text=True, timeout=900)
        if done.returncode != 0 or shutil.which("promtool") is None:
            pytest.skip(f"the prometheus package cannot be installed here: {done.stderr.strip()[-300:]}")
    found = shutil.which("promtool")
    assert found is not None
    return found


@contextmanager
def prometheus(workdir: Path, *targets: str) -> Iterator[str]:
    """A Prometheus scraping `targets` (host:port) every second; yields its URL."""
    promtool()
    started = subprocess.run(
        [str(SCRIPT), "start", str(workdir), *targets], capture_output=True, text=True, timeout=120
    )
    assert started.returncode == 0, started.stderr
    try:
        yield started.stdout.strip()
    finally:
        subprocess.run([str(SCRIPT), "stop", str(workdir)], capture_output=True, timeout=60)
