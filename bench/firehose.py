"""Watch capacity with the node firehose: what reading a node's `node_fills_by_block` costs per fill.

    .venv/bin/python -m bench.firehose [--blocks 2000] [--events 50] [--users 100000]

Writes `--blocks` synthetic blocks of `--events` fills each (users drawn from `--users` addresses, fills
in the localnet's `userFills` shape, written by the localnet's own `NodeFillsWriter`) into a temporary
node directory, then reads them back with the reader the watch uses (`BlockTailer` + `FirehoseFilter`)
for watched sets of 10, 1,000 and 10,000 addresses (best of 3 reads each). Prints the cost per fill in
the files: JSON decode + one set lookup each, plus `parse_fill` for each watched one. The number of
sources watched changes only that last part, so one host's capacity is bounded by the chain's fill
rate against what one core reads, not by the number of sources.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from adapters.hyperliquid.firehose import BlockTailer, FirehoseFilter, FirehosePosition
from adapters.localnet.nodefiles import NodeFillsWriter, hour_file
from bench.rig import machine

START_MS = 1_780_000_000_000
WATCHED = (10, 1_000, 10_000)


def _fill(rng: random.Random, tid: int, now: int) -> dict[str, Any]:
    px = f"{rng.uniform(1, 100_000):.1f}"
    return {
        "coin": rng.choice(("BTC", "ETH", "SOL", "HYPE", "xyz:NVDA")),
        "px": px,
        "sz": f"{rng.uniform(0.001, 100):.4f}",
        "side": rng.choice("AB"),
        "time": now,
        "startPosition": f"{rng.uniform(-1000, 1000):.4f}",
        "dir": "Open Long",
        "closedPnl": "0.0",
        "hash": "0x" + f"{rng.getrandbits(256):064x}",
        "oid": rng.getrandbits(40),
        "crossed": rng.random() < 0.5,
        "fee": "0.01",
        "tid": tid,
        "feeToken": "USDC",
    }


def write_node(root: Path, blocks: int, events: int, users: list[str], seed: int = 1) -> int:
    rng = random.Random(seed)
    writer = NodeFillsWriter(root)
    tid = 0
    for number in range(blocks):
        now = START_MS + number * 100  # ~10 blocks a second, the chain's pace
        batch = []
        for _ in range(events):
            tid += 1
            batch.append((rng.choice(users), _fill(rng, tid, now)))
        writer.write_block(batch, now)
    writer.close()
    return tid


def read_all(root: Path, watched: list[str]) -> tuple[float, int, int]:
    """Seconds to tail every file from the first hour, events seen, fills delivered."""
    tailer = BlockTailer(root, position=FirehosePosition(hour_file(START_MS), 0))
    hose = FirehoseFilter(watched)
    started = time.perf_counter()
    delivered = sum(len(hose.fills(line)) for line in tailer.read())
    return time.perf_counter() - started, hose.stats.events, delivered


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=2_000)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--users", type=int, default=100_000)
    args = parser.parse_args(argv)
    rng = random.Random(7)
    users = [f"0x{rng.getrandbits(160):040x}" for _ in range(args.users)]
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        total = write_node(root, args.blocks, args.events, users)
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        print(f"{args.blocks} blocks, {total} fills, {size / total:.0f} bytes per fill in the files")
        print(f"{'watched':>8} {'fills read':>11} {'delivered':>10} {'µs/fill read':>13} {'fills/s':>10}")
        for count in WATCHED:
            watched = users[: min(count, len(users))]
            # Best of 3 (the page cache warm after the first): the machine is shared, the minimum is
            # the reader's own cost.
            seconds, seen, delivered = min(read_all(root, watched) for _ in range(3))
            per_fill_us = seconds / max(seen, 1) * 1e6
            print(f"{count:>8} {seen:>11} {delivered:>10} {per_fill_us:>13.2f} {seen / seconds:>10.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
