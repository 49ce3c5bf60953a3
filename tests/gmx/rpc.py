"""The EVM double as an HTTP JSON-RPC node: what `MIRROR_GMX_RPC_URL` points at in tests, so that the bot
builds its `GmxVenue` from the settings (`GmxVenue.connect`) exactly as against a real node.

Each request goes through web3's own eth-tester request/result formatting (`w3.manager`), and the
formatted answer is written back as JSON-RPC (integers as hex quantities, bytes as hex data). It serves
on the test's event loop (eth-tester is not thread-safe: every access to the chain stays on one thread);
a synchronous caller (the CLI) runs in a worker thread. The contract addresses are the doubles', so the
bot is given them with `MIRROR_GMX_DEPLOYMENT_FILE` (`write_deployment`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp import web
from web3 import AsyncWeb3
from web3.exceptions import ContractLogicError

from adapters.gmx.network import deployment_to_dict
from tests.gmx.evm import GmxChainDouble


def to_wire(value: Any) -> Any:
    """web3's formatted value → JSON-RPC: ints as quantities, bytes as data, mappings and lists deeply."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(k): to_wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire(v) for v in value]
    return value


class RpcBridge:
    """`url` serves the chain double's JSON-RPC until `stop()`."""

    def __init__(self, chain: GmxChainDouble) -> None:
        self.chain = chain
        self.w3: AsyncWeb3[Any] = chain.venue_w3()
        self.requests = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> RpcBridge:
        app = web.Application()
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        answer: Any = (
            [await self._one(item) for item in body] if isinstance(body, list) else await self._one(body)
        )
        return web.json_response(answer)

    async def _one(self, call: dict[str, Any]) -> dict[str, Any]:
        self.requests += 1
        head = {"jsonrpc": "2.0", "id": call.get("id")}
        try:
            result = await self.w3.manager.coro_request(call["method"], call.get("params", []))
        except ContractLogicError as exc:
            return head | {"error": {"code": 3, "message": str(exc), "data": exc.data}}
        except Exception as exc:
            return head | {"error": {"code": -32000, "message": f"{type(exc).__name__}: {exc}"}}
        return head | {"result": to_wire(result)}


def write_deployment(chain: GmxChainDouble, path: Path) -> Path:
    """The doubles' deployment as a MIRROR_GMX_DEPLOYMENT_FILE."""
    path.write_text(json.dumps(deployment_to_dict(chain.deployment), indent=1), encoding="utf-8")
    return path
