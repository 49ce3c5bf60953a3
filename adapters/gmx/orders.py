"""Planning and encoding GMX market orders (pure: no I/O).

A domain order (buy/sell N coins) becomes GMX orders on the coin's market: first `MarketDecrease`s of the
opposite side's positions (GMX decreases are reduce-only by nature), then for what is left a
`MarketIncrease` of this side with USDC collateral at the account's leverage. A flip is therefore a
decrease and an increase, sent in ONE `ExchangeRouter.multicall` transaction:
`[sendWnt(fee), createOrder(decrease), sendWnt(fee), sendTokens(USDC), createOrder(increase)]`.

Sizes: GMX orders are in USD. A decrease of `t` tokens of a position asks `sizeInUsd · t / sizeInTokens`
(GMX converts back exactly; the whole position closes with `sizeInUsd`). An increase of `t` tokens asks
`t · mid`: the tokens executed are `sizeDeltaUsd / executionPrice`, within the slippage cap of `t`.
The acceptable price is the request's limit price (max for buys, min for sells).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from enum import IntEnum
from typing import Final

from eth_abi.abi import encode
from eth_utils.crypto import keccak

from adapters.gmx.contracts import calldata, selector
from adapters.gmx.network import Deployment, Market
from adapters.gmx.positions import GmxPosition
from adapters.gmx.units import from_units, to_price, to_units, to_usd
from bot.domain.hyperliquid import HYPERLIQUID_WORDS
from bot.domain.refusals import without_asset

MULTICALL_SELECTOR: Final = selector("ExchangeRouter", "multicall")
_ZERO_ADDRESS: Final = "0x" + "00" * 20
PRECISION: Final = 10**30


class OrderType(IntEnum):
    MARKET_SWAP = 0
    LIMIT_SWAP = 1
    MARKET_INCREASE = 2
    LIMIT_INCREASE = 3
    MARKET_DECREASE = 4


def data_store_key(name: str) -> bytes:
    """`Keys.<NAME>` = keccak256(abi.encode("<NAME>"))."""
    return keccak(encode(["string"], [name]))


def market_key(name: str, market: str) -> bytes:
    """A per-market key, e.g. `Keys.minCollateralFactorKey(market)`:
    keccak256(abi.encode(MIN_COLLATERAL_FACTOR, market))."""
    return keccak(encode(["bytes32", "address"], [data_store_key(name), market]))


GAS_KEYS: Final = (
    "INCREASE_ORDER_GAS_LIMIT",
    "DECREASE_ORDER_GAS_LIMIT",
    "SINGLE_SWAP_GAS_LIMIT",
    "ESTIMATED_GAS_FEE_BASE_AMOUNT_V2_1",
    "ESTIMATED_GAS_FEE_PER_ORACLE_PRICE",
    "ESTIMATED_GAS_FEE_MULTIPLIER_FACTOR",
)


def min_execution_fee(gas: Mapping[str, int], *, increase: bool, gas_price: int, swaps: int = 0) -> int:
    """GasUtils.validateExecutionFee's minimum: adjustGasLimitForEstimate(estimate, 3 + swaps) × gas price."""
    base = gas["INCREASE_ORDER_GAS_LIMIT" if increase else "DECREASE_ORDER_GAS_LIMIT"]
    estimated = base + gas["SINGLE_SWAP_GAS_LIMIT"] * swaps
    limit = gas["ESTIMATED_GAS_FEE_BASE_AMOUNT_V2_1"] + gas["ESTIMATED_GAS_FEE_PER_ORACLE_PRICE"] * (
        3 + swaps
    )
    limit += estimated * gas["ESTIMATED_GAS_FEE_MULTIPLIER_FACTOR"] // PRECISION
    return limit * gas_price


@dataclass(frozen=True, slots=True)
class GmxOrder:
    market: Market
    order_type: OrderType
    is_long: bool
    size_delta_usd: int
    collateral_token: str
    collateral_delta: int  # increase: USDC sent; decrease: collateral withdrawn
    acceptable_price: int
    execution_fee: int
    tokens: Decimal  # the token size this order is for (increase: at the mid)

    @property
    def increase(self) -> bool:
        return self.order_type is OrderType.MARKET_INCREASE


class OrderRefused(ValueError):
    """The order cannot be placed as asked; the message is the venue-style reason."""


REDUCE_ONLY_WORDS: Final = without_asset(HYPERLIQUID_WORDS.reduce_only)  # Hyperliquid's words


def plan(
    *,
    deployment: Deployment,
    coin: str,
    is_buy: bool,
    size: Decimal,
    limit_px: Decimal,
    reduce_only: bool,
    positions: Sequence[GmxPosition],
    mid: Decimal,
    leverage: int,
    fees: tuple[int, int],
) -> list[GmxOrder]:
    """The GMX orders for one domain order (see the module docstring). `fees` = (increase, decrease)
    execution fees in native wei."""
    if size <= 0:
        raise OrderRefused(f"size: must be positive (got {size})")
    markets = {m.address.lower(): m for m in deployment.markets_of(coin)}
    acceptable = to_price(limit_px, deployment.trading_market(coin).index_decimals, up=is_buy)
    orders: list[GmxOrder] = []
    remaining = size
    for pos in positions:
        market = markets.get(pos.market)
        if market is None or pos.is_long == is_buy or pos.size_in_tokens == 0 or remaining <= 0:
            continue
        held = from_units(pos.size_in_tokens, market.index_decimals)
        take = min(remaining, held)
        if take == held:
            usd_delta, collateral = pos.size_in_usd, 0
        else:
            units = to_units(take, market.index_decimals)
            usd_delta = pos.size_in_usd * units // pos.size_in_tokens
            collateral = pos.collateral_amount * units // pos.size_in_tokens
        orders.append(
            GmxOrder(
                market,
                OrderType.MARKET_DECREASE,
                pos.is_long,
                usd_delta,
                pos.collateral_token,
                collateral,
                to_price(limit_px, market.index_decimals, up=is_buy),
                fees[1],
                take,
            )
        )
        remaining -= take
    if remaining > 0:
        if reduce_only:
            raise OrderRefused(REDUCE_ONLY_WORDS)
        market = deployment.trading_market(coin)
        usd_delta = to_usd(remaining * mid)
        collateral = to_units(remaining * mid / leverage, deployment.usdc.decimals, rounding=ROUND_CEILING)
        orders.append(
            GmxOrder(
                market,
                OrderType.MARKET_INCREASE,
                is_buy,
                usd_delta,
                deployment.usdc.address,
                collateral,
                acceptable,
                fees[0],
                remaining,
            )
        )
    return orders


def create_order_params(order: GmxOrder, account: str) -> tuple[object, ...]:
    """`IBaseOrderUtils.CreateOrderParams` as an ABI tuple."""
    addresses: tuple[object, ...] = (
        account,  # receiver
        account,  # cancellationReceiver
        _ZERO_ADDRESS,  # callbackContract
        _ZERO_ADDRESS,  # uiFeeReceiver
        order.market.address,
        order.collateral_token,
        [],  # swapPath
    )
    numbers = (
        order.size_delta_usd,
        order.collateral_delta,
        0,  # triggerPrice
        order.acceptable_price,
        order.execution_fee,
        0,  # callbackGasLimit
        0,  # minOutputAmount
        0,  # validFromTime
    )
    # decreasePositionSwapType NoSwap, isLong, shouldUnwrapNativeToken, autoCancel, referralCode, dataList
    return (addresses, numbers, int(order.order_type), 0, order.is_long, False, False, bytes(32), [])


def multicall(orders: Sequence[GmxOrder], account: str, deployment: Deployment) -> tuple[bytes, int]:
    """(calldata of ExchangeRouter.multicall, native value to send) for `orders` of `account`."""
    vault = deployment.contracts.order_vault
    calls: list[bytes] = []
    value = 0
    for order in orders:
        calls.append(calldata("ExchangeRouter", "sendWnt", vault, order.execution_fee))
        value += order.execution_fee
        if order.increase and order.collateral_delta:
            calls.append(
                calldata(
                    "ExchangeRouter", "sendTokens", order.collateral_token, vault, order.collateral_delta
                )
            )
        calls.append(calldata("ExchangeRouter", "createOrder", create_order_params(order, account)))
    return calldata("ExchangeRouter", "multicall", calls), value
