"""Scale (issue #15): N sources × M followers on loopback with 1, 2, 4 copy workers — from the leaders'
fills to the last follower order, and how it falls as workers are added.

    python -m bench.scale [--sources 10] [--followers 100] [--workers 1,2,4] [--heartbeat 2]

One localnet process writing the node firehose files (`node_fills_by_block`), one `mirrorbot watch` that
reads them (any number of sources, no websocket or weight limit), a PostgreSQL ledger, a Redis, and for
each worker count a fresh set of `mirrorbot copy` processes (the previous set stopped). Follower i
(ρ = 1) follows source i mod N. One round per worker count: once every follower is leased and loaded,
every source trades once on BTC, ETH or SOL (one ~$12 IOC each, signed beforehand, posted back to back
over 4 connections) and the bench waits until every follower's order reached the localnet. Printed per
worker count: ms from the first leader order received to the last leader order (the burst itself) and to
the last follower order, the follower orders per second after the burst, the localnet's CPU over the
round, and the ratio of the last-order time to one worker's. Every process's venue weight budget is
lifted (bench/cluster.py's `role_environment`: the localnet has none).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import text

from bench.cluster import Cluster
from bench.distributed import (
    Coin,
    Trader,
    cluster_of,
    control,
    fund,
    new_key,
    pg_databases,
    register,
    stats_count,
    trading,
    wait_orders,
)
from bench.localnet_orders import blast, http_request
from bench.rig import LocalnetProcess, machine
from bench.services import redis_server
from bot.ledger import Ledger

# Source i trades COINS[i mod 3], ~$12 an order (ρ = 1: the same for each follower, above the $10 minimum):
# 11,000 orders at $30 on one coin took more than the localnet's whole synthetic ETH book (~$170k a side),
# so followers met partial fills and the moved mid held their orders as price outliers — the localnet's
# finite book measured, not the copier. Each round starts on freshly seeded books (setMids recentres them).
COINS = (
    (Coin("BTC", 0, Decimal(60000)), Decimal("0.0002")),
    (Coin("ETH", 1, Decimal(3000)), Decimal("0.004")),
    (Coin("SOL", 2, Decimal(150)), Decimal("0.08")),
)
MIDS = {"type": "setMids", "mids": {coin.name: str(coin.mid) for coin, _ in COINS}}
USDC = Decimal(10_000)
UNCAPPED = ("--weight-per-min", "1000000")  # a worker's follower cap: 1,000,000 // 12
# Thousands of followers a worker: at the default schedule (accounts every 15 s, reconciliation 60 s,
# dead-man re-arm 60 s) each pass outlasts its interval and the passes starve the copies
# (docs/operations.md, "Schedule"). A round measures the copy of one burst: the account re-read and the
# reconciliation pass are kept out of it (an hour); the dead-man re-arm runs at its slowest (240 s).
VACUUM_S = 20.0
SCHEDULE = {
    "MIRROR_ACCOUNTS_REFRESH_S": "3600",
    "MIRROR_RECONCILE_S": "3600",
    "MIRROR_DEAD_MAN_REARM_S": "240",
}


@dataclass(frozen=True, slots=True)
class Round:
    workers: int
    orders: int  # follower orders received (of M)
    burst_ms: float  # first leader order received → last leader order received
    last_ms: float  # first leader order received → last follower order received
    after_burst_per_s: float  # follower orders per second after the last leader order
    venue_cpu_s: float  # the localnet's CPU over the round
    settle_s: float  # workers started → every follower leased and loaded

    def line(self, base: Round | None) -> str:
        ratio = base.last_ms / self.last_ms if base is not None and self.last_ms else 1.0
        return (
            f"{self.workers:>8}{self.orders:>8}{self.burst_ms:>10.0f}{self.last_ms:>10.0f}"
            f"{self.after_burst_per_s:>10.0f}{self.venue_cpu_s:>10.2f}{self.settle_s:>10.1f}{ratio:>8.2f}"
        )


HEADER = (
    f"{'workers':>8}{'orders':>8}{'burst ms':>10}{'last ms':>10}{'ord/s':>10}{'venue s':>10}"
    f"{'settle s':>10}{'speedup':>8}"
)


async def one_round(
    cluster: Cluster, net: LocalnetProcess, leaders: list[Trader], followers: set[str], workers: int, n: int
) -> Round:
    names = [f"c{workers}-{i}" for i in range(1, workers + 1)]
    for name in names:
        cluster.extra_env[name] = SCHEDULE
    started = time.monotonic()
    roles = [await cluster.launch("copy", name, *UNCAPPED) for name in names]  # together, as a deploy does
    for role in roles:  # a first start loads every follower it holds: ~10-50 ms each on 2 cores
        await role.started("runner_started", within=120 + len(followers) / 5)
    await trading(cluster, names, followers, within=600 + len(followers) / 5)
    settle_s = time.monotonic() - started
    url = cluster.site.url
    async with httpx.AsyncClient(timeout=60) as http:
        await control(http, url, MIDS)
        since = await stats_count(http, url)
        bodies = [
            http_request(json.dumps(t.body(n % 2 == 0, size, coin)).encode())
            for t, (coin, size) in zip(leaders, itertools.cycle(COINS), strict=False)
        ]
        cpu = net.cpu_s()
        _, outcomes = await blast(net.port, bodies, clients=4)
        if outcomes.get("filled") != len(leaders):
            raise RuntimeError(f"leader orders: {dict(outcomes)}")
        orders = await wait_orders(
            http, url, followers, len(followers), since, timeout_s=300 + len(followers) / 5
        )
        cpu = net.cpu_s() - cpu
        sources = {t.address for t in leaders}
        requests = (await control(http, url, {"type": "stats", "since": since}))["requests"]
    leader_ns = sorted(r["recvNs"] for r in requests if r["action"] == "order" and r["user"] in sources)
    follower_ns = sorted(o["recvNs"] for o in orders)
    after = [t for t in follower_ns if t > leader_ns[-1]]
    span_s = (follower_ns[-1] - leader_ns[-1]) / 1e9 if after else 0.0
    for role in [r for r in cluster.roles if r.name in names]:
        await role.stop()
    return Round(
        workers,
        len(orders),
        (leader_ns[-1] - leader_ns[0]) / 1e6,
        (follower_ns[-1] - leader_ns[0]) / 1e6,
        len(after) / span_s if span_s else 0.0,
        cpu,
        settle_s,
    )


async def vacuum_leases(ledger: Ledger, every_s: float = VACUUM_S) -> None:
    """What autovacuum does on a real server, which the test server runs without (scripts/postgres.sh):
    every heartbeat rewrites each follower's lease row, and after 25 min at 10,000 followers the table
    held 3.8 million dead rows (686 MB for 11,000 live) — every lease statement crawled, and a worker
    joining took minutes to take its share."""
    while True:
        await asyncio.sleep(every_s)
        async with ledger.engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ownership_lease"))


async def measure(sources: int, followers: int, workers: list[int], heartbeat_s: float) -> list[Round]:
    with tempfile.TemporaryDirectory(prefix="mirrorbot-scale-") as scratch:
        tmp = Path(scratch)
        node = tmp / "node"
        node.mkdir()
        net = LocalnetProcess(node_data=node)
        try:
            await asyncio.to_thread(net.wait_ready)
            with pg_databases(1) as (db_url,), redis_server(tmp / "redis") as redis:
                ledger = await Ledger.open(db_url)
                cluster = cluster_of(net.url, db_url, tmp, redis.url, ledger, heartbeat_s)
                vacuum = asyncio.create_task(vacuum_leases(ledger))
                try:
                    return await _run(cluster, net, node, sources, followers, workers)
                finally:
                    vacuum.cancel()
                    await cluster.stop_all()
                    await ledger.close()
        finally:
            net.stop()


async def _run(
    cluster: Cluster, net: LocalnetProcess, node: Path, sources: int, count: int, workers: list[int]
) -> list[Round]:
    assert cluster.ledger is not None
    leaders = [Trader.new() for _ in range(sources)]
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=60) as http:
        await control(http, net.url, MIDS)
        await fund(http, net.url, [t.address for t in leaders], USDC)
        keys = [new_key() for _ in range(count)]
        followed = [leaders[i % sources].address for i in range(count)]
        added = await register(cluster.ledger, cluster.site.tmp, keys, followed)
        await fund(http, net.url, added, USDC)
    print(
        f"set-up: {sources} sources, {count} followers registered and funded in "
        f"{time.monotonic() - started:.0f} s"
    )
    cluster.extra_env["w1"] = {"MIRROR_HL_NODE_DATA": str(node)}
    await (await cluster.launch("watch", "w1", "--ws-users", "10000")).started("watcher_started")
    rounds = []
    for n, size in enumerate(workers):
        rounds.append(await one_round(cluster, net, leaders, set(added), size, n))
        print(rounds[-1].line(rounds[0] if n else None), flush=True)
    return rounds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=10)
    parser.add_argument("--followers", type=int, default=100)
    parser.add_argument("--workers", default="1,2,4", help="comma-separated copy worker counts")
    parser.add_argument("--heartbeat", type=float, default=2.0)
    args = parser.parse_args(argv)
    counts = [int(w) for w in args.workers.split(",") if w.strip()]
    print(f"machine: {machine()}")
    print(
        f"scale: {args.sources} sources x {args.followers} followers, 1 firehose watcher, copy workers "
        f"{counts}; ms from the first leader order received (localnet stats)"
    )
    print(HEADER)
    rounds = asyncio.run(measure(args.sources, args.followers, counts, args.heartbeat))
    return 0 if all(r.orders == args.followers for r in rounds) else 1


if __name__ == "__main__":
    sys.exit(main())
