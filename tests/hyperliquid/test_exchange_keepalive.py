"""The /exchange client's own transport (`KeepAlivePost`, aiohttp keep-alive connections): the same
answers as over httpx against the real localnet (429 resent once and executed once, 5xx unknown and
never resent, a refused connection not sent), a timeout is unknown, a full pool is "not sent", and the
connections are reused and bounded."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from eth_utils.crypto import keccak

from adapters.hyperliquid.budget import WeightBudget
from adapters.hyperliquid.exchange import ExchangeClient, KeepAlivePost
from bot.domain import OrderRequest, OrderStatus, Tif
from tests.conformance.harness import HyperliquidHarness
from tests.hyperliquid.test_exchange import ASSETS, buy, cloid, received

D = Decimal
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[HyperliquidHarness]:
    made = HyperliquidHarness(tmp_path)
    yield made
    await made.aclose()


def keepalive_client(url: str, *, sleep: Any = None, **kw: Any) -> ExchangeClient:
    options: dict[str, Any] = {"max_resends": 3, "resend_wait_s": 0.01}
    options.update(kw)
    if sleep is not None:
        options["sleep"] = sleep
    return ExchangeClient(url, budget=WeightBudget(), is_mainnet=False, nonce_dir=None, **options)


class Server:
    """A throwaway HTTP server for what the localnet does not do (hold an answer, count connections)."""

    def __init__(self, handler: Handler) -> None:
        self.peers: list[Any] = []  # each request's client address: one per connection used
        self._handler = handler
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> str:
        async def handle(request: web.Request) -> web.StreamResponse:
            self.peers.append(request.transport.get_extra_info("peername") if request.transport else None)
            return await self._handler(request)

        app = web.Application()
        app.router.add_post("/exchange", handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        return f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


def free_order(n: int) -> OrderRequest:
    return OrderRequest("ETH", True, D("0.1"), D("3000"), False, Tif.IOC, cloid(n))


def key(text: str) -> str:
    return keccak(text=text).hex()


async def test_the_default_transport_is_the_keepalive_pool() -> None:
    client = keepalive_client("http://127.0.0.1:9")
    assert isinstance(client.transport, KeepAlivePost)
    await client.aclose()


async def test_a_429_is_resent_and_executes_once(harness: HyperliquidHarness) -> None:
    account = await harness.new_account()
    order = await buy(harness, cloid(11))
    waits: list[float] = []

    async def clear_then_wait(seconds: float) -> None:
        waits.append(seconds)
        await harness.fault(clear=True)

    client = keepalive_client(harness.url, sleep=clear_then_wait)
    try:
        await harness.fault(rate429=1, scope="exchange")
        (result,) = await client.place(client.signer(account.signer_key), [order], ASSETS)
    finally:
        await client.aclose()
    assert result.status is OrderStatus.FILLED and result.filled_sz == D("0.1")
    assert waits == [0.01]
    assert [r["outcome"] for r in await received(harness, order.cloid or "")] == ["http429", "ok"]
    assert (await harness.make_venue().account(account.address)).size("ETH") == D("0.1")


async def test_a_5xx_is_unknown_and_never_resent(harness: HyperliquidHarness) -> None:
    account = await harness.new_account()
    order = await buy(harness, cloid(12))
    faults: list[tuple[str, str]] = []
    client = keepalive_client(harness.url)
    client.faults.hook = lambda code, detail: faults.append((code, detail))
    try:
        await harness.fault(rate5xx=1, status5xx=503, scope="exchange")
        (result,) = await client.place(client.signer(account.signer_key), [order], ASSETS)
    finally:
        await client.aclose()
    assert result.status is OrderStatus.UNKNOWN and "HTTP 503" in (result.error or "")
    assert [r["outcome"] for r in await received(harness, order.cloid or "")] == ["http503"]
    assert [code for code, _ in faults] == ["venue_5xx"]


async def test_a_refused_connection_is_not_sent() -> None:
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    client = keepalive_client("http://127.0.0.1:9", sleep=record, max_resends=2)  # discard port: closed
    try:
        (result,) = await client.place(client.signer(key("x")), [free_order(13)], ASSETS)
    finally:
        await client.aclose()
    assert result.status is OrderStatus.REJECTED
    assert "not sent" in (result.error or "") and "connection failed" in (result.error or "")
    assert len(waits) == 2


async def test_no_answer_in_time_is_unknown_and_never_resent() -> None:
    release = asyncio.Event()

    async def hold(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({"status": "ok"})

    server = Server(hold)
    async with server as url:
        client = keepalive_client(url, timeout_s=0.2)
        try:
            (result,) = await client.place(client.signer(key("slow")), [free_order(14)], ASSETS)
        finally:
            release.set()
            await client.aclose()
    assert result.status is OrderStatus.UNKNOWN and "no answer" in (result.error or "")
    assert len(server.peers) == 1


async def test_a_full_pool_is_not_sent_and_the_connections_are_reused() -> None:
    release, holding = asyncio.Event(), asyncio.Event()

    async def answer(request: web.Request) -> web.Response:
        body = await request.json()
        if body["action"]["orders"][0]["c"] == cloid(15):
            holding.set()
            await release.wait()  # holds the only connection
        return web.json_response({"status": "ok", "response": {"type": "order", "data": {"statuses": []}}})

    server = Server(answer)
    async with server as url:
        client = keepalive_client(url, timeout_s=0.2, max_connections=1, max_resends=0)
        slot = client.signer(key("pool"))
        try:
            # The transport itself (no client timeout) holds the pool's only connection meanwhile.
            hold = json.dumps({"action": {"orders": [{"c": cloid(15)}]}}).encode()
            held = asyncio.ensure_future(client.transport.post(f"{url}/exchange", hold, 60.0))
            await holding.wait()
            (waited,) = await client.place(slot, [free_order(16)], ASSETS)
            release.set()
            assert (await held).status == 200
            for n in range(20):  # one after the other: all over the one kept-alive connection
                await client.place(slot, [free_order(17 + n)], ASSETS)
        finally:
            release.set()
            await client.aclose()
    assert waited.status is OrderStatus.REJECTED and "not sent" in (waited.error or "")
    assert len(server.peers) == 21  # the order that waited for the pool never reached the server
    assert len(set(server.peers)) == 1


async def test_concurrent_orders_use_at_most_max_connections() -> None:
    async def answer(request: web.Request) -> web.Response:
        await asyncio.sleep(0)
        return web.json_response({"status": "ok", "response": {"type": "order", "data": {"statuses": []}}})

    server = Server(answer)
    async with server as url:
        client = keepalive_client(url, max_connections=4)
        slots = [client.signer(key(f"k{n}")) for n in range(40)]
        try:
            await asyncio.gather(
                *(client.place(s, [free_order(100 + n)], ASSETS) for n, s in enumerate(slots))
            )
        finally:
            await client.aclose()
    assert len(server.peers) == 40
    assert 1 <= len(set(server.peers)) <= 4
