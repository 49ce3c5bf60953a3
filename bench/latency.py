"""Copy latency through the real pipeline on the localnet, one follower, with a stage breakdown.

    .venv/bin/python -m bench.latency [--trades 500] [--quiet-ms 20] [--profile]

The leader (through the unmodified SDK) alternately opens and closes 0.5 ETH; after each trade the
bench waits until the follower's order has reached the localnet, then trades again (one trade in
flight, so each follower order belongs to one leader trade). For each trade:
- from fill: the follower order's server receive time (`stats` recvNs) − the leader fill's venue `time`
  (ms resolution);
- from push: the same receive time − the moment the localnet handed the leader's `userFills` push to
  its websocket writer (`stats` with `"pushes": true`, ns);
- stages (bot side, `bench.stages`): push → intake hand-off (websocket transit + parsing + the
  `quiet_ms` batching window), the leader-event write, the mids read, the decision, the ledger writes
  before the send, signing, and the rest of `place` up to the venue's receipt (HTTP).
`--profile` runs cProfile over the timed part and prints the top functions by own time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
from dataclasses import dataclass
from decimal import Decimal

from bench.rig import DB_CHOICES, Bench, Rig, machine, percentile
from bench.stages import StageClock, instrument, stage_sums
from bot.pipeline.runner import RunnerOptions

COIN = "ETH"
SIZE = Decimal("0.5")
LEADER_USDC = Decimal(1_000_000)
FOLLOWER_USDC = Decimal(100_000)  # ρ = 0.1: 0.05 ETH ≈ $150 per copy, above the $10 minimum


@dataclass(frozen=True, slots=True)
class Trade:
    leader_oid: int
    recv_ns: int


@dataclass
class Result:
    from_fill_ms: list[float]
    from_push_ms: list[float]
    stages_ms: dict[str, list[float]]
    missed: int

    def lines(self) -> list[str]:
        out = [f"{'copy latency (ms)':<44}{'p50':>9}{'p99':>9}{'max':>9}{'n':>6}"]
        for name, values in (
            ("leader fill time -> follower order received", self.from_fill_ms),
            ("userFills push sent -> follower order received", self.from_push_ms),
        ):
            out.append(_row(name, values))
        out.append("stages (ms, per copy):")
        for name, values in self.stages_ms.items():
            out.append(_row(f"  {name}", values))
        if self.missed:
            out.append(f"trades without a follower order within 30 s: {self.missed}")
        return out


def _row(name: str, values: list[float]) -> str:
    if not values:
        return f"{name:<47}{'-':>9}{'-':>9}{'-':>9}{0:>6}"
    return (
        f"{name:<47}{percentile(values, 50):>9.2f}{percentile(values, 99):>9.2f}"
        f"{max(values):>9.2f}{len(values):>6}"
    )


async def measure(
    trades: int, quiet_ms: int, *, db: str = "sqlite", profile: cProfile.Profile | None = None
) -> Result:
    async with Bench(1, leader_usdc=LEADER_USDC, follower_usdc=FOLLOWER_USDC, db=db) as rig:
        assert rig.runner.intake is not None
        rig.runner.intake.quiet_s = quiet_ms / 1000
        clock = instrument(rig.runner)
        try:
            done, missed = await _trade(rig, trades, profile)
            pushes = (await rig.control({"type": "stats", "since": 2**62, "pushes": True}))["fillPushes"]
            fills = await rig.info({"type": "userFills", "user": rig.leader_address})
        finally:
            clock.restore()
    fill_ms: dict[int, int] = {}
    for fill in fills:
        fill_ms[fill["oid"]] = min(fill["time"], fill_ms.get(fill["oid"], fill["time"]))
    push_ns: dict[int, int] = {}
    for push in pushes:
        if push["user"] == rig.leader_address:
            for oid in push["oids"]:
                push_ns.setdefault(oid, push["sentNs"])
    result = Result([], [], {}, missed)
    for trade in done:
        if trade.leader_oid in fill_ms:
            result.from_fill_ms.append(trade.recv_ns / 1e6 - fill_ms[trade.leader_oid])
        if trade.leader_oid in push_ns:
            sent = push_ns[trade.leader_oid]
            result.from_push_ms.append((trade.recv_ns - sent) / 1e6)
            _add_stages(result.stages_ms, clock, sent, trade.recv_ns)
    return result


async def _trade(rig: Rig, trades: int, profile: cProfile.Profile | None) -> tuple[list[Trade], int]:
    """Trade, wait for the copy in process (an attribute read: no HTTP polling on the bot's loop while
    it works), then read the localnet's receipt of the follower order once."""
    done: list[Trade] = []
    missed = 0
    seen = len(await rig.follower_orders())
    if profile is not None:
        profile.enable()
    try:
        for number in range(trades):
            sends = rig.sends
            oid = await rig.leader_order(COIN, number % 2 == 0, SIZE)
            if not await rig.copied(sends + 1):
                missed += 1
                continue
            orders = await rig.follower_orders()
            done.append(Trade(oid, orders[seen]["recvNs"]))
            seen = len(orders)
    finally:
        if profile is not None:
            profile.disable()
    return done, missed


def _add_stages(into: dict[str, list[float]], clock: StageClock, sent_ns: int, recv_ns: int) -> None:
    spans = clock.between(sent_ns, recv_ns)
    sums = stage_sums(spans)
    intake = [s for s in spans if s.stage == "intake.process"]
    handed = [s for s in spans if s.stage == "copier.on_changes"]
    places = [s for s in spans if s.stage == "venue.place"]
    if not (intake and handed and places):
        return
    ms = 1e-6
    stages = {
        "push -> intake hand-off (ws + quiet window)": (intake[0].start_ns - sent_ns) * ms,
        "mids (allMids feed; HTTP if stale)": sums.get("venue.mids", 0) * ms,
        "decision (engine.on_change)": sums.get("engine.on_change", 0) * ms,
        "ledger: event+decision+intent (1 tx)": sums.get("ledger.record_decisions", 0) * ms,
        "ledger: intent submitted (1 tx)": sums.get("ledger.mark_intents", 0) * ms,
        "signing (sign_l1_body)": sums.get("sign", 0) * ms,
        "place -> venue receipt, less signing": (recv_ns - places[0].start_ns - sums.get("sign", 0)) * ms,
    }
    accounted = sum(stages.values())
    stages["other (scheduling, glue)"] = (recv_ns - sent_ns) * ms - accounted
    for name, value in stages.items():
        into.setdefault(name, []).append(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=500, help="leader trades (each copied once)")
    parser.add_argument(
        "--quiet-ms", type=int, default=RunnerOptions().quiet_ms, help="the intake's batching window"
    )
    parser.add_argument("--db", default="sqlite", help=f"{' | '.join(DB_CHOICES)} | a ledger URL")
    parser.add_argument("--profile", action="store_true", help="cProfile the timed part (slows it)")
    args = parser.parse_args(argv)
    profile = cProfile.Profile() if args.profile else None
    print(f"machine: {machine()}")
    print(
        f"copy latency: {args.trades} leader trades, 1 follower, quiet_ms={args.quiet_ms}, ledger {args.db}"
    )
    result = asyncio.run(measure(max(args.trades, 1), args.quiet_ms, db=args.db, profile=profile))
    print("\n".join(result.lines()))
    if profile is not None:
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(25)
        print(text.getvalue())
    return 0 if result.from_push_ms else 1


if __name__ == "__main__":
    sys.exit(main())
