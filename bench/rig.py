"""The copy benchmarks' rig: a localnet in its own process, a leader trading through the unmodified SDK,
N funded followers, and the real pipeline (`bot.pipeline.runner.Runner`, what `mirrorbot run` runs).

The localnet runs in a separate process so its request handling does not share this process's GIL
with the bot: what is timed is the bot's work plus loopback, not the venue's. Followers trade with their
own master keys (distinct keys, no agent approval round trip: signing costs the same) and are passed to
the runner directly (no keystores to decrypt). The runner's periodic jobs are off: nothing but the
copies runs while a trade is timed. The venue client's weight budget is lifted (the localnet imposes
none): the budget is the subject of `bench.capacity`, not of the latency figures.
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hyperliquid.exchange import Exchange
from sqlalchemy import event

from adapters.hyperliquid.budget import WeightBudget
from adapters.hyperliquid.venue import HyperliquidVenue
from bot.config import load_settings
from bot.domain import TradingAccount
from bot.ledger import AccountKind, Ledger
from bot.pipeline.runner import Runner, RunnerOptions
from bot.service import Actor, MirrorService

VENUE = "hyperliquid"
ACTOR = Actor.system("bench")
# The localnet imposes no weight limit: reads against it are not paced to the real venue's 1,200 a minute
# (benches and tests; what a job costs in weight is counted where it matters, not waited for).
LOCALNET_WEIGHT_PER_MINUTE = 10_000_000


def unpaced() -> WeightBudget:
    """A venue client's budget against the localnet (LOCALNET_WEIGHT_PER_MINUTE): never waits."""
    return WeightBudget(LOCALNET_WEIGHT_PER_MINUTE, burst=LOCALNET_WEIGHT_PER_MINUTE // 10)


JOBS_OFF = RunnerOptions(plans_refresh_s=0, accounts_refresh_s=0, reconcile_s=0, dead_man_rearm_s=0)
SDK_NONCES: list[int] = [0]


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    return (
        f"{model}, {os.cpu_count()} logical CPUs, load average {load:.2f}; Python {platform.python_version()}"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LocalnetProcess:
    """`serve()` in a child process on a free loopback port; stopped (terminated) on exit."""

    def __init__(self, seed: int = 7, node_data: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # `node_data`: every fill also written as a node's node_fills_by_block files (the firehose).
        files = "" if node_data is None else f", node_data=__import__('pathlib').Path({str(node_data)!r})"
        code = f"from adapters.localnet.server import serve; serve(port={self.port}, seed={seed}{files})"
        self._process = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def wait_ready(self, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the localnet exited with {self._process.returncode}")
            try:
                httpx.post(f"{self.url}/info", json={"type": "meta"}, timeout=1).raise_for_status()
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the localnet did not start")

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the localnet process has used so far (Linux `/proc`)."""
        return sum(self.cpu_times())

    def cpu_times(self) -> tuple[float, float]:
        """(user, system) CPU seconds the localnet process has used so far (Linux `/proc`)."""
        fields = Path(f"/proc/{self._process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return int(fields[11]) / tick, int(fields[12]) / tick

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()


def sdk_nonce() -> int:
    """The SDK takes nonces from the wall clock; two leader orders in one ms would collide."""
    SDK_NONCES[0] = max(time.time_ns() // 1_000_000, SDK_NONCES[0] + 1)
    return SDK_NONCES[0]


@dataclass
class Rig:
    url: str
    http: httpx.AsyncClient
    ledger: Ledger
    runner: Runner
    leader: LocalAccount
    sdk: Exchange
    followers: list[str] = field(default_factory=list)
    net: LocalnetProcess | None = None  # the venue's process, when the bench started it

    @property
    def leader_address(self) -> str:
        return str(self.leader.address).lower()

    async def control(self, message: dict[str, Any]) -> dict[str, Any]:
        answer = await self.http.post(f"{self.url}/_localnet", json=message)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    async def info(self, message: dict[str, Any]) -> Any:
        answer = await self.http.post(f"{self.url}/info", json=message)
        answer.raise_for_status()
        return answer.json()

    async def leader_order(self, coin: str, is_buy: bool, size: Decimal) -> int:
        """One IOC market order of the leader through the SDK; its oid (it must fill)."""
        answer = await asyncio.to_thread(self.sdk.market_open, coin, is_buy, float(size))
        status = answer["response"]["data"]["statuses"][0]
        if "filled" not in status:
            raise RuntimeError(f"leader order not filled: {status}")
        oid: int = status["filled"]["oid"]
        return oid

    async def follower_orders(self, since: int = 0) -> list[dict[str, Any]]:
        """The followers' `order` requests as the localnet received them (stats, arrival order)."""
        followers = set(self.followers)
        requests = (await self.control({"type": "stats", "since": since}))["requests"]
        return [r for r in requests if r["action"] == "order" and r["user"] in followers]

    async def wait_orders(self, count: int, since: int = 0, timeout_s: float = 30.0) -> list[dict[str, Any]]:
        """Poll until the followers' orders number `count` (1 ms poll: the poll never times anything)."""
        deadline = time.monotonic() + timeout_s
        while True:
            orders = await self.follower_orders(since)
            if len(orders) >= count or time.monotonic() > deadline:
                return orders
            await asyncio.sleep(0.002)

    @property
    def sends(self) -> int:
        """Orders the bot has sent so far."""
        assert self.runner.copier is not None
        return self.runner.copier.oms.sends

    async def copied(self, sends: int, timeout_s: float = 30.0) -> bool:
        """Wait until the bot has sent `sends` orders in all and is idle again (in-process reads only,
        so the wait costs the bot's event loop next to nothing)."""
        copier = self.runner.copier
        assert copier is not None
        deadline = time.monotonic() + timeout_s
        while copier.oms.sends < sends or not copier.idle or not self._protector_idle():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.001)
        return True

    def _protector_idle(self) -> bool:
        """The stop-loss / take-profit passes a copy queues (`bot/pipeline/protect.py`) hold pair locks:
        the next trade is timed only once they are done too."""
        protector = getattr(self.runner, "protector", None)
        return protector is None or bool(protector.idle)

    async def stats_count(self) -> int:
        count: int = (await self.control({"type": "stats", "since": 2**62}))["count"]
        return count


DB_CHOICES = ("sqlite", "sqlite-full")  # or a database URL (PostgreSQL: postgresql+asyncpg://…)


async def open_ledger(db: str, tmp: Path) -> Ledger:
    """The bench's ledger: `sqlite` as `mirrorbot run` opens it (WAL, synchronous=NORMAL), `sqlite-full`
    the same with synchronous=FULL (an experiment: an fsync per commit), or any ledger URL."""
    if db not in DB_CHOICES:
        return await Ledger.open(db)
    ledger = await Ledger.open(f"sqlite+aiosqlite:///{tmp / 'bench.db'}")
    if db == "sqlite-full":

        def full(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()

        for engine in ledger.sync_engines:  # nothing has connected yet: every connection gets it
            event.listen(engine, "connect", full)
    return ledger


async def open_rig(
    net_url: str,
    tmp: Path,
    followers: int,
    *,
    leader_usdc: Decimal,
    follower_usdc: Decimal,
    db: str = "sqlite",
) -> Rig:
    http = httpx.AsyncClient(timeout=60)
    ledger = await open_ledger(db, tmp)
    service = MirrorService(ledger)
    leader: LocalAccount = Account.create()
    leader_address = str(leader.address).lower()
    await _fund(http, net_url, [(leader_address, leader_usdc)])
    wallets: list[LocalAccount] = [Account.create() for _ in range(followers)]
    addresses = [str(w.address).lower() for w in wallets]
    await _fund(http, net_url, [(a, follower_usdc) for a in addresses])
    for address in addresses:
        await ledger.add_account(
            venue=VENUE, address=address, kind=AccountKind.MASTER, agent_address=address, keystore_path="-"
        )
        await service.follow_add(ACTOR, address, leader_address, scaling=100, check_venue=False)
    accounts = [TradingAccount(a, w.key.hex()) for a, w in zip(addresses, wallets, strict=True)]
    settings = load_settings(hl_api_url=net_url, data_dir=tmp / "data", database_url=f"sqlite:///{tmp}/x.db")
    venue = HyperliquidVenue(net_url, data_dir=tmp / "venue", is_mainnet=False, budget=unpaced())
    runner = Runner(settings, venue=venue, ledger=ledger, accounts=accounts, options=JOBS_OFF)
    await runner.start()
    sdk = await asyncio.to_thread(lambda: Exchange(leader, base_url=net_url))
    return Rig(net_url, http, ledger, runner, leader, sdk, addresses)


async def close_rig(rig: Rig) -> None:
    await rig.runner.stop()
    await rig.ledger.close()
    await rig.http.aclose()
    rig.sdk.session.close()
    rig.sdk.info.session.close()


async def _fund(http: httpx.AsyncClient, url: str, grants: Sequence[tuple[str, Decimal]]) -> None:
    for address, usdc in grants:
        answer = await http.post(
            f"{url}/_localnet", json={"type": "fund", "user": address, "usdc": str(usdc)}
        )
        answer.raise_for_status()


class Bench:
    """`async with Bench(followers=N) as rig:` a localnet process and a started rig, torn down after."""

    def __init__(
        self,
        followers: int,
        *,
        leader_usdc: Decimal,
        follower_usdc: Decimal,
        db: str = "sqlite",
        seed: int = 7,
    ) -> None:
        self._args = (followers, leader_usdc, follower_usdc)
        self._db = db
        self._seed = seed
        self._net: LocalnetProcess | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._rig: Rig | None = None

    async def __aenter__(self) -> Rig:
        import hyperliquid.exchange as sdk_exchange

        logging.getLogger().setLevel(logging.ERROR)  # the bot's per-event logs would swamp the figures

        sdk_exchange.get_timestamp_ms = sdk_nonce
        self._net = LocalnetProcess(self._seed)
        self._tmp = tempfile.TemporaryDirectory(prefix="mirrorbot-bench-")
        try:
            await asyncio.to_thread(self._net.wait_ready)
            followers, leader_usdc, follower_usdc = self._args
            self._rig = await open_rig(
                self._net.url,
                Path(self._tmp.name),
                followers,
                leader_usdc=leader_usdc,
                follower_usdc=follower_usdc,
                db=self._db,
            )
            self._rig.net = self._net
        except BaseException:
            self._net.stop()
            self._tmp.cleanup()
            raise
        return self._rig

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self._rig is not None:
                await close_rig(self._rig)
        finally:
            if self._net is not None:
                self._net.stop()
            if self._tmp is not None:
                self._tmp.cleanup()


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest rank."""
    ranked = sorted(values)
    if not ranked:
        return float("nan")
    index = max(0, min(len(ranked) - 1, int(-(-p * len(ranked) // 100)) - 1))
    return ranked[index]
