"""The distributed benchmarks' site: a localnet process (`bench.rig`), PostgreSQL databases and a Redis
of their own (`bench.services`), leaders that trade with signed IOC orders, and followers registered as
`mirrorbot account add` / `follow add` register them (a keystore each), so that real `mirrorbot run`,
`watch` and `copy` processes (`bench.cluster`) load them exactly as a user's."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from adapters.hyperliquid.signer import Signer
from adapters.hyperliquid.wire import order_action, order_wire
from bench.cluster import Cluster, Site
from bench.services import fresh_pg_database
from bot.cluster.status import ClusterStatus
from bot.ledger import Ledger
from bot.service import Actor, MirrorService

PASSWORD = "bench-keystore-password"
ACTOR = Actor.system("bench")
KDF_N = 1024  # scrypt n of the followers' keystores (eth-account's default, 2^18, costs ~0.5 s each)
ETH = 1  # asset index of ETH in the localnet's default universe
MID = Decimal(3000)


@dataclass(frozen=True, slots=True)
class Coin:
    """A market the leaders trade: its asset index in the localnet's default universe and seeded mid."""

    name: str
    asset: int
    mid: Decimal


ETH_COIN = Coin("ETH", ETH, MID)
PG_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "postgres.sh"
_keys = itertools.count(1)
_nonces = itertools.count(time.time_ns() // 1_000_000)
_cloids = itertools.count(1)


def pg_server_url() -> str:
    """The PostgreSQL server: MIRROR_TEST_PG_URL, else scripts/postgres.sh's (started if need be)."""
    url = os.environ.get("MIRROR_TEST_PG_URL")
    if url:
        return url
    done = subprocess.run([str(PG_SCRIPT), "start"], capture_output=True, text=True, check=True, timeout=300)
    return done.stdout.strip()


@contextlib.contextmanager
def pg_databases(count: int) -> Iterator[list[str]]:
    """`count` fresh migrated databases on the server, dropped after."""
    server = pg_server_url()
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(fresh_pg_database(server, "bench")) for _ in range(count)]


def new_key() -> str:
    """A fresh private key (distinct in this process; the localnet and the ledgers are fresh per run)."""
    seed = (time.time_ns() << 20) + next(_keys)
    return "0x" + f"{seed % (2**255) + 1:064x}"


def address_of(key: str) -> str:
    return Signer(key, is_mainnet=False).address.lower()


@dataclass
class Trader:
    """A leader: one-order IOC trades signed by our signer, 2 % through the mid (they fill at once)."""

    signer: Signer

    @classmethod
    def new(cls) -> Trader:
        return cls(Signer(new_key(), is_mainnet=False))

    @property
    def address(self) -> str:
        return self.signer.address.lower()

    def body(self, is_buy: bool, size: Decimal, coin: Coin = ETH_COIN) -> dict[str, Any]:
        px = (coin.mid * (Decimal("1.02") if is_buy else Decimal("0.98"))).quantize(Decimal(1))
        wire = order_wire(coin.asset, is_buy, px, size, False, "Ioc", f"0x{next(_cloids):032x}")
        return self.signer.sign_l1_body(order_action([wire]), next(_nonces))

    async def trade(self, http: httpx.AsyncClient, url: str, is_buy: bool, size: Decimal) -> int:
        """One IOC order; its oid (it must fill)."""
        answer = (await http.post(f"{url}/exchange", json=self.body(is_buy, size))).json()
        status = answer["response"]["data"]["statuses"][0]
        if "filled" not in status:
            raise RuntimeError(f"leader order not filled: {status}")
        oid: int = status["filled"]["oid"]
        return oid


async def control(http: httpx.AsyncClient, url: str, message: dict[str, Any]) -> dict[str, Any]:
    answer = await http.post(f"{url}/_localnet", json=message)
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


async def fund(http: httpx.AsyncClient, url: str, addresses: Sequence[str], usdc: Decimal) -> None:
    for address in addresses:
        await control(http, url, {"type": "fund", "user": address, "usdc": str(usdc)})


async def register(
    ledger: Ledger,
    tmp: Path,
    keys: Sequence[str],
    sources: Sequence[str],
    *,
    concurrency: int = 8,
    password: str = PASSWORD,
    copy_current: bool = False,
) -> list[str]:
    """Each follower key: a keystore, `account add`, `follow add` of its source at 100 % (through the
    service layer, as the CLI does; `copy_current`: joining the source's open positions); `keys[i]`
    follows `sources[i]`. The followers' addresses."""
    service = MirrorService(ledger, kdf_iterations=KDF_N)
    gate = asyncio.Semaphore(concurrency)

    async def one(key: str, source: str) -> str:
        address = address_of(key)
        async with gate:
            path = tmp / "keys" / f"{address}.json"
            await service.keystore_import(ACTOR, path, key, password)
            await service.account_add(ACTOR, address, path, check_venue=False)
            await service.follow_add(
                ACTOR, address, source, scaling=100, copy_current=copy_current, check_venue=False
            )
        return address

    return list(await asyncio.gather(*(one(k, s) for k, s in zip(keys, sources, strict=True))))


async def wait_orders(
    http: httpx.AsyncClient, url: str, users: set[str], count: int, since: int = 0, timeout_s: float = 60.0
) -> list[dict[str, Any]]:
    """Poll (every 5 ms) until `users` sent `count` orders since `since`; what they sent by then. Each
    poll asks only for the requests after the last one seen: re-reading the whole window on every poll
    costs the localnet O(orders²) and, on 2 cores, the copy's own CPU."""
    deadline = time.monotonic() + timeout_s
    found: list[dict[str, Any]] = []
    seen = since
    while True:
        answer = await control(http, url, {"type": "stats", "since": seen})
        seen = max(seen, answer["count"])
        found += [r for r in answer["requests"] if r["action"] == "order" and r["user"] in users]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.005)


async def stats_count(http: httpx.AsyncClient, url: str) -> int:
    count: int = (await control(http, url, {"type": "stats", "since": 2**62}))["count"]
    return count


def cluster_of(url: str, db_url: str, tmp: Path, bus_url: str, ledger: Ledger, heartbeat_s: float) -> Cluster:
    return Cluster(Site(url, db_url, tmp, PASSWORD), bus_url, ledger, heartbeat_s)


def owners(status: ClusterStatus) -> dict[str, str | None]:
    return {f.key: f.owner for f in status.followers}


async def trading(cluster: Cluster, workers: list[str], followers: set[str], within: float = 180) -> None:
    """Wait until every follower is leased by one of `workers` and each worker trades what it holds."""
    deadline = time.monotonic() + within
    while True:
        held: dict[str, set[str]] = {}
        for key, owner in owners(await cluster.status()).items():
            if owner is not None:
                held.setdefault(owner, set()).add(key)
        loaded = cluster.loaded()
        owned = set().union(*held.values()) if held else set()
        if (
            owned == followers
            and set(held) == set(workers)
            and all(loaded.get(w) == held[w] for w in workers)
        ):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the workers did not settle: leases {held}, trading {loaded}")
        await asyncio.sleep(0.05)
