"""Fan-out: one leader trade → N followers (distinct keys), time until the LAST follower order arrives.

    .venv/bin/python -m bench.fanout [--n 1,10,100] [--trades 3] [--db sqlite]   (1000: `--n 1000`)

For each N a fresh rig (localnet process, N funded followers following one leader at 100 %, the real
pipeline); the leader alternately opens and closes 0.5 ETH `--trades` times, waiting for every copy to
finish in between. Per trade: first and last follower order receipt (localnet `stats`) − the moment the
leader's `userFills` push left the localnet; the figures are the median over the trades (and the max).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import dataclass
from decimal import Decimal

from bench.rig import DB_CHOICES, Bench, machine

COIN = "ETH"
SIZE = Decimal("0.5")
LEADER_USDC = Decimal(1_000_000)
FOLLOWER_USDC = Decimal(100_000)


@dataclass(frozen=True, slots=True)
class FanOut:
    followers: int
    first_ms: list[float]
    last_ms: list[float]
    setup_s: float

    def line(self) -> str:
        if not self.last_ms:
            return f"{self.followers:>6}  no complete fan-out"
        return (
            f"{self.followers:>6}{statistics.median(self.first_ms):>12.1f}{statistics.median(self.last_ms):>12.1f}"
            f"{max(self.last_ms):>12.1f}{len(self.last_ms):>8}{self.setup_s:>10.1f}"
        )


HEADER = f"{'N':>6}{'first ms':>12}{'last ms':>12}{'max last':>12}{'trades':>8}{'setup s':>10}"


async def measure(followers: int, trades: int, *, db: str = "sqlite") -> FanOut:
    started = time.monotonic()
    first: list[float] = []
    last: list[float] = []
    async with Bench(followers, leader_usdc=LEADER_USDC, follower_usdc=FOLLOWER_USDC, db=db) as rig:
        setup_s = time.monotonic() - started
        timeout_s = 30.0 + followers * 0.1
        for number in range(trades):
            since = await rig.stats_count()
            sends = rig.sends
            oid = await rig.leader_order(COIN, number % 2 == 0, SIZE)
            if not await rig.copied(sends + followers, timeout_s):
                continue
            orders = await rig.follower_orders(since)
            pushes = (await rig.control({"type": "stats", "since": 2**62, "pushes": True}))["fillPushes"]
            sent = [p["sentNs"] for p in pushes if p["user"] == rig.leader_address and oid in p["oids"]]
            if not sent or len(orders) < followers:
                continue
            received = sorted(o["recvNs"] for o in orders)
            first.append((received[0] - sent[0]) / 1e6)
            last.append((received[followers - 1] - sent[0]) / 1e6)
    return FanOut(followers, first, last, setup_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__.splitlines()[0])
    parser.add_argument("--n", default="1,10,100", help="comma-separated follower counts")
    parser.add_argument("--trades", type=int, default=3, help="leader trades per follower count")
    parser.add_argument("--db", default="sqlite", help=f"{' | '.join(DB_CHOICES)} | a ledger URL")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.n.split(",") if n.strip()]
    print(f"machine: {machine()}")
    print(f"fan-out: one leader trade -> N followers; ms from the userFills push; ledger {args.db}")
    print(HEADER)
    complete = True
    for count in counts:
        result = asyncio.run(measure(count, max(args.trades, 1), db=args.db))
        print(result.line(), flush=True)
        complete = complete and bool(result.last_ms)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
