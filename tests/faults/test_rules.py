"""The fault rules that need no venue: the reason-code catalogue, the refusal classifier, the venue
client's read retries, and the coalescer's rule for fills that arrive late or out of order."""

from __future__ import annotations

from decimal import Decimal

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.hyperliquid import faults as venue_faults
from adapters.hyperliquid.budget import BudgetedInfoClient, ReadRetry, WeightBudget
from adapters.hyperliquid.faults import FaultRelay
from adapters.hyperliquid.info import InfoRateLimited, InfoRequestError
from bot import faults
from bot.domain import SourceFill
from bot.normalise import FillCoalescer
from tests.normalise.test_detectors import T, fill, moves


def test_every_code_the_venue_client_reports_is_in_the_catalogue() -> None:
    reported = {getattr(venue_faults, name) for name in venue_faults.__all__ if name.isupper()}
    assert reported and reported <= faults.ALL_CODES


@pytest.mark.parametrize(
    ("words", "code"),
    [
        ("Insufficient margin to place order. asset=1", faults.REJECTED_MARGIN),
        ("Order has invalid price.", faults.REJECTED_TICK),
        ("Price must be divisible by tick size. asset=4", faults.REJECTED_TICK),
        ("Reduce only order would increase position. asset=1", faults.REJECTED_REDUCE_ONLY),
        ("Order has invalid size.", faults.REJECTED_SIZE),
        ("Order must have minimum value of $10. asset=1", faults.REJECTED_MIN_VALUE),
        ("Too many orders.", faults.REJECTED_OTHER),
        ("/exchange order by 0xab: not sent after 3 resends: HTTP 429 (rate limited)", faults.RATE_LIMITED),
        (
            "/exchange order by 0xab: not sent after 3 resends: connection failed (ConnectError)",
            "venue_unreachable",
        ),
        (None, faults.REJECTED_OTHER),
    ],
)
def test_refusals_are_coded_from_the_venues_words(words: str | None, code: str) -> None:
    assert faults.rejection_code(words) == code


def test_a_fill_older_than_a_mirrored_block_is_absorbed_not_applied_twice() -> None:
    coalescer = FillCoalescer("src", initial={"ETH": Decimal(0)})
    later = fill("5", "10", time=T + 10, oid=2, tid=2)
    earlier = fill("10", "0", time=T, oid=1, tid=1)
    coalescer.add(later)
    assert moves(coalescer.flush()) == [("ETH", Decimal(0), Decimal(15))]  # a gap, jumped
    assert len(coalescer.gaps) == 1
    coalescer.add(earlier)
    assert coalescer.flush() == []
    assert coalescer.absorbed_fills == [earlier] and coalescer.out_of_order == [earlier]
    assert coalescer.position("ETH") == Decimal(15)


def test_out_of_order_fills_in_one_batch_are_sorted_into_place() -> None:
    coalescer = FillCoalescer("src", initial={"ETH": Decimal(0)})
    later = fill("5", "10", time=T + 10, oid=2, tid=2)
    earlier = fill("10", "0", time=T, oid=1, tid=1)
    assert coalescer.add_all([later, earlier, earlier]) == 2
    assert moves(coalescer.flush()) == [("ETH", Decimal(0), Decimal(10)), ("ETH", Decimal(10), Decimal(15))]
    assert coalescer.out_of_order == [earlier] and coalescer.absorbed_fills == [] and not coalescer.gaps
    assert coalescer.duplicates == 1


def test_a_straggler_of_a_mirrored_block_starting_elsewhere_is_absorbed() -> None:
    coalescer = FillCoalescer("src", initial={"ETH": Decimal(0)})
    second: SourceFill = fill("5", "5", oid=1, tid=2)  # 5 → 10, the venue's figure
    coalescer.add(second)
    assert moves(coalescer.flush()) == [("ETH", Decimal(0), Decimal(10))]
    coalescer.add(fill("5", "0", oid=1, tid=1))  # 0 → 5: already inside the 10
    assert coalescer.flush() == [] and coalescer.position("ETH") == Decimal(10)


class Flaky:
    """An /info that answers `failures` errors of `status`, then the mids."""

    def __init__(self, status: int, failures: int, headers: dict[str, str] | None = None) -> None:
        self.status, self.failures, self.headers, self.calls = status, failures, headers or {}, 0

    async def info(self, request: web.Request) -> web.Response:
        self.calls += 1
        if self.calls <= self.failures:
            return web.Response(status=self.status, text="busy", headers=self.headers)
        return web.json_response({"ETH": "3000.5"})


async def flaky_client(flaky: Flaky, **kwargs: object) -> tuple[TestServer, BudgetedInfoClient, list[float]]:
    app = web.Application()
    app.router.add_post("/info", flaky.info)
    server = TestServer(app)
    await server.start_server()
    waits: list[float] = []
    clock = [0]

    async def sleep(seconds: float) -> None:  # time moves only when someone waits
        waits.append(seconds)
        clock[0] += int(seconds * 1e9)

    budget = WeightBudget(sleep=sleep, clock_ns=lambda: clock[0])
    client = BudgetedInfoClient(str(server.make_url("/")), budget, sleep=sleep, **kwargs)  # type: ignore[arg-type]
    return server, client, waits


@pytest.mark.parametrize(
    ("status", "headers", "code", "expected_waits"),
    [
        (429, {"Retry-After": "2"}, faults.RATE_LIMITED, [2.0, 2.0]),
        (429, {}, faults.RATE_LIMITED, [0.5, 1.0]),
        (503, {}, faults.VENUE_5XX, [0.5, 1.0]),
    ],
)
async def test_reads_are_retried_with_backoff_and_reported(
    status: int, headers: dict[str, str], code: str, expected_waits: list[float]
) -> None:
    reports: list[tuple[str, str]] = []
    flaky = Flaky(status, 2, headers)
    server, client, waits = await flaky_client(flaky, faults=FaultRelay(lambda c, d: reports.append((c, d))))
    try:
        assert await client.all_mids() == {"ETH": Decimal("3000.5")}
    finally:
        await client.aclose()
        await server.close()
    assert [c for c, _ in reports] == [code, code] and flaky.calls == 3
    # A 429 pauses the shared budget for as long as the retry waits: the refilled bucket then suffices.
    assert waits == expected_waits
    assert client.budget.pauses == (2 if status == 429 else 0)


async def test_reads_give_up_after_the_retries_and_raise_the_venues_error() -> None:
    flaky = Flaky(500, 10)
    server, client, _ = await flaky_client(flaky, retry=ReadRetry(retries=2, base_s=0.01))
    try:
        with pytest.raises(InfoRequestError, match="HTTP 500"):
            await client.all_mids()
        assert flaky.calls == 3
        flaky.status, flaky.calls = 422, 0
        with pytest.raises(InfoRequestError, match="HTTP 422") as refused:
            await client.all_mids()
        assert not isinstance(refused.value, InfoRateLimited) and flaky.calls == 1  # never retried
    finally:
        await client.aclose()
        await server.close()
