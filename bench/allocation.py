"""Allocation vs mirror (issue #17, SPEC §9): a source's history replayed live on the localnet into two
followers of the same equity in one real `Runner`: one on the mirror method, one in portfolio-allocation
mode. It prints, for each, the orders, fills and fees per day, and how far its book is from the
source's current portfolio (the tracking difference).

The history is either `synthetic` (the default: a seeded trader on ETH, BTC and SOL changing one
position every `--step-minutes` of simulated time for `--days`, prices walking ±0.3 % a step) or the
`recording` (the repo's real 500 fills, which span only minutes: a burst, so its "per day" figures
are per its own span). The leader replays it exactly as `bench.fidelity` does (same rig, `setMids` to
each change's price first). Rebalance ticks follow the history's own clock: the allocation follower
gets a tick at the first `rebalance_every` boundary (default 15 min) after each change, if the next
change comes later (prices and the source stand still in between, so later boundaries change
nothing). After every leader trade and every tick, per follower: the book error
Σ|p − ρ(now)·s|·mid / Σ|ρ(now)·s|·mid, with ρ(now) = E_F / E_S as the venue reports the equities at
that moment (the allocation's target, which the mirror's locked ρ₀ drifts from), and the two followers'
difference Σ|p_alloc − p_mirror|·mid over the mirror's notional (while the source is flat: 0 % when
the follower is flat too, else 100 %). Means are time-weighted over the history's clock (a state
counts for as long as it lasted). Fills and fees are the venue's own.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from random import Random

from adapters.hyperliquid.info import InfoClient
from bench.fidelity import FidelityResult, Replayer, fidelity_rig
from bench.fidelity_model import SOURCE, ZERO, History, load_history, mean, percent
from bench.rig import ACTOR, Rig
from bot.domain import SourceChange
from bot.service import MirrorService
from strategies.model import Market
from strategies.num import q_lot

DEFAULT_EQUITY = Decimal(10_000)
DEFAULT_LEADER_USDC = Decimal(100_000)
DAY_MS = 86_400_000
MINUTE_MS = 60_000
MIN_ORDER_USD = Decimal(12)  # the leader's own orders stay above the venue's $10 minimum
# The synthetic trader's markets and starting prices (the localnet's lots and leverage).
SYNTHETIC = {"ETH": (Market("ETH", 4, 25), Decimal(3000)), "BTC": (Market("BTC", 5, 40), Decimal(60000))}
SYNTHETIC |= {"SOL": (Market("SOL", 2, 20), Decimal(150))}


def synthetic_history(days: int, step_minutes: int, seed: int) -> tuple[History, int]:
    """A seeded trader: every step one coin's position opens ($2k–$15k), grows or shrinks by 10–60 %,
    closes or flips; prices walk ±0.3 % a step. The history and its span (ms)."""
    rng = Random(seed)
    markets = {coin: market for coin, (market, _) in SYNTHETIC.items()}
    mids = {coin: px for coin, (_, px) in SYNTHETIC.items()}
    held = dict.fromkeys(markets, ZERO)
    changes: list[SourceChange] = []
    steps = days * 24 * 60 // step_minutes
    for step in range(steps):
        coin = rng.choice(sorted(markets))
        mids[coin] = (mids[coin] * Decimal(1 + rng.uniform(-0.003, 0.003))).quantize(Decimal("0.01"))
        old, mid, lot = held[coin], mids[coin], markets[coin].sz_decimals
        roll = rng.random()
        if old == 0:
            new = Decimal(rng.uniform(2_000, 15_000)) / mid * rng.choice((-1, 1))
        elif roll < 0.45:
            new = old * Decimal(1 + rng.uniform(0.1, 0.6))
        elif roll < 0.85:
            new = old * Decimal(1 - rng.uniform(0.1, 0.6))
        elif roll < 0.95:
            new = ZERO
        else:
            new = -old
        new = q_lot(new, lot)
        if new != 0 and abs(new - old) * mid < MIN_ORDER_USD:
            continue
        held[coin] = new
        time_ms = step * step_minutes * MINUTE_MS
        changes.append(SourceChange(SOURCE, coin, old, new, time_ms, f"synthetic:{step}", mid))
    return History([], changes, markets), days * DAY_MS


NEVER_S = 86_400  # the runner's own job never fires during a replay: the bench ticks on the recording's clock


@dataclass
class Book:
    """One follower's side of the comparison."""

    name: str
    address: str
    errors: list[tuple[int, Decimal]] = field(default_factory=list)  # (at ms, book error vs ρ(now)·s)
    orders: int = 0
    fills: int = 0
    fees: Decimal = ZERO
    positions: dict[str, Decimal] = field(default_factory=dict)


@dataclass
class AllocationResult:
    history: History
    span_ms: int
    equity: Decimal
    leader_usdc: Decimal
    band_pct: Decimal
    trigger_pct: Decimal
    every_s: int
    mirror: Book
    allocation: Book
    ticks: int = 0
    difference: list[tuple[int, Decimal]] = field(default_factory=list)  # Σ|p_a − p_m|·mid / |p_m|·mid
    seconds: float = 0.0

    final_drift: dict[str, Decimal] = field(default_factory=dict)  # allocation, after the last tick: $
    lots: dict[str, Decimal] = field(default_factory=dict)  # allocation, after the last tick: one lot, $

    @property
    def days(self) -> Decimal:
        return Decimal(self.span_ms) / DAY_MS


def recorded_history(limit: int | None) -> tuple[History, int]:
    history = load_history(limit)
    return history, history.fills[-1].time_ms - history.fills[0].time_ms


async def _to_allocation(rig: Rig, address: str, band: Decimal, trigger: Decimal) -> None:
    """The second follower's plan switched to allocation before anything is copied (nothing resized)."""
    service = MirrorService(rig.ledger)
    await service.follow_update(
        ACTOR,
        address,
        rig.leader_address,
        check_venue=False,
        strategy="allocation",
        rebalance_band_pct=str(band),
        rebalance_trigger_pct=str(trigger),
        rebalance_every=NEVER_S,
    )
    await rig.runner.sync_plans()


def weighted(samples: list[tuple[int, Decimal]], end_ms: int) -> Decimal | None:
    """The time-weighted mean: each sample lasts until the next one (the last until `end_ms`)."""
    if not samples:
        return None
    times = [at for at, _ in samples[1:]] + [max(end_ms, samples[-1][0])]
    spans = [Decimal(until - at) for (at, _), until in zip(samples, times, strict=True)]
    total = sum(spans, ZERO)
    if total == 0:
        return mean([value for _, value in samples])
    return sum((value * span for (_, value), span in zip(samples, spans, strict=True)), ZERO) / total


async def _sample(
    rig: Rig, info: InfoClient, replayer: Replayer, result: AllocationResult, at_ms: int
) -> None:
    leader, *states = await asyncio.gather(
        info.account_state(rig.leader_address),
        info.account_state(result.mirror.address),
        info.account_state(result.allocation.address),
    )
    books = (result.mirror, result.allocation)
    coins = [c for c in result.history.coins if c in replayer.mids]
    for book, state in zip(books, states, strict=True):
        ratio = state.equity / leader.equity
        error = notional = ZERO
        for coin in coins:
            ideal, p, mid = ratio * leader.size(coin), state.size(coin), replayer.mids[coin]
            book.positions[coin] = p
            if book is result.allocation:
                lot = result.history.markets[coin].sz_decimals
                result.final_drift[coin] = abs(q_lot(ideal, lot) - p) * mid
                result.lots[coin] = Decimal(1).scaleb(-lot) * mid
            error += abs(p - ideal) * mid
            notional += abs(ideal) * mid
        # A flat source: 0 when the follower is flat too, else 100 % (it holds what it should not).
        book.errors.append((at_ms, error / notional if notional else Decimal(error != 0)))
    apart = sum(
        (abs(result.allocation.positions[c] - result.mirror.positions[c]) * replayer.mids[c] for c in coins),
        ZERO,
    )
    held = sum((abs(result.mirror.positions[c]) * replayer.mids[c] for c in coins), ZERO)
    result.difference.append((at_ms, apart / held if held else Decimal(apart != 0)))


async def _tick(rig: Rig, result: AllocationResult) -> None:
    rebalancer = rig.runner.rebalancer
    assert rebalancer is not None
    await rebalancer.tick(result.allocation.address, rig.leader_address)
    result.ticks += 1


async def _venue_counts(rig: Rig, book: Book) -> None:
    book.orders = len([r for r in await rig.follower_orders() if r["user"] == book.address])
    fills = await rig.info({"type": "userFills", "user": book.address})
    book.fills = len(fills)
    book.fees = sum((Decimal(str(f["fee"])) for f in fills), ZERO)


async def replay(
    history: History,
    span_ms: int,
    *,
    equity: Decimal = DEFAULT_EQUITY,
    leader_usdc: Decimal = DEFAULT_LEADER_USDC,
    band_pct: Decimal = Decimal(1),
    trigger_pct: Decimal = Decimal(5),
    every_s: int = 900,
    seed: int = 7,
) -> AllocationResult:
    started = time.monotonic()
    async with fidelity_rig(history, [equity, equity], leader_usdc=leader_usdc, seed=seed) as rig:
        mirror, alloc = rig.followers
        await _to_allocation(rig, alloc, band_pct, trigger_pct)
        result = AllocationResult(
            history,
            span_ms,
            equity,
            leader_usdc,
            band_pct,
            trigger_pct,
            every_s,
            Book("mirror", mirror),
            Book("allocation", alloc),
        )
        async with InfoClient(rig.url) as info:
            replayer = Replayer(rig, info, FidelityResult(history, leader_usdc, []))
            start = history.changes[0].time_ms if history.changes else 0
            for coin, (size, px) in history.openings().items():
                await replayer.trade(0, coin, size, px)
                await _sample(rig, info, replayer, result, start)
            period = every_s * 1000
            for step, change in enumerate(history.changes, start=1):
                assert change.avg_px is not None
                await replayer.trade(step, change.coin, change.new, change.avg_px)
                await _sample(rig, info, replayer, result, change.time_ms)
                boundary = (change.time_ms // period + 1) * period  # the next tick after this change
                following = history.changes[step].time_ms if step < len(history.changes) else None
                if following is None or following >= boundary:
                    await _tick(rig, result)
                    await _sample(rig, info, replayer, result, boundary)
        assert rig.runner.copier is not None
        await rig.runner.refresh_accounts()  # fills recorded; positions read
        for book in (result.mirror, result.allocation):
            await _venue_counts(rig, book)
    result.seconds = time.monotonic() - started
    return result


def report(result: AllocationResult) -> list[str]:
    h, days = result.history, result.days
    end = (h.changes[0].time_ms if h.changes else 0) + result.span_ms
    out = [
        f"history: {f'{len(h.fills)} recorded fills → ' if h.fills else ''}{len(h.changes)} source changes "
        f"over {len(h.coins)} coins in {days:.4g} days; followers ${result.equity:,} each "
        f"(ρ = {result.equity / result.leader_usdc}); "
        f"allocation band {result.band_pct} %, trigger {result.trigger_pct} %, tick every "
        f"{result.every_s} s of the history's clock ({result.ticks} ticks); {result.seconds:.1f} s",
        f"{'follower':<11} {'orders':>7} {'fills':>6} {'fees $':>9} {'orders/day':>11} {'fills/day':>10} "
        f"{'fees $/day':>11} {'book err wtd %':>16} {'max %':>8} {'final err %':>12}",
    ]

    def per_day(n: Decimal) -> Decimal:
        return n / days if days else n

    for book in (result.mirror, result.allocation):
        final = book.errors[-1][1] if book.errors else None
        errors = [value for _, value in book.errors]
        out.append(
            f"{book.name:<11} {book.orders:>7} {book.fills:>6} {book.fees:>9.2f} "
            f"{per_day(Decimal(book.orders)):>11.1f} {per_day(Decimal(book.fills)):>10.1f} "
            f"{per_day(book.fees):>11.2f} {percent(weighted(book.errors, end)):>16} "
            f"{percent(max(errors, default=None)):>8} {percent(final):>12}"
        )
    out.append(
        f"allocation vs mirror book, Σ|p_alloc − p_mirror|·mid / mirror notional: mean "
        f"{percent(weighted(result.difference, end))} %, "
        f"max {percent(max((value for _, value in result.difference), default=None))} % "
        f"({len(result.difference)} samples)"
    )
    band = max(Decimal(10), result.equity * result.band_pct / 100)
    worst = max(result.final_drift.items(), key=lambda kv: kv[1], default=("—", ZERO))
    out.append(
        f"allocation after its last tick: largest pair drift |q(ρ(now)·s) − p|·mid ${worst[1]:,.2f} "
        f"({worst[0]}); band ${band:,.2f}"
    )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.allocation", description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=("synthetic", "recording"), default="synthetic")
    parser.add_argument("--days", type=int, default=1, help="synthetic: simulated days")
    parser.add_argument("--step-minutes", type=int, default=10, help="synthetic: minutes between changes")
    parser.add_argument("--fills", type=int, default=None, help="recording: only the first N fills")
    parser.add_argument("--equity", default=str(DEFAULT_EQUITY), help="each follower's equity (USD)")
    parser.add_argument("--band", default="1", help="rebalance_band_pct")
    parser.add_argument("--trigger", default="5", help="rebalance_trigger_pct")
    parser.add_argument("--every", type=int, default=900, help="rebalance_every, seconds of the recording")
    parser.add_argument("--seed", type=int, default=7, help="the localnet's seed")
    args = parser.parse_args(argv)
    try:
        equity, band, trigger = Decimal(args.equity), Decimal(args.band), Decimal(args.trigger)
    except ArithmeticError:
        parser.error("--equity, --band and --trigger take decimals")
    if not equity.is_finite() or equity <= 0 or not 0 <= band <= trigger <= 100 or args.every < 1:
        parser.error("--equity > 0, 0 ≤ --band ≤ --trigger ≤ 100, --every ≥ 1")
    if args.days < 1 or args.step_minutes < 1:
        parser.error("--days ≥ 1, --step-minutes ≥ 1")
    if args.source == "synthetic":
        history, span_ms = synthetic_history(args.days, args.step_minutes, args.seed)
    else:
        history, span_ms = recorded_history(args.fills)
    result = asyncio.run(
        replay(
            history,
            span_ms,
            equity=equity,
            band_pct=band,
            trigger_pct=trigger,
            every_s=args.every,
            seed=args.seed,
        )
    )
    print("\n".join(report(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
