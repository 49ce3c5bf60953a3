"""Helpers for the exchange-core tests: a LocalExchange on a test clock, and actions built with the SDK's
own wire helpers so their shapes are exactly what the SDK sends."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hyperliquid.utils.signing import order_request_to_order_wire, order_wires_to_order_action
from hyperliquid.utils.types import Cloid

from adapters.localnet.exchange import LocalExchange
from adapters.localnet.types import LocalEvent

ALICE = "0x" + "a1" * 20
BOB = "0x" + "b2" * 20
CAROL = "0x" + "c3" * 20
START_MS = 1_700_000_000_000


class Clock:
    def __init__(self) -> None:
        self.now = START_MS

    def __call__(self) -> int:
        return self.now


class Net:
    """A LocalExchange with a controllable clock, recorded events and shortcuts for the SDK's actions."""

    def __init__(self, seed: int = 7) -> None:
        self.clock = Clock()
        self.ex = LocalExchange(seed=seed, clock_ms=self.clock)
        self.events: list[LocalEvent] = []
        self.ex.add_listener(self.events.append)
        self.nonce = START_MS

    def asset(self, coin: str) -> int:
        return [spec.coin for spec in self.ex.instruments()].index(coin)

    def act(self, user: str, action: dict[str, Any]) -> dict[str, Any]:
        self.nonce += 1
        return self.ex.handle_action(user, user, action, self.nonce)

    def info(self, request: dict[str, Any]) -> Any:
        return self.ex.handle_info(request)

    def order(
        self,
        user: str,
        coin: str,
        is_buy: bool,
        sz: float,
        px: float,
        tif: str = "Gtc",
        *,
        reduce_only: bool = False,
        cloid: Cloid | None = None,
    ) -> Any:
        """The one status of a one-order `order` action."""
        return self.statuses(user, [limit_wire(self.asset(coin), is_buy, sz, px, tif, reduce_only, cloid)])[0]

    def trigger(
        self,
        user: str,
        coin: str,
        is_buy: bool,
        sz: float,
        px: float,
        trigger_px: float,
        tpsl: str,
        *,
        market: bool,
    ) -> Any:
        request: dict[str, Any] = {
            "coin": coin,
            "is_buy": is_buy,
            "sz": sz,
            "limit_px": px,
            "order_type": {"trigger": {"triggerPx": trigger_px, "isMarket": market, "tpsl": tpsl}},
            "reduce_only": True,
        }
        wire = order_request_to_order_wire(request, self.asset(coin))
        return self.statuses(user, [wire])[0]

    def statuses(self, user: str, wires: list[Any]) -> list[Any]:
        body = self.act(user, order_wires_to_order_action(wires))
        assert body["status"] == "ok", body
        statuses: list[Any] = body["response"]["data"]["statuses"]
        return statuses

    def state(self, user: str) -> dict[str, Any]:
        state: dict[str, Any] = self.info({"type": "clearinghouseState", "user": user})
        return state

    def position(self, user: str, coin: str) -> dict[str, Any] | None:
        for row in self.state(user)["assetPositions"]:
            if row["position"]["coin"] == coin:
                position: dict[str, Any] = row["position"]
                return position
        return None

    def held(self, user: str, coin: str) -> dict[str, Any]:
        position = self.position(user, coin)
        assert position is not None, f"{user} holds no {coin}"
        return position

    def szi(self, user: str, coin: str) -> Decimal:
        pos = self.position(user, coin)
        return Decimal(pos["szi"]) if pos is not None else Decimal(0)

    def book(self, coin: str) -> list[list[dict[str, Any]]]:
        levels: list[list[dict[str, Any]]] = self.info({"type": "l2Book", "coin": coin})["levels"]
        return levels

    def mid(self, coin: str) -> Decimal:
        return self.ex.mids()[coin]


def limit_wire(
    asset: int,
    is_buy: bool,
    sz: float,
    px: float,
    tif: str = "Gtc",
    reduce_only: bool = False,
    cloid: Cloid | None = None,
) -> Any:
    request: dict[str, Any] = {
        "coin": "",
        "is_buy": is_buy,
        "sz": sz,
        "limit_px": px,
        "order_type": {"limit": {"tif": tif}},
        "reduce_only": reduce_only,
    }
    if cloid is not None:
        request["cloid"] = cloid
    return order_request_to_order_wire(request, asset)


def error_of(status: Any) -> str:
    assert isinstance(status, dict) and "error" in status, status
    error: str = status["error"]
    return error


def oid_of(status: Any) -> int:
    assert isinstance(status, dict), status
    body = status.get("resting") or status.get("filled")
    assert body is not None, status
    oid: int = body["oid"]
    return oid
