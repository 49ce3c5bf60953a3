"""The shared request-weight budget: exact pacing on an injected clock (no real sleeping)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters.hyperliquid.budget import NS_PER_S, BudgetedInfoClient, WeightBudget, exchange_weight
from adapters.localnet.server import running_localnet

MINUTE_NS = 60 * NS_PER_S


class FakeTime:
    """A clock that only moves when the code under test sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now_ns = 1_000 * NS_PER_S
        self.sleeps: list[float] = []

    def clock(self) -> int:
        return self.now_ns

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now_ns += max(1, round(seconds * NS_PER_S))


def budget_on(time: FakeTime, limit: int = 1200, burst: int = 200) -> WeightBudget:
    return WeightBudget(limit, burst=burst, clock_ns=time.clock, sleep=time.sleep)


async def test_the_burst_is_free_then_requests_wait_for_the_refill() -> None:
    time = FakeTime()
    budget = budget_on(time)
    assert await budget.acquire(200) == 0
    assert time.sleeps == []
    # refill is (1200 - 200) per minute: 10 weight takes 0.6 s
    waited = await budget.acquire(10)
    assert waited == 600_000_000
    assert sum(time.sleeps) == 0.6
    assert budget.available == 0


async def test_a_reserve_keeps_the_last_tokens_for_orders() -> None:
    time = FakeTime()
    budget = budget_on(time)
    await budget.acquire(150)
    assert not budget.try_acquire(4, reserve=50)  # the poller leaves 50 behind
    assert budget.try_acquire(4)  # an order does not
    assert budget.available == 46


async def test_a_charge_after_the_fact_delays_what_follows() -> None:
    time = FakeTime()
    budget = budget_on(time)
    await budget.acquire(200)
    budget.charge(100)  # e.g. a fills answer of 2,000 items
    assert budget.available == -100
    await budget.acquire(1)
    assert time.now_ns - 1_000 * NS_PER_S == 101 * MINUTE_NS // 1000


async def test_a_429_pauses_everything() -> None:
    time = FakeTime()
    budget = budget_on(time)
    budget.pause(5)
    assert not budget.try_acquire(1)
    await budget.acquire(1)
    # 5 s of pause, then the emptied bucket has refilled 1000/60 weight a second: enough at once
    assert time.now_ns - 1_000 * NS_PER_S >= 5 * NS_PER_S


def test_weights_of_exchange_batches() -> None:
    assert [exchange_weight(n) for n in (1, 39, 40, 79, 80, 200)] == [1, 1, 2, 2, 3, 6]


def test_refuses_a_burst_not_below_the_limit() -> None:
    try:
        WeightBudget(100, burst=100)
    except ValueError as exc:
        assert "burst" in str(exc)
    else:
        raise AssertionError("burst == limit accepted")


@given(
    requests=st.lists(
        st.tuples(st.integers(0, 5 * NS_PER_S), st.integers(1, 60), st.integers(0, 50)),
        min_size=1,
        max_size=120,
    ),
    burst=st.integers(1, 400),
)
async def test_no_sixty_second_window_ever_exceeds_the_limit(
    requests: list[tuple[int, int, int]], burst: int
) -> None:
    time = FakeTime()
    budget = budget_on(time, limit=1200, burst=burst)
    grants: list[tuple[int, int]] = []
    for gap, weight, reserve in requests:
        time.now_ns += gap
        await budget.acquire(weight, reserve=reserve)
        grants.append((time.now_ns, weight))
    for start, _ in grants:
        in_window = sum(w for t, w in grants if start <= t <= start + MINUTE_NS)
        assert in_window <= 1200


async def test_info_requests_take_their_weight_from_the_budget() -> None:
    time = FakeTime()
    budget = budget_on(time)
    async with running_localnet() as net, BudgetedInfoClient(net.url, budget) as info:
        await info.all_mids()  # weight 2
        await info.meta()  # weight 20
        await info.user_fills("0x" + "ab" * 20)  # 20 + one per 20 fills (none here)
    assert budget.granted == 42
    assert budget.available == 200 - 42
