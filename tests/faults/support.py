"""What every fault test shares: a leader and a follower on the localnet with the real Runner, the
injected fault, and the acceptance checks of issue #5 — the follower's venue position equals q(τ) (the
engine's target in lots) for every pair, no order executed twice (the localnet's `stats`), and the
fault's reason code published on the AlertBus."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from adapters.hyperliquid.budget import ReadRetry
from adapters.hyperliquid.venue import HyperliquidVenue
from bot.alerts import Alert, AlertKind
from bot.pipeline.oms import RetryPolicy
from bot.pipeline.runner import Runner, RunnerOptions
from strategies.num import q_lot
from tests.e2e.support import QUIET, Leader, World
from tests.waiting import wait_until

# Fast rules for tests: a short not-found grace window, quick read retries (the seeded 429/5xx draws of
# seed 3 never fail more than 5 reads in a row).
POLICY = RetryPolicy(not_found_grace_s=0.3, lookup_interval_s=0.05)
OPTIONS = replace(QUIET, policy=POLICY)
READ_RETRY = ReadRetry(retries=6, base_s=0.02, cap_s=0.2)
EXECUTED = ("ok", "rejected")  # stats outcomes of requests the venue processed (not refused by HTTP)


@dataclass
class Pair:
    world: World
    leader: Leader
    follower: str
    runner: Runner

    @property
    def source(self) -> str:
        return self.leader.address

    @property
    def venue(self) -> HyperliquidVenue:
        venue = self.runner.venue
        assert isinstance(venue, HyperliquidVenue)
        return venue


async def start(
    world: World, *, options: RunnerOptions = OPTIONS, follower_usdc: str = "1000", **venue: Any
) -> Pair:
    """ETH at 3000; a leader with 100,000 and a follower with 1,000 following it (ρ = 0.01)."""
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower(follower_usdc)
    await world.follow(follower, leader.address)
    venue.setdefault("read_retry", READ_RETRY)
    runner = await world.start_runner(options, **venue)
    await subscribed(runner)
    return Pair(world, leader, follower, runner)


async def subscribed(runner: Runner) -> None:
    """The venue has acknowledged the fills subscriptions: a fill from now on is a live push (which
    the injected websocket faults act on), not something the connection's backfill reads."""
    assert isinstance(runner.venue, HyperliquidVenue)
    sockets = runner.venue.sockets

    async def probe() -> bool:
        return bool(sockets) and all(s.acknowledged.is_set() for s in sockets)

    await wait_until(probe, "the fills websocket subscribed")


async def fault(world: World, **fields: Any) -> dict[str, Any]:
    return await world.control({"type": "fault", **fields})


async def alert(world: World, reason: str, kind: AlertKind | None = None, *, within: float = 10.0) -> Alert:
    """The first alert published with `reason` (and `kind`), waited for."""

    def found() -> Alert | None:
        return next(
            (a for a in world.alerts.recent if a.reason == reason and (kind is None or a.kind is kind)), None
        )

    async def probe() -> bool:
        return found() is not None

    await wait_until(probe, f"an alert {reason!r}", within=within)
    result = found()
    assert result is not None
    return result


async def idle(pair: Pair) -> None:
    """The copier has finished with what it took in."""
    copier = pair.runner.copier
    assert copier is not None

    async def probe() -> bool:
        return copier.idle

    await wait_until(probe, "the copier idle")


def targets(pair: Pair) -> dict[str, Decimal]:
    """q(τ) per coin: the engine's target rounded to the venue's lots."""
    copier = pair.runner.copier
    assert copier is not None
    engine = copier.desks[pair.follower].engine
    return {
        coin: q_lot(state.target, copier.markets[coin].sz_decimals)
        for coin, state in engine.pairs.items()
        if state.source is not None or state.target != 0
    }


async def converged(pair: Pair, expected: dict[str, str]) -> None:
    """Every pair's venue position equals q(τ), and q(τ) is what the spec's method gives."""
    await idle(pair)
    lots = targets(pair)
    for coin, size in expected.items():
        assert lots.get(coin) == Decimal(size), (coin, lots)
    for coin, target in lots.items():
        await wait_until(
            lambda coin=coin: pair.world.position(pair.follower, coin),  # type: ignore[misc]
            f"{coin} at q(τ) = {target}",
            equals=target,
        )


async def executed_cloids(world: World) -> Counter[str]:
    """How many times the venue processed each cloid (requests refused by an HTTP error did not run)."""
    counts: Counter[str] = Counter()
    for request in await world.stats():
        if request["outcome"] in EXECUTED:
            counts.update(request["cloids"])
    return counts


async def no_duplicate_orders(world: World) -> Counter[str]:
    counts = await executed_cloids(world)
    assert counts and max(counts.values()) == 1, counts
    return counts


async def requests_of(world: World, cloid: str) -> list[dict[str, Any]]:
    return [r for r in await world.stats() if cloid in r["cloids"]]


async def held_leader_trade(pair: Pair, size: str, **faults: Any) -> None:
    """The leader trades to `size` while its fill push is held back; the faults are set; then the push
    is released, so the bot meets the faults with its order and the leader did not."""
    await fault(pair.world, holdWsFills=1)
    await pair.world.leader_to(pair.leader, "ETH", size)
    await fault(pair.world, **faults)
    assert (await fault(pair.world, releaseWsFills=True))["releasedWsFills"] == 1


async def follower_orders(world: World, follower: str) -> list[dict[str, Any]]:
    return [r for r in await world.stats() if r["user"] == follower.lower() and r["action"] == "order"]
