"""Fidelity (issue #7): replay the recorded 500-fill history live on the localnet into followers of
$1k, $10k and $100k and measure how closely each tracks its ideal position.

The leader replays the recording's source changes (one per coin and block: docs/decisions/normalise.md)
through the unmodified SDK at the recorded prices (`setMids` to each change's average fill price first);
the real `Runner` (bench/rig.py) copies into the followers. After every leader trade, per follower and
coin: the ideal τ (SPEC §2, computed here independently of the engine, with ρ from the equities the venue
reports at the open) against the follower's venue position. Deferred and skipped decisions are counted
from the ledger (`CopyInstruction.reason`) and from the alerts; `bot/simulate.FillReplay` (what
`mirrorbot simulate --fills` runs) on the same history gives the engine's expected positions to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import httpx
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from adapters.hyperliquid.info import InfoClient
from bench.fidelity_model import (
    ZERO,
    History,
    IdealPair,
    Tracking,
    is_open_or_flip,
    load_history,
    mean,
    percent,
    usd,
)
from bench.rig import LocalnetProcess, Rig, close_rig, free_port, machine, open_rig, sdk_nonce
from bot.alerts import Alert, AlertKind
from bot.ledger.models import CopyInstruction, OrderIntent
from bot.simulate import FillReplay
from strategies.model import Reason

DEFAULT_FOLLOWERS = (Decimal(1_000), Decimal(10_000), Decimal(100_000))
DEFAULT_LEADER_USDC = Decimal(100_000)  # gross notional peaks near $76k: 1× would do, 20× is the default
COPY_TIMEOUT_S = 30.0
DEFERRED = Reason.DEFERRED_MIN_NOTIONAL.value


class FixtureLocalnet(LocalnetProcess):
    """`bench.rig.LocalnetProcess` listing the recording's markets (lots and leverage from its `meta`),
    starting at their first recorded prices. The localnet has no control message to add a market, so
    the child process replaces the default instrument list before any localnet module binds it."""

    def __init__(self, history: History, seed: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        starts = history.openings()
        specs = [
            [m.coin, m.sz_decimals, m.max_leverage or 50, str(starts[m.coin][1])]
            for m in history.markets.values()
        ]
        code = (
            "import json, sys\nfrom decimal import Decimal\n"
            "import adapters.localnet.instruments as listed\n"  # before anything binds its default
            "listed.DEFAULT_INSTRUMENTS = tuple(listed.InstrumentSpec(c, d, lev, Decimal(m)) "
            "for c, d, lev, m in json.loads(sys.argv[1]))\n"
            "from adapters.localnet.server import serve\n"
            f"serve(port={self.port}, seed={seed})\n"
        )
        self._process = subprocess.Popen(
            [sys.executable, "-c", code, json.dumps(specs)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


@contextlib.asynccontextmanager
async def fidelity_rig(
    history: History, followers: Sequence[Decimal], *, leader_usdc: Decimal, seed: int
) -> AsyncIterator[Rig]:
    """A localnet process with the recording's markets, prices still (no random walk), a funded leader,
    followers with the given equities, and the real runner copying them at 100 %."""
    import hyperliquid.exchange as sdk_exchange

    logging.getLogger().setLevel(logging.ERROR)
    sdk_exchange.get_timestamp_ms = sdk_nonce
    net = FixtureLocalnet(history, seed)
    try:
        with tempfile.TemporaryDirectory(prefix="mirrorbot-fidelity-") as tmp:
            await asyncio.to_thread(net.wait_ready)
            async with httpx.AsyncClient() as http:  # prices move only when the replay sets them
                answer = await http.post(f"{net.url}/_localnet", json={"type": "priceWalk", "intervalMs": 0})
                answer.raise_for_status()
            base = min(followers)
            rig = await open_rig(
                net.url, Path(tmp), len(followers), leader_usdc=leader_usdc, follower_usdc=base
            )
            try:
                for address, equity in zip(rig.followers, followers, strict=True):
                    if equity > base:
                        await rig.control({"type": "fund", "user": address, "usdc": str(equity - base)})
                assert rig.runner.copier is not None
                await rig.runner.copier.refresh_accounts()  # the engines see the equities just funded
                yield rig
            finally:
                await close_rig(rig)
    finally:
        net.stop()


@dataclass
class FollowerRun:
    address: str
    equity: Decimal
    ideal: dict[str, IdealPair] = field(default_factory=dict)
    positions: dict[str, Decimal] = field(default_factory=dict)
    tracking: Tracking = field(default_factory=Tracking)
    after_step: dict[int, Decimal] = field(default_factory=dict)  # position in the step's coin after it
    alerts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, reason)
    ledger_reasons: Counter[str] = field(default_factory=Counter)  # CopyInstruction.reason, nothing sent
    reason_with_order: Counter[str] = field(default_factory=Counter)  # a reason, and an order sent
    ledger_kinds: Counter[tuple[str, str, int]] = field(default_factory=Counter)  # (reason, event, revision)
    ratio_drift: list[Decimal] = field(default_factory=list)  # engine's ρ₀ vs the ideal's, per open/flip
    orders: int = 0  # intents sent
    partial: int = 0  # IOCs filled less than their size
    rejected: int = 0
    expected_positions: dict[int, Decimal] = field(default_factory=dict)  # simulate, per step
    expected_final: dict[str, Decimal] = field(default_factory=dict)
    expected_orders: int = 0
    expected_deferred: int = 0

    def ideals(self) -> dict[str, Decimal]:
        return {coin: pair.target for coin, pair in self.ideal.items()}


@dataclass
class FidelityResult:
    history: History
    leader_usdc: Decimal
    followers: list[FollowerRun]
    leader_trades: int = 0
    leader_skipped: dict[int, str] = field(default_factory=dict)  # step → the change the venue refused
    unconfirmed: int = 0  # trades whose copy did not finish within the timeout
    seconds: float = 0.0


class Replayer:
    """Drives the leader through the history and samples the followers after every trade."""

    def __init__(self, rig: Rig, info: InfoClient, result: FidelityResult) -> None:
        self.rig = rig
        self.info = info
        self.result = result
        self.alerts = rig.runner.alerts.subscribe()  # drained after every trade: the queue is bounded
        self.mids: dict[str, Decimal] = {}
        self.leader: dict[str, Decimal] = {}

    async def set_mid(self, coin: str, px: Decimal) -> None:
        answer = await self.rig.control({"type": "setMids", "mids": {coin: str(px)}})
        self.mids[coin] = Decimal(answer["mids"][coin])

    async def trade(self, step: int, coin: str, new: Decimal, px: Decimal) -> None:
        await self.set_mid(coin, px)
        old = self.leader.get(coin, ZERO)
        if new == old:
            return
        ratios: list[Decimal | None] = [None] * len(self.result.followers)
        if is_open_or_flip(old, new):  # ρ(now) = E_F / E_S × k/100 (k = 100), as the venue reports them
            states = await asyncio.gather(
                self.info.account_state(self.rig.leader_address),
                *(self.info.account_state(f.address) for f in self.result.followers),
            )
            ratios = [s.equity / states[0].equity for s in states[1:]]
        error = await asyncio.to_thread(self._leader_order, coin, old, new)
        if error is not None:
            if "minimum value" not in error:
                raise RuntimeError(f"leader order refused at step {step} ({coin} {old} → {new}): {error}")
            self.result.leader_skipped[step] = f"{coin} {old} → {new}"
            return
        self.result.leader_trades += 1
        actual = (await self.info.account_state(self.rig.leader_address)).size(coin)
        self.leader[coin] = actual
        if not await self._copied(coin, actual):
            self.result.unconfirmed += 1
        states = await asyncio.gather(*(self.info.account_state(f.address) for f in self.result.followers))
        for follower, ratio, state in zip(self.result.followers, ratios, states, strict=True):
            ideal = follower.ideal.setdefault(coin, IdealPair())
            ideal.move(actual, ratio)
            locked = self._engine_ratio(follower.address, coin)
            if ratio is not None and locked is not None and ideal.ratio:
                follower.ratio_drift.append(abs(locked - ideal.ratio) / ideal.ratio)
            follower.positions[coin] = state.size(coin)
            follower.after_step[step] = state.size(coin)
            follower.tracking.sample(follower.positions, follower.ideals(), self.mids)
        _count_alerts(self.alerts, self.result.followers)

    def _engine_ratio(self, follower: str, coin: str) -> Decimal | None:
        """ρ₀ as the bot's engine locked it (in-process read, after the copy)."""
        assert self.rig.runner.copier is not None
        desk = self.rig.runner.copier.desks.get(follower)
        pair = desk.engine.pairs.get(coin) if desk is not None else None
        return pair.ratio if pair is not None else None

    def _leader_order(self, coin: str, old: Decimal, new: Decimal) -> str | None:
        """One IOC through the SDK (a close as the SDK's reduce-only `market_close`, which the venue
        takes below $10); the venue's error text, or None when it filled."""
        sdk = self.rig.sdk
        if new == 0:
            answer = sdk.market_close(coin)
        else:  # the SDK takes sizes as floats; every recorded size has ≤ 6 decimals, exact in a float
            answer = sdk.market_open(coin, new > old, float(abs(new - old)))
        status = answer["response"]["data"]["statuses"][0]
        return None if "filled" in status else str(status.get("error", status))

    async def _copied(self, coin: str, leader_size: Decimal) -> bool:
        """Every follower's engine has seen the leader at `leader_size` and the copier is idle (in-process
        reads: a deferred copy sends nothing, so counting orders cannot tell)."""
        copier = self.rig.runner.copier
        assert copier is not None
        deadline = time.monotonic() + COPY_TIMEOUT_S
        while time.monotonic() < deadline:
            pairs = [desk.engine.pairs.get(coin) for desk in copier.desks.values()]
            if copier.idle and all(p is not None and p.source_size == leader_size for p in pairs):
                return True
            await asyncio.sleep(0.002)
        return False


async def replay(
    limit: int | None = None,
    followers: Sequence[Decimal] = DEFAULT_FOLLOWERS,
    *,
    leader_usdc: Decimal = DEFAULT_LEADER_USDC,
    seed: int = 7,
) -> FidelityResult:
    history = load_history(limit)
    started = time.monotonic()
    async with fidelity_rig(history, followers, leader_usdc=leader_usdc, seed=seed) as rig:
        runs = [FollowerRun(a, e) for a, e in zip(rig.followers, followers, strict=True)]
        result = FidelityResult(history, leader_usdc, runs)
        async with InfoClient(rig.url) as info:
            replayer = Replayer(rig, info, result)
            for coin, (size, px) in history.openings().items():  # step 0: build what the history starts with
                await replayer.trade(0, coin, size, px)
            for step, change in enumerate(history.changes, start=1):
                assert change.avg_px is not None
                await replayer.trade(step, change.coin, change.new, change.avg_px)
        await _count_ledger(rig, runs)
        await _count_venue(rig, runs)
    for run in runs:
        _expect(history, run, leader_usdc, skipped=set(result.leader_skipped))
    result.seconds = time.monotonic() - started
    return result


async def _count_ledger(rig: Rig, runs: list[FollowerRun]) -> None:
    """Reasons of the decisions that sent nothing; a decision with a reason *and* an order (a flip too
    small to open: the reduce-only close to 0 is sent, the new side deferred) is counted apart."""
    by_address = {r.address: r for r in runs}
    async with AsyncSession(rig.ledger.engine) as session:
        sent: set[str] = set()
        for intent in (await session.exec(select(OrderIntent))).all():
            sent.add(intent.instruction_id)
            if intent.account in by_address:
                by_address[intent.account].orders += 1
        for row in (await session.exec(select(CopyInstruction))).all():
            run = by_address.get(row.follower)
            if row.reason is None or run is None:
                continue
            if row.id in sent:
                run.reason_with_order[row.reason] += 1
            else:
                run.ledger_reasons[row.reason] += 1
            run.ledger_kinds[(row.reason, str(row.event_kind), row.revision)] += 1


async def _count_venue(rig: Rig, runs: list[FollowerRun]) -> None:
    """IOC outcomes as the localnet saw them: partial fills against the intent's size, refusals."""
    by_address = {r.address: r for r in runs}
    sizes: dict[str, Decimal] = {}
    async with AsyncSession(rig.ledger.engine) as session:
        for intent in (await session.exec(select(OrderIntent))).all():
            sizes[intent.cloid] = intent.size
    for request in await rig.follower_orders():
        run = by_address[request["user"]]
        for cloid, status in zip(request["cloids"], request["statuses"], strict=False):
            if "filled" in status:
                if cloid in sizes and Decimal(str(status["filled"]["totalSz"])) < sizes[cloid]:
                    run.partial += 1
            else:
                run.rejected += 1


def _count_alerts(queue: asyncio.Queue[Alert], runs: list[FollowerRun]) -> None:
    by_address = {r.address: r for r in runs}
    while not queue.empty():
        alert = queue.get_nowait()
        if alert.follower in by_address and alert.kind is not AlertKind.COPIED:
            by_address[alert.follower].alerts[(alert.kind.value, alert.reason)] += 1


def _expect(history: History, run: FollowerRun, leader_usdc: Decimal, *, skipped: set[int]) -> None:
    """What `mirrorbot simulate --fills` says for this follower: the engine alone, every order filled at
    the recorded price, equities as funded. Orders and deferrals of the steps the live leader could not
    trade (below $10) are not counted: live, those changes arrive merged into the coin's next one."""
    lines = FillReplay(history.changes, history.markets, equity=run.equity, source_equity=leader_usdc).run()
    for line in lines:
        step, coin = int(str(line["step"])), str(line["coin"])
        position = Decimal(str(line["position"]))
        if step > 0:
            run.expected_positions[step] = position
        run.expected_final[coin] = position
        if step not in skipped:
            run.expected_orders += line["order"] is not None
            run.expected_deferred += line["reason"] == DEFERRED


# --- the report -----------------------------------------------------------------------------------


def report(result: FidelityResult) -> list[str]:
    h = result.history
    out = [
        f"history: {len(h.fills)} fills → {len(h.changes)} source changes over {len(h.markets)} coins; "
        f"leader ${result.leader_usdc:,} equity, {result.leader_trades} trades "
        f"({len(h.openings())} opening the recorded start), {len(result.leader_skipped)} changes the venue "
        f"refused (below $10: the leader carries them to its next change), "
        f"{result.unconfirmed} copies unconfirmed; {result.seconds:.1f} s",
    ]
    for step, change in result.leader_skipped.items():
        out.append(f"  leader skipped step {step}: {change}")
    for run in result.followers:
        out += _follower_lines(run, h)
    return out


def _follower_lines(run: FollowerRun, h: History) -> list[str]:
    t = run.tracking
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(run.ledger_reasons.items())) or "none"
    reasons += "".join(f" (+{v} {k} with an order sent)" for k, v in sorted(run.reason_with_order.items()))
    alerts = ", ".join(f"{k}/{r} {v}" for (k, r), v in sorted(run.alerts.items())) or "none"
    by_event: Counter[str] = Counter()
    for (reason, event, _revision), count in run.ledger_kinds.items():
        if reason == DEFERRED:
            by_event[event] += count
    deferred = ", ".join(f"{e} {n}" for e, n in by_event.most_common()) or "none"
    out = [
        "",
        f"follower ${run.equity:,}: orders sent {run.orders} (IOC partial {run.partial}, refused "
        f"{run.rejected}); ledger reasons: {reasons}; alerts: {alerts}",
        f"  deferred by source event: {deferred}; ρ₀ engine vs ideal at {len(run.ratio_drift)} opens/flips: "
        f"max {percent(max(run.ratio_drift, default=None))} % apart",
        f"  whole book, notional-weighted per trade: mean {percent(mean(t.book))} %, "
        f"max {percent(max(t.book) if t.book else None)} % ({len(t.book)} samples); "
        f"held while the ideal was flat: {sum(len(c.absolute_usd) for c in t.coins.values())} samples, "
        f"max ${usd(a for c in t.coins.values() for a in c.absolute_usd)}",
        f"  {'coin':<6} {'samples':>7} {'mean %':>8} {'max %':>8} {'wtd %':>8} {'max $ err':>10} "
        f"{'final p':>12} {'final τ':>14}",
    ]
    for coin in h.coins:
        c = t.coins.get(coin)
        if c is None:
            continue
        final_tau = run.ideal[coin].target if coin in run.ideal else ZERO
        out.append(
            f"  {coin:<6} {len(c.relative):>7} {percent(c.mean):>8} {percent(c.max):>8} "
            f"{percent(c.weighted):>8} {usd(c.error_usd):>10} {run.positions.get(coin, ZERO):>12} "
            f"{final_tau:>14.6g}"
        )
    out.append("  " + _cross_check(run, h))
    return out


def _cross_check(run: FollowerRun, h: History) -> str:
    steps = sorted(set(run.after_step) & set(run.expected_positions))
    lots = {
        s: abs(run.after_step[s] - run.expected_positions[s]) / h.markets[h.changes[s - 1].coin].lot
        for s in steps
    }
    differing = [s for s in steps if lots[s] != 0]
    final = max(
        (abs(run.positions.get(c, ZERO) - p) / h.markets[c].lot for c, p in run.expected_final.items()),
        default=ZERO,
    )
    deferred = run.ledger_reasons[DEFERRED] + run.reason_with_order[DEFERRED]  # simulate counts both
    return (
        f"vs simulate --fills: {len(steps) - len(differing)}/{len(steps)} steps at the same position, "
        f"{len(differing)} differ (max {max(lots.values(), default=ZERO):.0f} lots); final max "
        f"{final:.0f} lots; orders {run.orders} live / {run.expected_orders} simulated; deferred "
        f"{deferred} live / {run.expected_deferred} simulated"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fidelity", description=__doc__.splitlines()[0])
    parser.add_argument("--fills", type=int, default=None, help="replay only the first N fills (default all)")
    parser.add_argument(
        "--followers",
        default=",".join(str(e) for e in DEFAULT_FOLLOWERS),
        help="follower equities in USD, comma-separated",
    )
    parser.add_argument("--leader-usdc", default=str(DEFAULT_LEADER_USDC), help="the leader's equity (USD)")
    parser.add_argument("--seed", type=int, default=7, help="the localnet's seed")
    args = parser.parse_args(argv)
    try:
        followers = [Decimal(x) for x in args.followers.split(",")]
        leader = Decimal(args.leader_usdc)
    except ArithmeticError:
        parser.error("--followers and --leader-usdc take decimals (USD)")
    if not followers or any(not e.is_finite() or e <= 0 for e in [*followers, leader]):
        parser.error("--followers and --leader-usdc must be > 0")
    print(f"machine: {machine()}")
    result = asyncio.run(replay(args.fills, followers, leader_usdc=leader, seed=args.seed))
    print("\n".join(report(result)))
    return 0 if result.unconfirmed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
