"""Latency added by the bus (issue #15): leader fill → follower order, embedded vs distributed, one run.

    python -m bench.bus_latency [--trades 200] [--followers 1] [--gap-ms 100]

One localnet process and one leader script (alternately buy and sell 0.5 ETH, one IOC each) run three
set-ups side by side, each with its own leader and followers (ρ = 0.1), each in real processes:
- `embedded, SQLite`: `mirrorbot run`, one process, its default ledger;
- `embedded, PostgreSQL`: `mirrorbot run` on a PostgreSQL ledger (the distributed roles' ledger, no bus);
- `distributed`: `mirrorbot watch` → Redis Streams → `mirrorbot copy`, on a PostgreSQL ledger.
Trades go round-robin over the set-ups with one in flight: the next waits until the previous copy's
orders reached the localnet, then `--gap-ms` (the copy's answer and settlement). Each figure: the
localnet's `userFills` push of the leader's fill (`stats` pushes, ns) → the last follower order of that
trade received (`stats` recvNs). The first trade of each set-up (the websocket's first push) is not timed.
Every process runs with the same settings (its venue weight budget lifted: the localnet has none).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import httpx
import redis.asyncio as redis

from bench.cluster import Cluster, Role, role_environment
from bench.distributed import (
    Trader,
    cluster_of,
    control,
    fund,
    new_key,
    pg_databases,
    register,
    stats_count,
    wait_orders,
)
from bench.rig import LocalnetProcess, machine, percentile
from bench.services import redis_server
from bot.bus.codec import EntryError, decode
from bot.bus.streams import STREAM_PREFIX
from bot.ledger import Ledger

SIZE = Decimal("0.5")
LEADER_USDC = Decimal(1_000_000)
FOLLOWER_USDC = Decimal(100_000)  # ρ = 0.1: 0.05 ETH ≈ $150 a copy
EMBEDDED_SQLITE, EMBEDDED_PG, DISTRIBUTED = "embedded, SQLite", "embedded, PostgreSQL", "distributed"


@dataclass
class Setup:
    name: str
    db_url: str
    leader: Trader = field(default_factory=Trader.new)
    followers: set[str] = field(default_factory=set)
    cluster: Cluster | None = None
    ledger: Ledger | None = None
    latency_ms: list[float] = field(default_factory=list)
    missed: int = 0
    timed: list[tuple[int, int]] = field(default_factory=list)  # (push sentNs, order recvNs), in order

    def line(self) -> str:
        values = self.latency_ms
        return (
            f"{self.name:<24}{percentile(values, 50):>9.2f}{percentile(values, 99):>9.2f}"
            f"{max(values, default=float('nan')):>9.2f}{len(values):>6}{self.missed:>8}"
        )


HEADER = f"{'push -> follower order (ms)':<24}{'p50':>9}{'p99':>9}{'max':>9}{'n':>6}{'missed':>8}"


async def start(
    setup: Setup, tmp: Path, url: str, bus_url: str, followers: int, http: httpx.AsyncClient
) -> None:
    """Register the set-up's leader and followers in its ledger and start its processes."""
    setup.ledger = ledger = await Ledger.open(setup.db_url)
    await fund(http, url, [setup.leader.address], LEADER_USDC)
    keys = [new_key() for _ in range(followers)]
    home = tmp / setup.name.replace(", ", "-")
    added = await register(ledger, home, keys, [setup.leader.address] * followers)
    await fund(http, url, added, FOLLOWER_USDC)
    setup.followers = set(added)
    cluster = setup.cluster = cluster_of(url, setup.db_url, home, bus_url, ledger, heartbeat_s=2.0)
    home.mkdir(parents=True, exist_ok=True)
    if setup.name == DISTRIBUTED:
        await (await cluster.launch("watch", "w1")).started("watcher_started")
        await (await cluster.launch("copy", "c1")).started("runner_started")
        return
    env = role_environment(cluster.site, home / "data")  # reads unpaced, as the roles'
    run: Role = await cluster.spawn("run", "run", "run", env=env)
    await run.started("runner_started")


async def trade(setup: Setup, http: httpx.AsyncClient, url: str, is_buy: bool) -> tuple[int, int] | None:
    """One leader trade; (its oid, the last follower order's recvNs), or None if not every follower
    ordered within 60 s."""
    since = await stats_count(http, url)
    oid = await setup.leader.trade(http, url, is_buy, SIZE)
    orders = await wait_orders(http, url, setup.followers, len(setup.followers), since)
    if len(orders) < len(setup.followers):
        return None
    return oid, max(o["recvNs"] for o in orders)


async def measure(trades: int, followers: int, gap_ms: float) -> list[Setup]:
    with tempfile.TemporaryDirectory(prefix="mirrorbot-bus-latency-") as scratch:
        tmp = Path(scratch)
        net = LocalnetProcess()
        try:
            await asyncio.to_thread(net.wait_ready)
            with pg_databases(2) as (pg_embedded, pg_cluster), redis_server(tmp / "redis") as redis:
                return await _run(net.url, tmp, redis.url, pg_embedded, pg_cluster, trades, followers, gap_ms)
        finally:
            net.stop()


async def _run(
    url: str, tmp: Path, bus_url: str, pg_a: str, pg_b: str, trades: int, followers: int, gap_ms: float
) -> list[Setup]:
    setups = [
        Setup(EMBEDDED_SQLITE, f"sqlite+aiosqlite:///{tmp / 'embedded.db'}"),
        Setup(EMBEDDED_PG, pg_a),
        Setup(DISTRIBUTED, pg_b),
    ]
    async with httpx.AsyncClient(timeout=60) as http:
        await control(http, url, {"type": "setMids", "mids": {"ETH": "3000"}})
        try:
            for setup in setups:  # one after the other: start-ups at once only slow each other
                await start(setup, tmp, url, bus_url, followers, http)
            sent: dict[int, tuple[Setup, int]] = {}  # leader oid → (set-up, last follower order recvNs)
            for number in range(trades + 1):
                for setup in setups:
                    done = await trade(setup, http, url, is_buy=number % 2 == 0)
                    if done is None:
                        setup.missed += 1
                    elif number > 0:  # the first trade of a set-up opens its websocket's first push
                        sent[done[0]] = (setup, done[1])
                    await asyncio.sleep(gap_ms / 1000)
            pushes = (await control(http, url, {"type": "stats", "since": 2**62, "pushes": True}))[
                "fillPushes"
            ]
            for push in pushes:
                for oid in push["oids"]:
                    if oid in sent:
                        setup, recv_ns = sent.pop(oid)
                        setup.latency_ms.append((recv_ns - push["sentNs"]) / 1e6)
                        setup.timed.append((push["sentNs"], recv_ns))
            split = await bus_split(bus_url, setups[-1])
            if split is not None:
                print(split)
        finally:
            for setup in setups:
                if setup.cluster is not None:
                    await setup.cluster.stop_all()
                    setup.cluster.kill_all()
                if setup.ledger is not None:
                    await setup.ledger.close()
    return setups


async def bus_split(bus_url: str, setup: Setup) -> str | None:
    """The distributed copies split at the bus: push → the change's entry on its stream (the entry id is
    Redis's clock in ms: the same host's) and entry → follower order. The stream holds the set-up's
    changes in trade order (the untimed first one included); None when they do not line up."""
    client = redis.from_url(bus_url)
    try:
        entries: list[int] = []
        async for key in client.scan_iter(match=f"{STREAM_PREFIX}:*"):
            for entry_id, raw in await client.xrange(key):
                with contextlib.suppress(EntryError):
                    if decode(raw).change.source.lower() == setup.leader.address:
                        entries.append(int(entry_id.decode().split("-")[0]))
    finally:
        await client.aclose()
    entries = sorted(entries)[1:]
    timed = sorted(setup.timed)
    if len(entries) != len(timed):
        return None
    to_bus = [ms - push / 1e6 for ms, (push, _) in zip(entries, timed, strict=True)]
    from_bus = [recv / 1e6 - ms for ms, (_, recv) in zip(entries, timed, strict=True)]
    return (
        f"distributed, split at the bus (ms, entry ids have ms resolution): push -> on the stream "
        f"p50 {percentile(to_bus, 50):.1f} p99 {percentile(to_bus, 99):.1f}; "
        f"stream -> follower order p50 {percentile(from_bus, 50):.1f} p99 {percentile(from_bus, 99):.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bus_latency", description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=200, help="timed leader trades per set-up")
    parser.add_argument("--followers", type=int, default=1, help="followers per set-up")
    parser.add_argument("--gap-ms", type=float, default=100.0, help="pause after each copy")
    args = parser.parse_args(argv)
    print(f"machine: {machine()}")
    print(
        f"bus latency: {args.trades} trades per set-up, {args.followers} follower(s) each, round-robin, "
        f"one in flight; ms from the leader's userFills push to the last follower order received"
    )
    setups = asyncio.run(measure(max(args.trades, 1), max(args.followers, 1), args.gap_ms))
    print(HEADER)
    for setup in setups:
        print(setup.line())
    by = {s.name: s for s in setups}
    if by[DISTRIBUTED].latency_ms and by[EMBEDDED_PG].latency_ms:
        added = [
            percentile(by[DISTRIBUTED].latency_ms, p) - percentile(by[EMBEDDED_PG].latency_ms, p)
            for p in (50, 99)
        ]
        print(f"bus added (distributed - embedded, PostgreSQL): p50 {added[0]:+.2f} p99 {added[1]:+.2f} ms")
    return 0 if all(s.latency_ms and not s.missed for s in setups) else 1


if __name__ == "__main__":
    sys.exit(main())
