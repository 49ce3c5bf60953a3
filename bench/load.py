"""Loading followers (issue #15): what a runner pays per follower it loads — the ledger statements and the
milliseconds — for followers gained while running (`sync_plans`, as a copy worker loads the followers it
gained; `--first-start`: loaded by a runner's start instead, never loaded before, as a copy worker's
first start loads them) and for a restart recovering them with their history (`Runner.start`).

    python -m bench.load [--followers 200] [--sources 1] [--pg] [--copy-current] [--latency-ms 0]
                         [--first-start]

One localnet process, a SQLite ledger (`--pg`: a fresh PostgreSQL database on scripts/postgres.sh's
server, or MIRROR_TEST_PG_URL's, as bench.distributed makes them), followers registered through the
service layer as bench.scale registers them (a keystore each, `account add`, `follow add` at 100 %);
follower i follows leader i mod S, each leader holding ETH (`--copy-current`: the follows join it, so
each first plan apply sends an order; `--latency-ms`: the localnet answers each order that much later,
as a venue across a network does). Printed: ms per follower, ledger statements per follower, and
the longest the event loop went without a turn (a 10 ms ticker's lateness) during each load.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

from bench.distributed import PASSWORD, Trader, control, fund, new_key, pg_databases, register
from bench.rig import JOBS_OFF, LOCALNET_WEIGHT_PER_MINUTE, LocalnetProcess, machine
from bot.config import load_settings
from bot.ledger import Ledger
from bot.pipeline.runner import Runner

USDC = Decimal(10_000)
TICK_S = 0.01


@dataclass(frozen=True, slots=True)
class Load:
    what: str
    followers: int
    seconds: float
    statements: int
    longest_stall_ms: float

    def line(self) -> str:
        per = 1000 * self.seconds / self.followers
        return (
            f"{self.what:<26}{self.followers:>10}{self.seconds:>8.2f}{per:>14.1f}"
            f"{self.statements / self.followers:>16.1f}{self.longest_stall_ms:>10.0f}"
        )


HEADER = f"{'load':<26}{'followers':>10}{'s':>8}{'ms/follower':>14}{'stmts/follower':>16}{'stall ms':>10}"


async def measured(what: str, count: int, ledger: Ledger, work: Callable[[], Awaitable[Any]]) -> Load:
    """`work` timed, its ledger statements counted, and a ticker's worst lateness beside it."""
    statements = [0]

    def counted(*_: Any) -> None:
        statements[0] += 1

    worst = [0.0]

    async def ticker() -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(TICK_S)
            worst[0] = max(worst[0], time.monotonic() - before - TICK_S)

    for engine in ledger.sync_engines:
        event.listen(engine, "before_cursor_execute", counted)
    task = asyncio.create_task(ticker())
    started = time.monotonic()
    try:
        await work()
    finally:
        seconds = time.monotonic() - started
        task.cancel()
        for engine in ledger.sync_engines:
            event.remove(engine, "before_cursor_execute", counted)
    return Load(what, count, seconds, statements[0], worst[0] * 1000)


@dataclass(frozen=True, slots=True)
class Setup:
    followers: int = 200
    sources: int = 1
    pg: bool = False  # a PostgreSQL ledger instead of SQLite
    copy_current: bool = False  # the follows join the leaders' ETH: each first apply sends an order
    latency_ms: float = 0  # the venue answers each order this much later (a venue across a network)
    first_start: bool = False  # the followers loaded by a first start instead of gained while running


def measure(setup: Setup) -> list[Load]:
    with tempfile.TemporaryDirectory(prefix="mirrorbot-load-") as scratch:
        tmp = Path(scratch)
        if not setup.pg:
            return asyncio.run(_measure(setup, f"sqlite+aiosqlite:///{tmp / 'ledger.db'}", tmp))
        with pg_databases(1) as (db_url,):  # created and dropped outside the measuring loop
            return asyncio.run(_measure(setup, db_url, tmp))


async def _measure(setup: Setup, db_url: str, tmp: Path) -> list[Load]:
    net = LocalnetProcess()
    try:
        await asyncio.to_thread(net.wait_ready)
        ledger = await Ledger.open(db_url)
        try:
            return await _run(setup, net, ledger, db_url, tmp)
        finally:
            await ledger.close()
    finally:
        net.stop()


async def _run(setup: Setup, net: LocalnetProcess, ledger: Ledger, db_url: str, tmp: Path) -> list[Load]:
    count, sources = setup.followers, setup.sources
    leaders = [Trader.new() for _ in range(sources)]
    async with httpx.AsyncClient(timeout=60) as http:
        await control(http, net.url, {"type": "setMids", "mids": {"ETH": "3000"}})
        await fund(http, net.url, [t.address for t in leaders], USDC)
        for leader in leaders:
            await leader.trade(http, net.url, True, Decimal("0.1"))
    settings = load_settings(
        hl_api_url=net.url,
        data_dir=tmp / "data",
        database_url=db_url,
        keystore_password=PASSWORD,
        hl_weight_per_minute=LOCALNET_WEIGHT_PER_MINUTE,
    )

    async def enrol() -> None:  # the followers, registered and funded; then the venue's latency
        keys = [new_key() for _ in range(count)]
        followed = [leaders[i % sources].address for i in range(count)]
        added = await register(ledger, tmp, keys, followed, copy_current=setup.copy_current)
        async with httpx.AsyncClient(timeout=60) as http:
            await fund(http, net.url, added, USDC)
            if setup.latency_ms:  # the orders only: the setup above is not slowed
                fault = {"type": "fault", "latencyMs": setup.latency_ms, "scope": "exchange"}
                await control(http, net.url, fault)

    first = Runner(settings, options=JOBS_OFF, ledger=ledger)
    if setup.first_start:  # a copy worker's first start with followers no runner loaded before
        await enrol()
        loads = [await measured("first start, never loaded", count, ledger, first.start)]
    else:
        await first.start()  # no followers yet
        await enrol()
        loads = [await measured("gained while running", count, ledger, first.sync_plans)]
    assert first.copier is not None and len(first.copier.desks) == count
    await first.stop()
    second = Runner(settings, options=JOBS_OFF, ledger=ledger)
    loads.append(await measured("restart, with history", count, ledger, second.start))
    assert second.copier is not None and len(second.copier.desks) == count
    await second.stop()
    return loads


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=200)
    parser.add_argument("--sources", type=int, default=1)
    parser.add_argument("--pg", action="store_true", help="a PostgreSQL ledger instead of SQLite")
    parser.add_argument(
        "--copy-current", action="store_true", help="the follows join the leaders' ETH: an order each"
    )
    parser.add_argument(
        "--latency-ms", type=float, default=0, help="the localnet answers each order this much later"
    )
    parser.add_argument(
        "--first-start", action="store_true", help="the followers loaded by a start, not gained while running"
    )
    args = parser.parse_args(argv)
    setup = Setup(args.followers, args.sources, args.pg, args.copy_current, args.latency_ms, args.first_start)
    print(f"machine: {machine()}; ledger: {'PostgreSQL' if args.pg else 'SQLite'}")
    print(HEADER)
    for load in measure(setup):
        print(load.line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
