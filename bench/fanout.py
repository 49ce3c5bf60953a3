"""Fan-out: one leader trade → N followers (distinct keys), time until the LAST follower order arrives.

    .venv/bin/python -m bench.fanout [--n 1,10,100] [--trades 3] [--db sqlite]   (1000: `--n 1000`)

For each N a fresh rig (localnet process, N funded followers following one leader at 100 %, the real
pipeline); the leader alternately opens and closes 0.5 ETH `--trades` times, waiting for every copy to
finish in between. Per trade: first and last follower order receipt (localnet `stats`) − the moment the
leader's `userFills` push left the localnet; the figures are the median over the trades (and the max).
Also per trade: the bot's CPU per order over its send phase (`process_time` from the first `send` to the
last answer; this process runs the bot, the localnet is another), and "done": last order received →
the copy finished (every answer recorded and settled, the bot idle). After the table, the process's
peak RSS (`ru_maxrss`) after start-up and after the copies. `--transport httpx` sends the orders over
the venue's shared httpx client instead of the exchange client's own keep-alive pool (the "before").
`venue/ord`: the localnet process's CPU per order over the same send phase (the venue's floor). `--stages`
prints each trade's timeline: the ledger writes, the sends, the answers, ms after the leader's push.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from adapters.hyperliquid.exchange import HttpxPost
from adapters.hyperliquid.signer import Signer
from adapters.hyperliquid.wire import order_action, order_wire
from adapters.localnet.auth import parse_signed_request, recover_signer
from bench.rig import DB_CHOICES, Bench, Rig, machine
from bench.stages import StageClock

COIN = "ETH"
SIZE = Decimal("0.5")
LEADER_USDC = Decimal(1_000_000)
FOLLOWER_USDC = Decimal(100_000)
TRANSPORTS = ("keepalive", "httpx")


def recovery_floor_ms(orders: int = 1000, keys: int = 20) -> float:
    """The venue's floor: CPU ms of this process for the localnet's signer recovery
    (`adapters/localnet/auth.py`: coincurve since #15, the SDK's helpers before) of `orders`
    signed one-order bodies, signed beforehand by our signer (`keys` keys in turn)."""
    signers = [Signer("0x" + f"{n + 1:064x}", is_mainnet=False) for n in range(keys)]
    bodies = []
    for n in range(orders):
        wire = order_wire(1, True, Decimal(3000), Decimal("0.5"), False, "Ioc", f"0x{n:032x}")
        bodies.append(signers[n % keys].sign_l1_body(order_action([wire]), 1_700_000_000_000 + n))
    started = time.process_time()
    for body in bodies:
        recover_signer(parse_signed_request(body), mainnet=False)
    return (time.process_time() - started) * 1e3


def rss_mib() -> float:
    """Peak resident set of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class SendMeter:
    """From the first order sent to the last answer received (one trade): this process's CPU, and the
    venue process's (`venue_cpu`, read at those two moments only)."""

    expected: int  # orders in the trade: the last answer is the expected-th
    venue_cpu: Callable[[], float] = lambda: 0.0
    first: tuple[float, float] | None = None  # (process_time, venue CPU s) at the first send
    last: tuple[float, float] | None = None  # at the last answer
    answers: int = 0

    def reset(self) -> None:
        self.first = self.last = None
        self.answers = 0

    def wrap(self, send: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            if self.first is None:
                self.first = (time.process_time(), self.venue_cpu())
            try:
                return await send(*args, **kwargs)
            finally:
                self.answers += 1
                if self.answers == self.expected:
                    self.last = (time.process_time(), self.venue_cpu())

        return timed

    def cpu_ms(self) -> tuple[float, float]:
        """(this process, the venue) CPU ms over the send phase."""
        assert self.first is not None and self.last is not None
        return (self.last[0] - self.first[0]) * 1e3, (self.last[1] - self.first[1]) * 1e3


@dataclass
class FanOut:
    followers: int
    first_ms: list[float] = field(default_factory=list)
    last_ms: list[float] = field(default_factory=list)
    cpu_per_order_ms: list[float] = field(default_factory=list)
    done_ms: list[float] = field(default_factory=list)  # last order received → copy finished
    venue_cpu_ms: list[float] = field(default_factory=list)  # the localnet's CPU per order (send phase)
    timelines: list[str] = field(default_factory=list)  # `--stages`: one line per trade
    setup_s: float = 0.0
    rss_start_mib: float = 0.0
    rss_end_mib: float = 0.0

    def line(self) -> str:
        if not self.last_ms:
            return f"{self.followers:>6}  no complete fan-out"
        return (
            f"{self.followers:>6}{statistics.median(self.first_ms):>10.1f}"
            f"{statistics.median(self.last_ms):>10.1f}{max(self.last_ms):>10.1f}"
            f"{statistics.median(self.cpu_per_order_ms):>10.2f}{statistics.median(self.venue_cpu_ms):>10.2f}"
            f"{statistics.median(self.done_ms):>10.1f}{self.rss_start_mib:>9.1f}{self.rss_end_mib:>9.1f}"
            f"{len(self.last_ms):>8}{self.setup_s:>9.1f}"
        )


HEADER = (
    f"{'N':>6}{'first ms':>10}{'last ms':>10}{'max last':>10}{'cpu/ord':>10}{'venue/ord':>10}{'done ms':>10}"
    f"{'rss0 MiB':>9}{'rss1 MiB':>9}{'trades':>8}{'setup s':>9}"
)


# The fan-out's steps after the decisions (bot/pipeline/execute.py `Executor.run`), in order.
STAGES = ("record_decisions", "mark_intents", "send", "record_order_statuses")


def stage_clock(rig: Rig) -> StageClock:
    clock = StageClock()
    for method in ("record_decisions", "mark_intents", "record_order_statuses"):
        clock.wrap(rig.ledger, method, method)
    assert rig.runner.copier is not None
    clock.wrap(rig.runner.copier.oms, "send", "send")
    return clock


def timeline(clock: StageClock, push_ns: int, done_ns: int) -> str:
    """Each stage's first start → last end, in ms after the leader's push, then the bot idle."""
    spans = clock.between(push_ns, done_ns)
    parts = []
    for stage in STAGES:
        mine = [span for span in spans if span.stage == stage]
        if mine:
            start = (min(span.start_ns for span in mine) - push_ns) / 1e6
            end = (max(span.end_ns for span in mine) - push_ns) / 1e6
            parts.append(f"{stage} {start:.0f}->{end:.0f}")
    return ", ".join([*parts, f"idle {(done_ns - push_ns) / 1e6:.0f}"])


def use_transport(rig: Rig, transport: str) -> None:
    if transport == "httpx":
        venue: Any = rig.runner.venue
        venue.exchange.transport = HttpxPost(venue._http)


async def measure(
    followers: int, trades: int, *, db: str = "sqlite", transport: str = "keepalive", stages: bool = False
) -> FanOut:
    started = time.monotonic()
    result = FanOut(followers)
    async with Bench(followers, leader_usdc=LEADER_USDC, follower_usdc=FOLLOWER_USDC, db=db) as rig:
        result.setup_s = time.monotonic() - started
        result.rss_start_mib = rss_mib()
        use_transport(rig, transport)
        copier = rig.runner.copier
        assert copier is not None
        net = rig.net
        meter = SendMeter(followers, net.cpu_s) if net is not None else SendMeter(followers)
        clock = stage_clock(rig) if stages else None
        copier.oms.send = meter.wrap(copier.oms.send)  # type: ignore[method-assign, assignment]
        timeout_s = 30.0 + followers * 0.1
        for number in range(trades):
            since = await rig.stats_count()
            sends = rig.sends
            meter.reset()
            oid = await rig.leader_order(COIN, number % 2 == 0, SIZE)
            if not await rig.copied(sends + followers, timeout_s):
                continue
            done_ns = time.time_ns()
            orders = await rig.follower_orders(since)
            pushes = (await rig.control({"type": "stats", "since": 2**62, "pushes": True}))["fillPushes"]
            sent = [p["sentNs"] for p in pushes if p["user"] == rig.leader_address and oid in p["oids"]]
            if not sent or len(orders) < followers or meter.last is None:
                continue
            received = sorted(o["recvNs"] for o in orders)
            result.first_ms.append((received[0] - sent[0]) / 1e6)
            result.last_ms.append((received[followers - 1] - sent[0]) / 1e6)
            bot_cpu_ms, venue_cpu_ms = meter.cpu_ms()
            result.cpu_per_order_ms.append(bot_cpu_ms / followers)
            result.done_ms.append((done_ns - received[followers - 1]) / 1e6)
            result.venue_cpu_ms.append(venue_cpu_ms / followers)
            if clock is not None:
                result.timelines.append(timeline(clock, sent[0], done_ns))
        result.rss_end_mib = rss_mib()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__.splitlines()[0])
    parser.add_argument("--n", default="1,10,100", help="comma-separated follower counts")
    parser.add_argument("--trades", type=int, default=3, help="leader trades per follower count")
    parser.add_argument("--db", default="sqlite", help=f"{' | '.join(DB_CHOICES)} | a ledger URL")
    parser.add_argument("--transport", default="keepalive", choices=TRANSPORTS, help="the orders' HTTP")
    parser.add_argument("--stages", action="store_true", help="each trade's timeline")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.n.split(",") if n.strip()]
    print(f"machine: {machine()}")
    print(
        f"fan-out: one leader trade -> N followers; ms from the userFills push; ledger {args.db}; "
        f"orders over {args.transport}"
    )
    print(
        "cpu/ord, venue/ord: the bot's and the localnet's CPU ms per order over the send phase (first "
        "send -> last answer; venue: 10 ms ticks); done: last order received -> the bot idle"
    )
    floor = recovery_floor_ms()
    print(f"venue floor: 1,000 signer recoveries (SDK helpers, as the localnet) = {floor:.0f} ms of CPU")
    print("rss0 / rss1: this process's peak RSS after start-up / after the copies")
    print(HEADER)
    complete = True
    for count in counts:
        trades = max(args.trades, 1)
        result = asyncio.run(measure(count, trades, db=args.db, transport=args.transport, stages=args.stages))
        print(result.line(), flush=True)
        for line in result.timelines:
            print(f"{'':>6}  {line}")
        complete = complete and bool(result.last_ms)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
