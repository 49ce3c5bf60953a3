"""Orders as the localnet keeps them, and the venue's JSON views of them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from adapters.localnet.rules import fmt

# Final statuses; a live order is "open" (resting limit, or trigger waiting for its price).
OPEN = "open"
PENDING = "pending"  # being placed; never visible outside a request
FILLED = "filled"
CANCELED = "canceled"
TRIGGERED = "triggered"
SCHEDULED_CANCEL = "scheduledCancel"
MARGIN_CANCELED = "marginCanceled"
REDUCE_ONLY_CANCELED = "reduceOnlyCanceled"


@dataclass(frozen=True, slots=True)
class Trigger:
    px: Decimal
    is_market: bool
    tpsl: str  # "tp" | "sl"

    def fires_below(self, is_buy: bool) -> bool:
        """A sell stop-loss (protecting a long) and a buy take-profit fire when the price falls to the
        trigger; a sell take-profit and a buy stop-loss when it rises to it."""
        return (self.tpsl == "sl") != is_buy

    def fires(self, is_buy: bool, mid: Decimal) -> bool:
        return mid <= self.px if self.fires_below(is_buy) else mid >= self.px


@dataclass(slots=True)
class Order:
    oid: int
    user: str
    coin: str
    asset: int
    is_buy: bool
    limit_px: Decimal
    orig_sz: Decimal
    sz: Decimal  # remaining
    reduce_only: bool
    tif: str | None  # Gtc / Ioc / Alo; None for a trigger order
    cloid: str | None
    timestamp: int
    hash: str
    trigger: Trigger | None = None
    fired: bool = False  # a trigger order whose price was crossed (it now executes as a limit order)
    status: str = OPEN
    status_ts: int = 0
    builder: tuple[str, int] | None = None  # (builder address, fee in tenths of a basis point)

    @property
    def side(self) -> str:
        return "B" if self.is_buy else "A"

    @property
    def is_open(self) -> bool:
        return self.status == OPEN

    @property
    def waiting_for_trigger(self) -> bool:
        return self.trigger is not None and not self.fired and self.is_open

    def order_type(self) -> str:
        if self.trigger is None:
            return "Limit"
        kind = "Take Profit" if self.trigger.tpsl == "tp" else "Stop"
        return f"{kind} {'Market' if self.trigger.is_market else 'Limit'}"

    def basic_view(self) -> dict[str, Any]:
        """`openOrders` rows and the websocket `orderUpdates` order."""
        view: dict[str, Any] = {
            "coin": self.coin,
            "side": self.side,
            "limitPx": fmt(self.limit_px),
            "sz": fmt(self.sz),
            "oid": self.oid,
            "timestamp": self.timestamp,
            "origSz": fmt(self.orig_sz),
        }
        if self.reduce_only:
            view["reduceOnly"] = True
        if self.cloid is not None:
            view["cloid"] = self.cloid
        return view

    def frontend_view(self) -> dict[str, Any]:
        """`frontendOpenOrders`, `historicalOrders` and `orderStatus` rows."""
        trigger = self.trigger
        condition = "N/A"
        if trigger is not None:
            condition = f"Price {'below' if trigger.fires_below(self.is_buy) else 'above'} {fmt(trigger.px)}"
        return {
            "coin": self.coin,
            "side": self.side,
            "limitPx": fmt(self.limit_px),
            "sz": fmt(self.sz),
            "oid": self.oid,
            "timestamp": self.timestamp,
            "triggerCondition": condition,
            "isTrigger": trigger is not None,
            "triggerPx": fmt(trigger.px if trigger is not None else Decimal(0)),
            "children": [],
            "isPositionTpsl": False,
            "reduceOnly": self.reduce_only,
            "orderType": self.order_type(),
            "origSz": fmt(self.orig_sz),
            "tif": self.tif,
            "cloid": self.cloid,
        }

    def status_view(self) -> dict[str, Any]:
        return {"order": self.frontend_view(), "status": self.status, "statusTimestamp": self.status_ts}

    def update_view(self) -> dict[str, Any]:
        return {"order": self.basic_view(), "status": self.status, "statusTimestamp": self.status_ts}
