"""The embeddable async form: `running_localnet` serves HTTP and websockets, then stops cleanly."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from adapters.localnet.server import Localnet, running_localnet


async def test_running_localnet_serves_and_leaves_no_task_behind() -> None:
    before = asyncio.all_tasks()
    async with running_localnet(seed=2, price_walk_ms=20) as net, aiohttp.ClientSession() as http:
        async with http.post(f"{net.url}/info", json={"type": "allMids"}) as response:
            assert response.status == 200
            first = await response.json()
        async with http.ws_connect(f"{net.url}/ws") as ws:
            assert await ws.receive_str() == "Websocket connection established."
            await ws.send_str(json.dumps({"method": "subscribe", "subscription": {"type": "allMids"}}))
            assert json.loads(await ws.receive_str())["channel"] == "subscriptionResponse"
            snapshot = json.loads(await ws.receive_str())
            assert snapshot["channel"] == "allMids"
            moved = json.loads(await asyncio.wait_for(ws.receive_str(), timeout=10))  # the walk runs
            assert moved["data"]["mids"] != first
    assert asyncio.all_tasks() == before


async def test_stopping_closes_connected_websockets() -> None:
    before = asyncio.all_tasks()
    net = Localnet(seed=3)
    await net.start()
    async with aiohttp.ClientSession() as http, http.ws_connect(f"{net.url}/ws") as ws:
        assert await ws.receive_str() == "Websocket connection established."
        await net.stop()
        closing = await asyncio.wait_for(ws.receive(), timeout=10)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert asyncio.all_tasks() == before


async def test_stats_count_the_info_requests_answered_by_type() -> None:
    """`{"type":"stats","info":true}`: the /info requests answered, by type (a refused one is not
    counted: a made-up type cannot grow the table); `reset` starts the count again."""
    async with running_localnet(seed=2) as net, aiohttp.ClientSession() as http:
        for body in ({"type": "allMids"}, {"type": "allMids"}, {"type": "meta"}, {"type": "nope"}):
            async with http.post(f"{net.url}/info", json=body):
                pass

        async def control(message: dict[str, object]) -> dict[str, object]:
            async with http.post(f"{net.url}/_localnet", json=message) as response:
                answer: dict[str, object] = await response.json()
                return answer

        assert (await control({"type": "stats", "info": True}))["infoRequests"] == {"allMids": 2, "meta": 1}
        assert "infoRequests" not in await control({"type": "stats"})
        await control({"type": "reset"})
        assert (await control({"type": "stats", "info": True}))["infoRequests"] == {}
