"""Different sources' changes of one coin are mirrored concurrently; one source's stay in order (issue
#15: docs/benchmarks.md, "Scale" — the mirror ran each coin's changes one after another, so 100 sources
trading ETH in one batch were mirrored one by one). The real runner on the localnet; the order manager's
send is observed (and held) on its way to the venue, never replaced: every order reaches the venue."""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal

from bot.domain import OrderRequest, OrderResult, SourceChange, TradingAccount
from bot.ledger.ids import normalise_account
from bot.pipeline.copier import Copier
from bot.pipeline.execute import now_ms
from tests.e2e.support import World

ETH = "ETH"
# How long the first order is held, at most, waiting for the second: the concurrent mirror sends the
# second within it; a mirror taking the changes one after another never does (the second waits for the
# first). The tests assert the order of events, never a time.
HOLD_S = 5.0


def change(source: str, old: str, new: str, n: int) -> SourceChange:
    return SourceChange(source, ETH, Decimal(old), Decimal(new), now_ms(), f"test:{source}:{ETH}:{n}")


def hold_first_order(copier: Copier, events: list[str], hold_s: float) -> None:
    """The order manager's sends, as they reach the venue: the first order is held until a second
    arrives (or `hold_s` passed); `events` says what arrived and when the first went on."""
    send = copier.oms.send
    second = asyncio.Event()

    async def held(account: TradingAccount, request: OrderRequest) -> OrderResult:
        side = "buy" if request.is_buy else "sell"
        what = f"{normalise_account(account.address)} {side} {request.size.normalize():f}"
        events.append(f"arrived: {what}")
        if len(events) == 1:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(second.wait(), hold_s)
            events.append(f"sent on: {what}")
        else:
            second.set()
        return await send(account, request)

    copier.oms.send = held  # type: ignore[method-assign]


async def test_two_sources_changes_of_one_coin_are_mirrored_concurrently(world: World) -> None:
    await world.set_mids(ETH="3000")
    a, b = [(await world.leader("100000")).address for _ in range(2)]
    fa, fb = [await world.master_follower("1000") for _ in range(2)]  # ρ = 0.01 each
    await world.follow(fa, a)
    await world.follow(fb, b)
    runner = await world.start_runner()
    assert runner.copier is not None
    events: list[str] = []
    hold_first_order(runner.copier, events, HOLD_S)

    await runner.copier.on_changes([change(a, "0", "10", 1), change(b, "0", "10", 1)], {})

    # b's order reached the venue while a's was held: b's change did not wait for a's.
    assert events == [f"arrived: {fa} buy 0.1", f"arrived: {fb} buy 0.1", f"sent on: {fa} buy 0.1"]
    await world.follower_at(fa, ETH, "0.1")
    await world.follower_at(fb, ETH, "0.1")


async def test_one_source_s_changes_of_a_coin_stay_in_order(world: World) -> None:
    await world.set_mids(ETH="3000")
    a = (await world.leader("100000")).address
    fa = await world.master_follower("1000")
    await world.follow(fa, a)
    runner = await world.start_runner()
    assert runner.copier is not None
    events: list[str] = []
    hold_first_order(runner.copier, events, HOLD_S / 10)  # the second must not come: held for nothing

    await runner.copier.on_changes([change(a, "0", "10", 1), change(a, "10", "4", 2)], {})

    # The second change was decided after the first's order went on, against the position it left.
    assert events == [f"arrived: {fa} buy 0.1", f"sent on: {fa} buy 0.1", f"arrived: {fa} sell 0.06"]
    await world.follower_at(fa, ETH, "0.04")


async def test_followers_of_both_sources_of_a_coin_are_locked_by_both_fan_outs_without_deadlock(
    world: World,
) -> None:
    """Two followers follow a (every token but BTC) and b (BTC: a token follows one source at a time,
    SPEC §2), a third follows b: both ETH fan-outs lock the first two's ETH pairs, in the desks' order,
    so they run one after the other there and never wait on each other; each follower ends where its
    sources put it, with one order."""
    await world.set_mids(ETH="3000", BTC="60000")
    a, b = [(await world.leader("100000")).address for _ in range(2)]
    both = [await world.master_follower("1000") for _ in range(2)]
    only_b = await world.master_follower("1000")
    for follower in both:
        await world.follow(follower, a)
        await world.follow(follower, b, tokens=["BTC"])
    await world.follow(only_b, b)
    runner = await world.start_runner()
    assert runner.copier is not None
    events: list[str] = []
    hold_first_order(runner.copier, events, 0)  # observed, not held

    changes = [change(a, "0", "10", 1), change(b, "0", "10", 1)]
    await asyncio.wait_for(runner.copier.on_changes(changes, {}), 60)  # a deadlock fails, not hangs

    arrived = sorted(e for e in events if e.startswith("arrived"))
    assert arrived == sorted(f"arrived: {f} buy 0.1" for f in [*both, only_b])
    for follower in [*both, only_b]:
        await world.follower_at(follower, ETH, "0.1")
    assert world.ledger is not None
    for follower in both:
        decided = await world.ledger.coin_decisions([follower], ETH, 10)
        reasons = {d.source: d.reason for d in decided if d.source_event_id.startswith("test:")}
        assert reasons[a] is None and reasons[b] == "token_excluded", reasons
