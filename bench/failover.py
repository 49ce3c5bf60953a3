"""Failover time (issue #15): a copy worker SIGKILLed → its followers' leases taken by another worker →
the first order the new owner sends for them.

    python -m bench.failover [--reps 5] [--followers 4] [--heartbeat 2.0]

One localnet process, a PostgreSQL ledger, a Redis, one watcher and two copy workers (real `mirrorbot
watch` / `copy` processes, `--heartbeat` seconds between heartbeats, a lease lasting two). The followers
(ρ = 0.1) follow one leader. Each repetition: the worker owning the first follower is SIGKILLed and the
leader trades at once (the change its followers now need has nobody to copy it); the bench polls the
ledger's leases (`cluster status`, every ~20 ms) until every follower of the dead worker is owned by a live
one, and reads the localnet's `stats` for their orders. Printed per repetition, in seconds after the kill:
ownership moved, the new owner's first and last order for them; then the median and max, also in
heartbeats. A fresh worker then joins so the next repetition starts from two again.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx

from bench.cluster import Cluster, Role
from bench.distributed import (
    Trader,
    cluster_of,
    control,
    fund,
    new_key,
    owners,
    pg_databases,
    register,
    stats_count,
    trading,
    wait_orders,
)
from bench.rig import LocalnetProcess, machine
from bench.services import redis_server
from bot.cluster.member import HEARTBEATS_PER_LEASE
from bot.ledger import Ledger

SIZE = Decimal("0.5")
LEADER_USDC = Decimal(1_000_000)
FOLLOWER_USDC = Decimal(100_000)


@dataclass(frozen=True, slots=True)
class Failover:
    killed: str
    followers: int  # the dead worker's followers
    moved_s: float  # kill → every one of them leased by a live worker
    first_order_s: float  # kill → the new owner's first order for them (localnet receipt)
    last_order_s: float  # kill → its last


async def one_failover(
    cluster: Cluster, roles: dict[str, Role], leader: Trader, http: httpx.AsyncClient, is_buy: bool
) -> Failover:
    first = sorted(f.key for f in (await cluster.status()).followers)[0]
    now = owners(await cluster.status())
    victim = now[first]
    assert victim is not None
    lost = {key for key, owner in now.items() if owner == victim}
    url = cluster.site.url
    since = await stats_count(http, url)
    roles[victim].process.send_signal(signal.SIGKILL)
    killed_ns, killed = time.time_ns(), time.monotonic()
    await leader.trade(http, url, is_buy, SIZE)
    while True:
        current = owners(await cluster.status())
        if all(current.get(key) not in (None, victim) for key in lost):
            moved_s = time.monotonic() - killed
            break
        if time.monotonic() - killed > 120:
            raise RuntimeError(f"ownership of {sorted(lost)} did not move from {victim}")
        await asyncio.sleep(0.02)
    await roles.pop(victim).stop()
    orders = await wait_orders(http, url, lost, len(lost), since, timeout_s=120)
    if len(orders) < len(lost):
        raise RuntimeError(f"the new owner sent {len(orders)} of {len(lost)} orders")
    received = sorted(o["recvNs"] for o in orders)
    return Failover(
        victim, len(lost), moved_s, (received[0] - killed_ns) / 1e9, (received[-1] - killed_ns) / 1e9
    )


async def measure(reps: int, followers: int, heartbeat_s: float) -> list[Failover]:
    with tempfile.TemporaryDirectory(prefix="mirrorbot-failover-") as scratch:
        tmp = Path(scratch)
        net = LocalnetProcess()
        try:
            await asyncio.to_thread(net.wait_ready)
            with pg_databases(1) as (db_url,), redis_server(tmp / "redis") as redis:
                ledger = await Ledger.open(db_url)
                try:
                    cluster = cluster_of(net.url, db_url, tmp, redis.url, ledger, heartbeat_s)
                    try:
                        return await _run(cluster, reps, followers)
                    finally:
                        await cluster.stop_all()
                finally:
                    await ledger.close()
        finally:
            net.stop()


async def _run(cluster: Cluster, reps: int, count: int) -> list[Failover]:
    url = cluster.site.url
    assert cluster.ledger is not None
    leader = Trader.new()
    async with httpx.AsyncClient(timeout=60) as http:
        await control(http, url, {"type": "setMids", "mids": {"ETH": "3000"}})
        await fund(http, url, [leader.address], LEADER_USDC)
        added = await register(
            cluster.ledger, cluster.site.tmp, [new_key() for _ in range(count)], [leader.address] * count
        )
        await fund(http, url, added, FOLLOWER_USDC)
        followers = set(added)
        await (await cluster.launch("watch", "w1")).started("watcher_started")
        roles: dict[str, Role] = {}
        names = iter(f"c{n}" for n in range(1, 1000))
        for name in (next(names), next(names)):
            roles[name] = await cluster.launch("copy", name)
            await roles[name].started("runner_started")
        await trading(cluster, sorted(roles), followers)
        results = []
        for rep in range(reps):
            results.append(await one_failover(cluster, roles, leader, http, is_buy=rep % 2 == 0))
            name = next(names)
            roles[name] = await cluster.launch("copy", name)
            await roles[name].started("runner_started")
            await trading(cluster, sorted(roles), followers)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.failover", description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="workers killed, one after the other")
    parser.add_argument("--followers", type=int, default=4, help="followers of the one leader")
    parser.add_argument(
        "--heartbeat", type=float, default=2.0, help="seconds between heartbeats (CLI default 2)"
    )
    args = parser.parse_args(argv)
    beat = args.heartbeat
    print(f"machine: {machine()}")
    print(
        f"failover: 1 watcher, 2 copy workers, {args.followers} followers of 1 leader; heartbeat {beat} s, "
        f"a lease lasts {HEARTBEATS_PER_LEASE} heartbeats ({beat * HEARTBEATS_PER_LEASE} s); s after the kill"
    )
    results = asyncio.run(measure(max(args.reps, 1), max(args.followers, 2), beat))
    print(f"{'rep':>4}{'killed':>8}{'followers':>11}{'moved s':>10}{'1st order s':>13}{'last order s':>14}")
    for n, r in enumerate(results, start=1):
        print(
            f"{n:>4}{r.killed:>8}{r.followers:>11}{r.moved_s:>10.2f}{r.first_order_s:>13.2f}{r.last_order_s:>14.2f}"
        )
    for label, values in (
        ("ownership moved", [r.moved_s for r in results]),
        ("first order by the new owner", [r.first_order_s for r in results]),
    ):
        median, top = statistics.median(values), max(values)
        print(
            f"{label}: median {median:.2f} s ({median / beat:.1f} heartbeats), "
            f"max {top:.2f} s ({top / beat:.1f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
