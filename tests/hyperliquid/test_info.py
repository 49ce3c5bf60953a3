"""The async /info client against a tiny aiohttp server that answers with the recorded venue bodies."""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.hyperliquid.constants import FILLS_PAGE_LIMIT
from adapters.hyperliquid.info import InfoClient, InfoRateLimited, InfoRequestError
from adapters.hyperliquid.parsing import load_fills_file
from tests.hyperliquid.recorded import FIXTURES, USER_FILLS

D = Decimal
USER = "0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2"
DAY_MS = 86_400_000
COPIES = 9  # the recorded 500 fills, shifted by a day each time: 4,500 fills, past two 2,000-fill pages


@functools.cache
def _raw(name: str, request_type: str) -> str:
    """The recorded answer body exactly as the venue sent it."""
    doc = yaml.safe_load((FIXTURES / name).read_text(encoding="utf-8"))
    for interaction in doc["interactions"]:
        if json.loads(interaction["request"]["body"])["type"] == request_type:
            return str(interaction["response"]["body"]["string"])
    raise LookupError(request_type)


def _long_history() -> list[dict[str, Any]]:
    recorded: list[dict[str, Any]] = json.loads(_raw("test_get_user_fills.yaml", "userFills"))
    history = [
        {**f, "time": f["time"] + k * DAY_MS, "oid": f["oid"] + k * 10**9}
        for k in range(COPIES)
        for f in recorded
    ]
    return sorted(history, key=lambda f: (f["time"], f["oid"]))


@dataclass
class FakeVenue:
    requests: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=_long_history)
    historical: list[dict[str, Any]] = field(
        default_factory=lambda: json.loads(_raw("test_historical_orders.yaml", "historicalOrders"))
    )

    async def info(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        kind = body.get("type")
        recorded = {
            "meta": ("test_get_info.yaml", "meta"),
            "allMids": ("test_get_all_mids.yaml", "allMids"),
            "clearinghouseState": ("test_get_user_state.yaml", "clearinghouseState"),
            "openOrders": ("test_get_open_orders.yaml", "openOrders"),
            "userFills": ("test_get_user_fills.yaml", "userFills"),
        }
        if kind in recorded:
            return web.Response(text=_raw(*recorded[kind]), content_type="application/json")
        if kind == "spotClearinghouseState":
            balances = [{"coin": "USDC", "token": 0, "hold": "0.0", "total": "250.5", "entryNtl": "0.0"}]
            return web.json_response({"balances": balances})
        if kind == "userFillsByTime":  # the venue's paging: oldest first from startTime, 2,000 at most
            end = body.get("endTime") or 2**62
            page = [f for f in self.history if body["startTime"] <= f["time"] <= end][:FILLS_PAGE_LIMIT]
            return web.json_response(page)
        if kind == "orderStatus":
            for entry in self.historical:
                if entry["order"]["oid"] == body["oid"]:
                    return web.json_response({"status": "order", "order": entry})
            return web.json_response({"status": "unknownOid"})
        if kind == "busy":
            return web.Response(status=429, text="rate limited")
        return web.Response(status=422, text="Failed to deserialize the JSON body into the target type")


@pytest.fixture
async def venue() -> AsyncIterator[tuple[FakeVenue, InfoClient]]:
    fake = FakeVenue()
    app = web.Application()
    app.router.add_post("/info", fake.info)
    server = TestServer(app)
    await server.start_server()
    client = InfoClient(str(server.make_url("/")))
    try:
        yield fake, client
    finally:
        await client.aclose()
        await server.close()


async def test_market_data_and_weights(venue: tuple[FakeVenue, InfoClient]) -> None:
    _, client = venue
    instruments = await client.meta()
    mids = await client.all_mids()
    assert len(instruments) == 28 and instruments[1].coin == "ETH" and instruments[1].sz_decimals == 4
    assert mids["BTC"] == D("30135.0")
    assert [(c.request_type, c.weight) for c in client.calls] == [("meta", 20), ("allMids", 2)]
    assert client.weight_used == 22


async def test_account_state_adds_spot_usdc(venue: tuple[FakeVenue, InfoClient]) -> None:
    _, client = venue
    state = await client.account_state("0x5e9ee1089755c3435139848e47e6635505d5a13a")
    assert state.equity == D("1182.312496") + D("250.5")
    assert len(state.positions) == 12 and state.size("ETH") == D("0.1334")
    assert sorted(c.weight for c in client.calls) == [2, 2]
    perp_only = await client.clearinghouse_state("0x5e9ee1089755c3435139848e47e6635505d5a13a")
    assert perp_only.equity == D("1182.312496")


async def test_user_fills_weigh_more_per_20_items(venue: tuple[FakeVenue, InfoClient]) -> None:
    _, client = venue
    fills = await client.user_fills(USER)
    assert fills == load_fills_file(USER_FILLS)
    assert [(c.request_type, c.items, c.weight) for c in client.calls] == [("userFills", 500, 20 + 500 // 20)]


async def test_user_fills_by_time_pages_past_2000(venue: tuple[FakeVenue, InfoClient]) -> None:
    fake, client = venue
    start = fake.history[0]["time"]
    fills = await client.user_fills_by_time(USER, start)
    assert len(fills) == len(fake.history) == 500 * COPIES
    assert len(set(fills)) == len(fills)
    assert [(f.time_ms, f.oid) for f in fills] == [(f["time"], f["oid"]) for f in fake.history]
    pages = [r for r in fake.requests if r["type"] == "userFillsByTime"]
    assert len(pages) >= 3 and pages[0]["startTime"] == start
    assert all(later["startTime"] > earlier["startTime"] for earlier, later in itertools.pairwise(pages))
    assert all(c.weight == 20 + c.items // 20 for c in client.calls)


async def test_user_fills_by_time_respects_the_window(venue: tuple[FakeVenue, InfoClient]) -> None:
    fake, client = venue
    start, end = fake.history[0]["time"] + DAY_MS, fake.history[0]["time"] + 3 * DAY_MS - 1
    fills = await client.user_fills_by_time(USER, start, end)
    assert len(fills) == 2 * 500
    assert all(start <= f.time_ms <= end for f in fills)
    assert all(r.get("endTime") == end for r in fake.requests)


async def test_orders(venue: tuple[FakeVenue, InfoClient]) -> None:
    _, client = venue
    orders = await client.open_orders("0x5e9ee1089755c3435139848e47e6635505d5a13a")
    assert len(orders) == 196 and orders[0].oid == 62269971
    status = await client.order_status(USER, 141682147399)
    assert status is not None and status.status == "canceled" and status.order.coin == "DYDX"
    assert await client.order_status(USER, 1) is None
    assert await client.order_status(USER, "0x" + "ab" * 16) is None
    with pytest.raises(ValueError, match="cloid"):
        await client.order_status(USER, "my-order")


async def test_venue_errors(venue: tuple[FakeVenue, InfoClient]) -> None:
    _, client = venue
    with pytest.raises(InfoRateLimited, match="HTTP 429"):
        await client.post({"type": "busy"})
    with pytest.raises(InfoRequestError, match="HTTP 422: Failed to deserialize") as caught:
        await client.post({"type": "nonsense"})
    assert caught.value.status == 422
    assert client.weight_used == 0  # refused requests are not counted as answered
