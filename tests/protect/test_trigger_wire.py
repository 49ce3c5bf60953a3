"""Trigger orders on Hyperliquid's wire: our Decimal-built wire is key for key what the SDK builds
(`order_request_to_order_wire` with a trigger `order_type`), and its signature is bit-identical to the
SDK's `sign_l1_action` of the SDK's own action."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from eth_account import Account
from hyperliquid.utils import signing as sdk
from hyperliquid.utils.types import Cloid
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.hyperliquid.exchange import request_wire
from adapters.hyperliquid.signer import Signer
from adapters.hyperliquid.wire import order_action, trigger_order_wire
from bot.domain import OrderRequest, Tif, Tpsl, Trigger

SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
keys = st.integers(min_value=1, max_value=SECP256K1_ORDER - 1).map(lambda k: k.to_bytes(32, "big"))
# Prices and sizes as a user would have them: up to 6 decimals, which a float carries exactly enough
# for the SDK's float_to_wire (it refuses anything it would round).
amounts = st.decimals(
    min_value=Decimal("0.000001"), max_value=10**7, places=6, allow_nan=False, allow_infinity=False
)
cloids = st.none() | st.binary(min_size=16, max_size=16).map(lambda b: "0x" + b.hex())


def sdk_wire(
    asset: int,
    is_buy: bool,
    px: Decimal,
    sz: Decimal,
    reduce_only: bool,
    trigger_px: Decimal,
    tpsl: str,
    is_market: bool,
    cloid: str | None,
) -> Any:
    request: Any = {
        "coin": "ETH",
        "is_buy": is_buy,
        "sz": float(sz),
        "limit_px": float(px),
        "order_type": {"trigger": {"triggerPx": float(trigger_px), "isMarket": is_market, "tpsl": tpsl}},
        "reduce_only": reduce_only,
        "cloid": None if cloid is None else Cloid.from_str(cloid),
    }
    return sdk.order_request_to_order_wire(request, asset)


@settings(max_examples=150)
@given(
    asset=st.integers(0, 20_000),
    is_buy=st.booleans(),
    px=amounts,
    sz=amounts,
    reduce_only=st.booleans(),
    trigger_px=amounts,
    tpsl=st.sampled_from(["tp", "sl"]),
    is_market=st.booleans(),
    cloid=cloids,
)
def test_trigger_wire_is_the_sdks(
    asset: int,
    is_buy: bool,
    px: Decimal,
    sz: Decimal,
    reduce_only: bool,
    trigger_px: Decimal,
    tpsl: Any,
    is_market: bool,
    cloid: str | None,
) -> None:
    ours = trigger_order_wire(asset, is_buy, px, sz, reduce_only, trigger_px, tpsl, is_market, cloid)
    theirs = sdk_wire(asset, is_buy, px, sz, reduce_only, trigger_px, tpsl, is_market, cloid)
    assert ours == theirs
    assert list(ours["t"]["trigger"]) == list(theirs["t"]["trigger"])  # key order is hashed too


@settings(max_examples=60)
@given(
    key=keys,
    is_buy=st.booleans(),
    px=amounts,
    sz=amounts,
    trigger_px=amounts,
    tpsl=st.sampled_from(list(Tpsl)),
    is_market=st.booleans(),
    cloid=cloids,
    nonce=st.integers(0, 2**64 - 1),
    is_mainnet=st.booleans(),
)
def test_a_trigger_orders_signature_is_bit_identical_to_the_sdks(
    key: bytes,
    is_buy: bool,
    px: Decimal,
    sz: Decimal,
    trigger_px: Decimal,
    tpsl: Tpsl,
    is_market: bool,
    cloid: str | None,
    nonce: int,
    is_mainnet: bool,
) -> None:
    request = OrderRequest("ETH", is_buy, sz, px, True, Tif.GTC, cloid, Trigger(trigger_px, tpsl, is_market))
    ours = Signer(key, is_mainnet=is_mainnet).sign_l1(order_action([request_wire(request, 4)]), nonce, None)
    action = sdk.order_wires_to_order_action(
        [sdk_wire(4, is_buy, px, sz, True, trigger_px, tpsl.value, is_market, cloid)]
    )
    theirs = sdk.sign_l1_action(Account.from_key(key), action, None, nonce, None, is_mainnet)
    assert ours == theirs


def test_a_limit_request_keeps_its_limit_wire() -> None:
    request = OrderRequest("ETH", True, Decimal("0.1"), Decimal("3000"), False, Tif.IOC)
    assert request_wire(request, 4)["t"] == {"limit": {"tif": "Ioc"}}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"tpsl": "stop"}, "tpsl"),
        ({"trigger_px": Decimal("-1")}, "trigger_px"),
        ({"trigger_px": Decimal("0.000000001")}, "trigger_px"),
        ({"cloid": "0x12"}, "cloid"),
    ],
)
def test_bad_trigger_inputs_name_the_field(kwargs: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {
        "asset": 4,
        "is_buy": False,
        "px": Decimal("2700"),
        "sz": Decimal("0.1"),
        "reduce_only": True,
        "trigger_px": Decimal("2850"),
        "tpsl": "sl",
    }
    with pytest.raises(ValueError, match=field):
        trigger_order_wire(**(args | kwargs))
