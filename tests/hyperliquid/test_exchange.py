"""The /exchange client against the real localnet: resend rules (429 / not connected / no answer),
whole-request refusals, batch weights, status mapping, and no key in any error or log line."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from eth_account import Account
from eth_utils.crypto import keccak

from adapters.hyperliquid.budget import WeightBudget
from adapters.hyperliquid.exchange import ExchangeClient, ExchangeRefused, order_results
from adapters.hyperliquid.nonces import SHARED_MARK_FILE, FileNonceStore
from adapters.hyperliquid.parsing import OpenOrder
from adapters.hyperliquid.parsing import OrderStatus as VenueOrderStatus
from adapters.hyperliquid.venue import result_from_status
from bot.domain import OrderRequest, OrderResult, OrderStatus, Side, Tif
from tests.conformance.harness import HyperliquidHarness

D = Decimal
ETH = 1  # the localnet's asset index of ETH (meta.universe order: BTC, ETH, ...)
ASSETS = {"ETH": ETH}


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[HyperliquidHarness]:
    made = HyperliquidHarness(tmp_path)
    yield made
    await made.aclose()


class Recorder:
    """The bytes of every request the client sent (an httpx event hook: observation, not a mock)."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, request: httpx.Request) -> None:
        self.bodies.append(await request.aread())


def client_for(
    url: str, http: httpx.AsyncClient, *, sleep: Any = None, budget: WeightBudget | None = None, **kw: Any
) -> ExchangeClient:
    options: dict[str, Any] = {"max_resends": 3, "resend_wait_s": 0.01}
    options.update(kw)
    if sleep is not None:
        options["sleep"] = sleep
    return ExchangeClient(
        url, client=http, budget=budget or WeightBudget(), is_mainnet=False, nonce_dir=None, **options
    )


async def buy(harness: HyperliquidHarness, cloid: str, size: str = "0.1") -> OrderRequest:
    px = (await harness.make_venue().mids())["ETH"] * D("1.01")
    return OrderRequest("ETH", True, D(size), px.quantize(D(1)), False, Tif.IOC, cloid)


def cloid(n: int) -> str:
    return f"0x{n:032x}"


async def received(harness: HyperliquidHarness, the_cloid: str) -> list[dict[str, Any]]:
    report = await harness.control({"type": "stats"})
    return [r for r in report["requests"] if the_cloid in (r.get("cloids") or [])]


async def test_a_429_resends_the_same_signed_bytes_and_executes_once(harness: HyperliquidHarness) -> None:
    account = await harness.new_account()
    order = await buy(harness, cloid(1))
    recorder = Recorder()
    waits: list[float] = []

    async def clear_then_wait(seconds: float) -> None:
        waits.append(seconds)
        await harness.fault(clear=True)

    async with httpx.AsyncClient(event_hooks={"request": [recorder]}) as http:
        client = client_for(harness.url, http, sleep=clear_then_wait)
        await harness.fault(rate429=1, scope="exchange")
        (result,) = await client.place(client.signer(account.signer_key), [order], ASSETS)
    assert result.status is OrderStatus.FILLED and result.filled_sz == D("0.1")
    assert len(recorder.bodies) == 2 and recorder.bodies[0] == recorder.bodies[1]
    assert waits == [0.01]
    # The refused request shows its cloid in stats too: the same order, answered 429, then executed once.
    assert [r["outcome"] for r in await received(harness, order.cloid or "")] == ["http429", "ok"]
    assert (await harness.make_venue().account(account.address)).size("ETH") == D("0.1")


async def test_429s_beyond_the_resend_budget_are_not_sent_never_unknown(harness: HyperliquidHarness) -> None:
    account = await harness.new_account()
    order = await buy(harness, cloid(2))
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    budget = WeightBudget()
    async with httpx.AsyncClient() as http:
        client = client_for(harness.url, http, sleep=record, budget=budget, max_resends=2)
        await harness.fault(rate429=1, scope="exchange")
        (result,) = await client.place(client.signer(account.signer_key), [order], ASSETS)
    assert result.status is OrderStatus.REJECTED
    assert result.error is not None and "not sent" in result.error and "429" in result.error
    assert waits == [0.01, 0.02]  # exponential
    assert not budget.try_acquire(1)  # a 429 pauses every request of the process


async def test_retry_after_is_respected_and_capped() -> None:
    async def always_429(request: web.Request) -> web.Response:
        return web.Response(status=429, text="slow down", headers={"Retry-After": "1.5"})

    app = web.Application()
    app.router.add_post("/exchange", always_429)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    try:
        async with httpx.AsyncClient() as http:
            client = client_for(url, http, sleep=record, max_resends=2, max_resend_wait_s=1.0)
            key = keccak(text="retry-after").hex()
            (result,) = await client.place(client.signer(key), [await_free_order()], ASSETS)
    finally:
        await runner.cleanup()
    assert result.status is OrderStatus.REJECTED
    assert waits == [1.0, 1.0]  # Retry-After 1.5, capped at 1.0


def await_free_order() -> OrderRequest:
    return OrderRequest("ETH", True, D("0.1"), D("3000"), False, Tif.IOC, cloid(9))


async def test_a_refused_connection_is_resent_then_reported_not_sent() -> None:
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    async with httpx.AsyncClient() as http:
        client = client_for("http://127.0.0.1:9", http, sleep=record, max_resends=2)  # discard port: closed
        (result,) = await client.place(client.signer(keccak(text="x").hex()), [await_free_order()], ASSETS)
    assert result.status is OrderStatus.REJECTED
    assert result.error is not None and "not sent" in result.error and "connection failed" in result.error
    assert len(waits) == 2


async def test_no_answer_is_unknown_and_never_resent(harness: HyperliquidHarness) -> None:
    account = await harness.new_account()
    order = await buy(harness, cloid(3))
    recorder = Recorder()
    async with httpx.AsyncClient(event_hooks={"request": [recorder]}) as http:
        client = client_for(harness.url, http)
        await harness.fault(rate5xx=1, status5xx=503, scope="exchange")
        (result,) = await client.place(client.signer(account.signer_key), [order], ASSETS)
    assert result.status is OrderStatus.UNKNOWN
    assert result.error is not None and "HTTP 503" in result.error
    assert len(recorder.bodies) == 1


async def test_a_whole_request_refusal_is_rejected_with_the_venues_words(harness: HyperliquidHarness) -> None:
    stranger = Account.from_key(keccak(text="never funded"))
    order = await buy(harness, cloid(4))
    async with httpx.AsyncClient() as http:
        client = client_for(harness.url, http)
        slot = client.signer(stranger.key.hex())
        (result,) = await client.place(slot, [order], ASSETS)
        assert result.status is OrderStatus.REJECTED
        assert result.error is not None and "does not exist" in result.error
        with pytest.raises(ExchangeRefused, match="does not exist"):
            await client.noop(slot)


async def test_a_batch_weighs_one_plus_one_per_forty(harness: HyperliquidHarness) -> None:
    account = await harness.new_account("1000000")
    px = ((await harness.make_venue().mids())["ETH"] * D("0.5")).quantize(D(1))
    orders = [OrderRequest("ETH", True, D("0.01"), px, False, Tif.GTC, cloid(100 + i)) for i in range(41)]
    budget = WeightBudget()
    async with httpx.AsyncClient() as http:
        client = client_for(harness.url, http, budget=budget)
        results = await client.place(client.signer(account.signer_key), orders, ASSETS)
        assert [r.status for r in results] == [OrderStatus.RESTING] * 41
        assert budget.granted == 2
        errors = await client.cancel_by_oid(
            client.signer(account.signer_key), [(ETH, r.oid or 0) for r in results[:2]]
        )
        assert errors == [None, None]
        again = await client.cancel_by_cloid(client.signer(account.signer_key), [(ETH, cloid(100))])
        assert again[0] is not None and "never placed, already canceled, or filled" in again[0]


async def test_one_nonce_manager_per_signer_and_nonces_persist(
    harness: HyperliquidHarness, tmp_path: Path
) -> None:
    account = await harness.new_account()
    async with httpx.AsyncClient() as http:
        client = ExchangeClient(
            harness.url, client=http, budget=WeightBudget(), is_mainnet=False, nonce_dir=tmp_path / "nonces"
        )
        slot = client.signer(account.signer_key)
        assert client.signer(account.signer_key) is slot
        assert client.signer("0x" + account.signer_key.removeprefix("0x")).nonces is slot.nonces
        for _ in range(5):
            await client.noop(slot)  # five nonces inside a few ms: all accepted
        last = slot.nonces.last
    # One mark for every signer of the directory, at or above every nonce handed out.
    mark = FileNonceStore(tmp_path / "nonces" / SHARED_MARK_FILE).load()
    assert last is not None and mark is not None and mark >= last


async def test_no_key_in_any_error_or_log_line(
    harness: HyperliquidHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = keccak(text="a secret key").hex()
    order = await buy(harness, cloid(5))
    texts: list[str] = []
    async with httpx.AsyncClient() as http:
        client = client_for(harness.url, http, max_resends=1)
        slot = client.signer(key)
        texts.append(repr(slot))
        for fault in ({"rate429": 1}, {"rate5xx": 1}, {"clear": True}):
            await harness.fault(**fault)
            (result,) = await client.place(slot, [order], ASSETS)
            texts.append(str(result))
        with pytest.raises(ExchangeRefused) as refused:
            await client.schedule_cancel(slot, None)
        texts.append(str(refused.value))
    everything = "\n".join([*texts, caplog.text])
    assert key.removeprefix("0x") not in everything
    assert slot.address in everything  # errors do say who signed


def test_order_statuses_map_to_results() -> None:
    orders = [OrderRequest("ETH", True, D("1"), D("3000"), False, Tif.IOC, cloid(i)) for i in range(5)]
    answer = {
        "type": "order",
        "data": {
            "statuses": [
                {"filled": {"totalSz": "0.4", "avgPx": "3001.5", "oid": 11}},
                {"resting": {"oid": 12, "cloid": cloid(1)}},
                {"error": "Order must have minimum value of $10. asset=1"},
                "waitingForFill",
                {"surprise": True},
            ]
        },
    }
    filled, resting, error, waiting, odd = order_results(answer, orders)
    assert (filled.status, filled.filled_sz, filled.avg_px, filled.oid) == (
        OrderStatus.FILLED,
        D("0.4"),
        D("3001.5"),
        11,
    )
    assert (resting.status, resting.oid, resting.cloid) == (OrderStatus.RESTING, 12, cloid(1))
    assert (error.status, error.error) == (
        OrderStatus.REJECTED,
        "Order must have minimum value of $10. asset=1",
    )
    assert waiting.status is OrderStatus.RESTING
    assert odd.status is OrderStatus.UNKNOWN
    # an answer with the wrong number of statuses: the orders may exist, so UNKNOWN for all
    assert {r.status for r in order_results({"data": {"statuses": []}}, orders)} == {OrderStatus.UNKNOWN}


def test_order_status_answers_map_to_results() -> None:
    def found(status: str, orig: str, left: str) -> VenueOrderStatus:
        order = OpenOrder(
            "ETH", Side.BUY, D("3000"), D(left), 7, 1, orig_sz=D(orig), tif="Ioc", cloid=cloid(1)
        )
        return VenueOrderStatus(order, status, 2)

    def summary(result: OrderResult) -> tuple[OrderStatus, Decimal]:
        return result.status, result.filled_sz

    c = cloid(1)
    assert summary(result_from_status(None, c)) == (OrderStatus.NOT_FOUND, D(0))
    assert summary(result_from_status(found("open", "1", "0.25"), c)) == (OrderStatus.RESTING, D("0.75"))
    assert summary(result_from_status(found("filled", "1", "0"), c)) == (OrderStatus.FILLED, D("1"))
    # an IOC's unfilled rest is cancelled: what filled is the result
    assert summary(result_from_status(found("canceled", "1", "0.4"), c)) == (OrderStatus.FILLED, D("0.6"))
    assert summary(result_from_status(found("canceled", "1", "1"), c)) == (OrderStatus.CANCELED, D(0))
    assert summary(result_from_status(found("scheduledCancel", "1", "1"), c)) == (OrderStatus.CANCELED, D(0))
    rejected = result_from_status(found("minTradeNtlRejected", "1", "1"), c)
    assert (rejected.status, rejected.error, rejected.oid) == (OrderStatus.REJECTED, "minTradeNtlRejected", 7)
    assert result_from_status(found("somethingNew", "1", "1"), c).status is OrderStatus.UNKNOWN
