"""Hyperliquid action wire formats built from Decimals (the bot never holds a float).

The strings are those the SDK's `float_to_wire` produces for the same value (normalised, no trailing
zeros, no exponent, at most 8 decimals) and the dicts are key for key, in order, what the SDK's `Exchange`
builds — key order matters: the action is msgpack-hashed into the signature.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final, Literal, NotRequired, TypedDict, get_args

__all__ = [
    "MAX_WIRE_DECIMALS",
    "Tif",
    "cancel_action",
    "cancel_by_cloid_action",
    "decimal_to_wire",
    "noop_action",
    "order_action",
    "order_wire",
    "schedule_cancel_action",
    "trigger_order_wire",
    "update_leverage_action",
]

MAX_WIRE_DECIMALS: Final = 8
Tif = Literal["Alo", "Ioc", "Gtc"]
Tpsl = Literal["tp", "sl"]
Grouping = Literal["na", "normalTpsl", "positionTpsl"]
_TIFS: Final[tuple[str, ...]] = get_args(Tif)
_GROUPINGS: Final[tuple[str, ...]] = get_args(Grouping)
_TPSLS: Final[tuple[str, ...]] = get_args(Tpsl)
_CLOID_RE: Final = re.compile(r"0x[0-9a-fA-F]{32}")
_ADDRESS_RE: Final = re.compile(r"0x[0-9a-fA-F]{40}")


class LimitWire(TypedDict):
    tif: Tif


class TriggerWire(TypedDict):
    isMarket: bool
    triggerPx: str
    tpsl: Tpsl


class OrderTypeWire(TypedDict, total=False):
    limit: LimitWire  # exactly one of limit / trigger
    trigger: TriggerWire


class OrderWire(TypedDict):
    a: int
    b: bool
    p: str
    s: str
    r: bool
    t: OrderTypeWire
    c: NotRequired[str]


class BuilderWire(TypedDict):
    b: str  # the builder's address, lower-case (as the SDK sends it)
    f: int  # tenths of a basis point of each fill's notional


class OrderAction(TypedDict):
    type: Literal["order"]
    orders: list[OrderWire]
    grouping: Grouping
    builder: NotRequired[BuilderWire]


class CancelWire(TypedDict):
    a: int
    o: int


class CancelAction(TypedDict):
    type: Literal["cancel"]
    cancels: list[CancelWire]


class CancelByCloidWire(TypedDict):
    asset: int
    cloid: str


class CancelByCloidAction(TypedDict):
    type: Literal["cancelByCloid"]
    cancels: list[CancelByCloidWire]


class UpdateLeverageAction(TypedDict):
    type: Literal["updateLeverage"]
    asset: int
    isCross: bool
    leverage: int


class ScheduleCancelAction(TypedDict):
    type: Literal["scheduleCancel"]
    time: NotRequired[int]


class NoopAction(TypedDict):
    type: Literal["noop"]


def decimal_to_wire(value: Decimal, field: str = "value") -> str:
    """`float_to_wire` for a Decimal, exactly: refuses what would need more than 8 decimals.

    Stricter than the SDK in one way on purpose: the SDK tolerates a float rounding error below 1e-12,
    a Decimal is exact, so 0.1000000000001 is refused rather than silently sent as 0.1.
    """
    if not isinstance(value, Decimal):
        raise TypeError(f"{field} must be a Decimal, got {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"{field} must be a finite number, got {value}")
    if value < 0:
        raise ValueError(f"{field} must not be negative, got {value}")
    if value == 0:  # also -0, which the SDK would send as "-0"
        return "0"
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    # Strip trailing zeros by hand: Decimal.normalize() would round to the context's 28 digits.
    kept = len(digits)
    while exponent < 0 and digits[kept - 1] == 0:
        kept -= 1
        exponent += 1
    if exponent < -MAX_WIRE_DECIMALS:
        raise ValueError(f"{field} needs more than {MAX_WIRE_DECIMALS} decimals: {value}")
    return f"{Decimal((0, digits[:kept], exponent)):f}"


def _check_asset(asset: int) -> int:
    if not isinstance(asset, int) or isinstance(asset, bool) or asset < 0:
        raise ValueError(f"asset must be a non-negative integer index, got {asset!r}")
    return asset


def _check_builder(address: str) -> str:
    if not isinstance(address, str) or not _ADDRESS_RE.fullmatch(address):
        raise ValueError(f"builder must be 0x followed by 40 hex digits, got {address!r}")
    return address.lower()


def _check_fee(tenths_bp: int) -> int:
    if not isinstance(tenths_bp, int) or isinstance(tenths_bp, bool) or tenths_bp < 0:
        raise ValueError(f"builder fee must be a non-negative number of tenths of a bp, got {tenths_bp!r}")
    return tenths_bp


def _check_cloid(cloid: str) -> str:
    if not isinstance(cloid, str) or not _CLOID_RE.fullmatch(cloid):
        raise ValueError(f"cloid must be 0x followed by 32 hex digits (16 bytes), got {cloid!r}")
    return cloid


def order_wire(
    asset: int,
    is_buy: bool,
    px: Decimal,
    sz: Decimal,
    reduce_only: bool,
    tif: Tif,
    cloid: str | None = None,
) -> OrderWire:
    """The SDK's `order_request_to_order_wire` for a limit order."""
    if tif not in _TIFS:
        raise ValueError(f"tif must be one of {', '.join(_TIFS)}, got {tif!r}")
    return _wire(asset, is_buy, px, sz, reduce_only, OrderTypeWire(limit={"tif": tif}), cloid)


def trigger_order_wire(
    asset: int,
    is_buy: bool,
    px: Decimal,
    sz: Decimal,
    reduce_only: bool,
    trigger_px: Decimal,
    tpsl: Tpsl,
    is_market: bool = True,
    cloid: str | None = None,
) -> OrderWire:
    """The SDK's `order_request_to_order_wire` for a trigger order (`order_type_to_wire`'s trigger
    branch: keys isMarket, triggerPx, tpsl in that order). `px` is the limit price once triggered."""
    if tpsl not in _TPSLS:
        raise ValueError(f"tpsl must be one of {', '.join(_TPSLS)}, got {tpsl!r}")
    trigger: TriggerWire = {
        "isMarket": bool(is_market),
        "triggerPx": decimal_to_wire(trigger_px, "trigger_px"),
        "tpsl": tpsl,
    }
    return _wire(asset, is_buy, px, sz, reduce_only, OrderTypeWire(trigger=trigger), cloid)


def _wire(
    asset: int,
    is_buy: bool,
    px: Decimal,
    sz: Decimal,
    reduce_only: bool,
    kind: OrderTypeWire,
    cloid: str | None,
) -> OrderWire:
    """The keys every order has, in the SDK's order (msgpack hashes them in insertion order)."""
    wire: OrderWire = {
        "a": _check_asset(asset),
        "b": bool(is_buy),
        "p": decimal_to_wire(px, "px"),
        "s": decimal_to_wire(sz, "sz"),
        "r": bool(reduce_only),
        "t": kind,
    }
    if cloid is not None:
        wire["c"] = _check_cloid(cloid)
    return wire


def order_action(
    orders: list[OrderWire], grouping: Grouping = "na", builder: BuilderWire | None = None
) -> OrderAction:
    """The SDK's `order_wires_to_order_action`: `builder` (when given) last, as the SDK adds it."""
    if grouping not in _GROUPINGS:
        raise ValueError(f"grouping must be one of {', '.join(_GROUPINGS)}, got {grouping!r}")
    if not orders:
        raise ValueError("orders must not be empty")
    action: OrderAction = {"type": "order", "orders": orders, "grouping": grouping}
    if builder is not None:
        action["builder"] = {"b": _check_builder(builder["b"]), "f": _check_fee(builder["f"])}
    return action


def cancel_action(cancels: list[tuple[int, int]]) -> CancelAction:
    """`Exchange.bulk_cancel`: (asset, oid) pairs."""
    return {"type": "cancel", "cancels": [{"a": _check_asset(a), "o": oid} for a, oid in cancels]}


def cancel_by_cloid_action(cancels: list[tuple[int, str]]) -> CancelByCloidAction:
    """`Exchange.bulk_cancel_by_cloid`: (asset, cloid) pairs."""
    return {
        "type": "cancelByCloid",
        "cancels": [{"asset": _check_asset(a), "cloid": _check_cloid(c)} for a, c in cancels],
    }


def update_leverage_action(asset: int, leverage: int, is_cross: bool = True) -> UpdateLeverageAction:
    """`Exchange.update_leverage`."""
    if not isinstance(leverage, int) or isinstance(leverage, bool) or leverage < 1:
        raise ValueError(f"leverage must be a positive integer, got {leverage!r}")
    return {"type": "updateLeverage", "asset": _check_asset(asset), "isCross": is_cross, "leverage": leverage}


def schedule_cancel_action(time_ms: int | None) -> ScheduleCancelAction:
    """`Exchange.schedule_cancel`: cancel all open orders at `time_ms` (UTC ms); None unsets it."""
    action: ScheduleCancelAction = {"type": "scheduleCancel"}
    if time_ms is not None:
        action["time"] = time_ms
    return action


def noop_action() -> NoopAction:
    """`Exchange.noop`: spends a nonce, e.g. to invalidate an in-flight request."""
    return {"type": "noop"}
