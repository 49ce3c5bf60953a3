"""The polling backstop against the real localnet: snapshots, position changes, failed polls, pacing."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.hyperliquid.budget import BudgetedInfoClient, WeightBudget
from adapters.hyperliquid.poller import Poller
from bot.domain import AccountState, SourceFill
from bot.normalise import changes_from_snapshots
from tests.conformance.harness import HyperliquidHarness, unique_sdk_nonce
from tests.hyperliquid.test_budget import FakeTime

D = Decimal


@pytest.fixture(autouse=True)
def unique_sdk_nonces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("hyperliquid.exchange.get_timestamp_ms", unique_sdk_nonce)


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[HyperliquidHarness]:
    made = HyperliquidHarness(tmp_path)
    yield made
    await made.aclose()


async def no_sleep(seconds: float) -> None:
    return None


async def take(poller: Poller, count: int) -> list[AccountState]:
    states: list[AccountState] = []
    async for state in poller.snapshots():
        states.append(state)
        if len(states) == count:
            break
    return states


async def test_snapshots_see_a_position_change_the_pipeline_can_diff(harness: HyperliquidHarness) -> None:
    leader, other = await harness.new_leader("50000"), await harness.new_leader("1000")
    async with BudgetedInfoClient(harness.url, WeightBudget()) as info:
        poller = Poller(info, [leader, other], sleep=no_sleep)
        before = await take(poller, 2)
        assert [s.address for s in before] == [leader, other]
        assert before[0].equity == D("50000") and before[0].positions == ()
        await harness.leader_trade(leader, "ETH", True, D("0.4"))
        (after,) = await take(poller, 1)
    assert after.size("ETH") == D("0.4")
    previous: dict[str, Decimal] = {}  # flat, as asserted above
    current = {p.coin: p.size for p in after.positions}
    (change,) = changes_from_snapshots(leader, previous, current, time_ms=after.time_ms, event_id="poll")
    assert (change.coin, change.old, change.new) == ("ETH", D(0), D("0.4"))


async def test_a_failed_poll_yields_nothing_rather_than_a_flat_account(harness: HyperliquidHarness) -> None:
    leader = await harness.new_leader()
    await harness.leader_trade(leader, "ETH", True, D("0.1"))
    async with BudgetedInfoClient(harness.url, WeightBudget()) as info:
        poller = Poller(info, [leader], sleep=no_sleep)
        await harness.fault(rate5xx=1, scope="info")
        assert await poller.poll(leader) is None
        assert poller.failures == 1
        await harness.fault(clear=True)
        (state,) = await take(poller, 1)
    assert state.size("ETH") == D("0.1")


async def test_polls_take_their_weight_from_the_shared_budget_and_leave_the_reserve(
    harness: HyperliquidHarness,
) -> None:
    leader = await harness.new_leader()
    time = FakeTime()
    budget = WeightBudget(1200, burst=60, clock_ns=time.clock, sleep=time.sleep)
    async with BudgetedInfoClient(harness.url, budget, reserve=55) as info:
        poller = Poller(info, [leader], sleep=no_sleep)
        await take(poller, 2)  # 2 polls x (clearinghouseState 2 + spotClearinghouseState 2)
    assert budget.granted == 8
    # Only 5 of the 60 could be used without touching the reserve: the polls waited for the refill
    # (on the injected clock) and every grant left the reserve in the bucket.
    assert time.sleeps
    assert budget.available >= 55


async def test_the_venues_events_carry_snapshots_and_fills(harness: HyperliquidHarness) -> None:
    """`HyperliquidVenue.events` = the watch's fills plus every polled snapshot (for reconciliation)."""
    leader = await harness.new_leader()
    venue = harness.make_venue()
    snapshots: list[AccountState] = []
    fills: list[SourceFill] = []
    traded = False
    async with contextlib.aclosing(venue.events([leader])) as events:
        async for event in events:
            if isinstance(event, AccountState):
                snapshots.append(event)
            else:
                fills.append(event)
            if not traded:
                traded = True
                await harness.leader_trade(leader, "ETH", False, D("0.3"))
            moved = sum(f.signed_sz for f in fills) == D("-0.3")
            if moved and any(s.size("ETH") == D("-0.3") for s in snapshots):
                break
    assert snapshots[0].address == leader and snapshots[0].size("ETH") == 0
    assert {f.source for f in fills} == {leader}
    assert venue.pollers == [] and venue.sockets == []  # stopping the iteration stopped both
