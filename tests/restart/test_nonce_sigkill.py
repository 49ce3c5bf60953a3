"""Nonces across a SIGKILL, with real processes: a process signs for several followers (one shared
lease, saved every few nonces) and is killed mid-stream, again and again, each time restarted on an
EARLIER clock, so only the saved lease keeps it from handing a nonce out twice."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

T0 = 1_700_000_000_000
# The child: every follower's nonce in turn, forever; a line once `next()` has returned (the nonce is
# then as good as sent). Its clock is fixed, so nonces come from the bumps and the saved lease alone.
CHILD = """
import sys
from pathlib import Path
from adapters.hyperliquid.budget import WeightBudget
from adapters.hyperliquid.exchange import ExchangeClient

directory, now = Path(sys.argv[1]), int(sys.argv[2])
client = ExchangeClient(
    "http://127.0.0.1:1", budget=WeightBudget(), is_mainnet=False, nonce_dir=directory,
    nonce_clock=lambda: now, nonce_lease_ms=7,
)
slots = [client.signer("0x" + f"{n + 1:064x}") for n in range(5)]
while True:
    for slot in slots:
        print(slot.address, slot.nonces.next(), flush=True)
"""


def life(directory: Path, clock_ms: int, lines: int) -> list[tuple[str, int]]:
    """Start the child, read `lines` nonces, SIGKILL it (mid-stream: it never stops by itself)."""
    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(directory), str(clock_ms)],
        stdout=subprocess.PIPE,
        cwd=root,
        env=os.environ | {"PYTHONPATH": str(root)},
        text=True,
    )
    assert child.stdout is not None
    seen = []
    try:
        for _ in range(lines):
            address, nonce = child.stdout.readline().split()
            seen.append((address, int(nonce)))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    return seen


@pytest.mark.parametrize("lines", [[40, 333, 1_001, 7, 250]])
def test_no_nonce_is_reused_after_sigkill_between_lease_saves(tmp_path: Path, lines: list[int]) -> None:
    by_signer: dict[str, list[int]] = defaultdict(list)
    for number, count in enumerate(lines):
        for address, nonce in life(tmp_path / "nonces", T0 - 1_000 * number, count):  # clock steps back
            by_signer[address].append(nonce)
    assert len(by_signer) == 5
    for nonces in by_signer.values():
        assert all(a < b for a, b in itertools.pairwise(nonces))  # across every kill
    # One mark for all five (a kill mid-save may leave a `.tmp` beside it, never a torn mark).
    names = {p.name for p in (tmp_path / "nonces").iterdir() if not p.name.endswith(".tmp")}
    assert names == {"all-signers.nonce"}
