"""Decoding and encoding against the real GMX ABIs, on ABI-encoded fixtures (no chain).

Fixtures are built with `eth_abi` from the ABI data copied from gmx-synthetics (adapters/gmx/data), so a
wrong type string, selector or item key in the adapter fails here.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from eth_abi.abi import decode, encode
from eth_account import Account
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from eth_utils.crypto import keccak
from hexbytes import HexBytes

from adapters.gmx.contracts import (
    EVENT_LOG1,
    EVENT_LOG2,
    EventData,
    RawLog,
    address_topic,
    encode_event_data,
    input_types,
    name_hash,
    output_types,
    selector,
)
from adapters.gmx.events import FillTracker, OrderEvent, PositionEvent, order_id, parse_log
from adapters.gmx.network import UnmappedMarket, load_deployment
from adapters.gmx.orders import (
    MULTICALL_SELECTOR,
    OrderRefused,
    OrderType,
    min_execution_fee,
    multicall,
    plan,
)
from adapters.gmx.positions import GmxPosition, account_state, decode_positions
from bot.domain import Side
from bot.normalise import changes_from_fills

D = Decimal
ARB = load_deployment("arbitrum")
ETH_MARKET = ARB.trading_market("ETH").address
BTC_MARKET = ARB.trading_market("BTC").address
USDC = ARB.usdc.address
TRADER = "0x" + "ab" * 20
E30 = 10**30


def props(
    market: str, is_long: bool, usd: int, tokens: int, collateral: int, impact: int = 0
) -> tuple[object, ...]:
    return ((TRADER, market, USDC), (usd, tokens, collateral, impact, 0, 0, 0, 0, 1, 0), (is_long,))


def reader_answer(*positions: tuple[object, ...]) -> bytes:
    """What a node returns for Reader.getAccountPositions, encoded with the real output ABI."""
    return encode(output_types("Reader", "getAccountPositions"), [list(positions)])


def test_the_multicall_selector_is_gmxs() -> None:
    assert MULTICALL_SELECTOR.hex() == "ac9650d8"
    assert selector("ExchangeRouter", "multicall") == keccak(text="multicall(bytes[])")[:4]


def test_reader_output_decodes_and_nets_per_coin_with_exact_1e30_values() -> None:
    # 2 ETH long opened at 3000.000000000000000000000000000001 (a 1e-30 USD tail survives), 0.5 ETH short,
    # 0.1 BTC long with a pending impact cost of 0.0001 BTC.
    long_usd = 6000 * E30 + 2
    raw = reader_answer(
        props(ETH_MARKET, True, long_usd, 2 * 10**18, 1_200_000_000),
        props(ETH_MARKET, False, 1500 * E30, 5 * 10**17, 300_000_000),
        props(BTC_MARKET, True, 6000 * E30, 10**7, 600_000_000, impact=-10_000),
    )
    (decoded,) = decode(output_types("Reader", "getAccountPositions"), raw)
    positions = decode_positions(decoded)
    assert [p.is_long for p in positions] == [True, False, True]
    mids = {"ETH": D(3100), "BTC": D(61000)}
    state = account_state(TRADER, positions, ARB, mids, wallet_usdc=D("1000.5"), time_ms=7)
    btc, eth = state.positions  # by coin
    assert (eth.coin, eth.size) == ("ETH", D("1.5"))  # +2 − 0.5
    assert eth.entry_px == D("3000.000000000000000000000000000001")  # the long side's, to the 1e-30 USD
    # (2 × 3100 − 6000.000…002) + (1500 − 0.5 × 3100): the 1e-30 tail is not rounded away
    assert eth.unrealized_pnl == D("149.999999999999999999999999999998")
    assert btc.size == D("0.1") and btc.unrealized_pnl == D("93.9")  # 6100 − 6000 − 0.0001 × 61000
    # wallet + collateral (1200 + 300 + 600) + uPnL
    assert state.equity == D("3344.399999999999999999999999999998")
    assert (eth.leverage, btc.leverage) == (5, 10)  # $7500 / $1500, $6000 / $600


def test_an_unmapped_market_is_left_out_of_the_positions_but_its_usdc_collateral_counts() -> None:
    stranger = "0x" + "12" * 20
    positions = decode_positions(
        [props(stranger, True, E30, 10**18, 10**6), props(ETH_MARKET, True, 3000 * E30, 10**18, 600_000_000)]
    )
    state = account_state(TRADER, positions, ARB, {"ETH": D(3100)}, D(5), 0)
    assert [(p.coin, p.size) for p in state.positions] == [("ETH", D(1))]
    assert state.equity == D(5) + D(1) + D(600) + D(100)  # wallet + the unmapped one's $1 + ETH's + uPnL
    with pytest.raises(UnmappedMarket, match=r"has no coin mapping; mapped markets: ETH/USD"):
        ARB.market(stranger)
    with pytest.raises(ValueError, match="accepted values are arbitrum, avalanche"):
        load_deployment("mainnet")


# --- logs ---------------------------------------------------------------------------------------------


def position_log(
    name: str, *, is_long: bool, after: int, delta: int, px_usd: int, key: bytes, block: int, index: int
) -> RawLog:
    usd = px_usd * 10**12  # per-unit price of an 18-decimal token at 1e30
    data = EventData(
        "0x" + "0e" * 20,
        name,
        {
            "address": {"account": TRADER, "market": ETH_MARKET, "collateralToken": USDC},
            "uint": {
                "sizeInUsd": after * px_usd // 10**18 * E30,
                "sizeInTokens": after,
                "executionPrice": usd,
                "sizeDeltaUsd": delta * usd,
                "sizeDeltaInTokens": delta,
            },
            "int": {"pendingPriceImpactAmount": 0},
            "bool": {"isLong": is_long},
            "bytes32": {"orderKey": key, "positionKey": bytes(32)},
        },
    )
    topics = [EVENT_LOG1, name_hash(name), address_topic(TRADER)]
    return RawLog("0x" + "ee" * 20, topics, encode_event_data(data), block, index, f"0x{block:064x}")


def outcome_log(name: str, key: bytes, reason: str = "") -> RawLog:
    items: dict[str, dict[str, object]] = {"bytes32": {"key": key}, "address": {"account": TRADER}}
    if reason:
        items["string"] = {"reason": reason}
    data = EventData("0x" + "0e" * 20, name, items)
    topics = [EVENT_LOG2, name_hash(name), key, address_topic(TRADER)]
    return RawLog("0x" + "ee" * 20, topics, encode_event_data(data), 9, 0, "0x" + "00" * 32)


ONE = 10**18


def test_increase_decrease_and_a_flip_in_one_block_from_logs() -> None:
    k1, k2, k3, k4 = (keccak(text=f"order{i}") for i in range(4))
    logs = [
        position_log(
            "PositionIncrease",
            is_long=True,
            after=2 * ONE,
            delta=2 * ONE,
            px_usd=3000,
            key=k1,
            block=10,
            index=3,
        ),
        position_log(
            "PositionIncrease", is_long=True, after=3 * ONE, delta=ONE, px_usd=3000, key=k2, block=11, index=0
        ),
        position_log(
            "PositionDecrease", is_long=True, after=ONE, delta=2 * ONE, px_usd=3000, key=k3, block=12, index=0
        ),
        # the flip: the long closes and a short opens in one block (one multicall, one keeper block)
        position_log(
            "PositionDecrease", is_long=True, after=0, delta=ONE, px_usd=3000, key=k3, block=13, index=0
        ),
        position_log(
            "PositionIncrease",
            is_long=False,
            after=ONE // 2,
            delta=ONE // 2,
            px_usd=3000,
            key=k4,
            block=13,
            index=2,
        ),
    ]
    events = [parse_log(log) for log in logs]
    assert all(isinstance(e, PositionEvent) for e in events)
    tracker = FillTracker(TRADER, ARB)
    times = {10: 1000, 11: 2000, 12: 3000, 13: 4000}
    made = [tracker.fill(e, times[e.block_number]) for e in events if isinstance(e, PositionEvent)]
    fills = [f for f in made if f is not None]
    assert len(fills) == len(made) == 5
    assert [(f.side, f.sz, f.start_position, f.dir) for f in fills] == [
        (Side.BUY, D(2), D(0), "Open Long"),
        (Side.BUY, D(1), D(2), "Open Long"),
        (Side.SELL, D(2), D(3), "Close Long"),
        (Side.SELL, D(1), D(1), "Close Long"),
        (Side.SELL, D("0.5"), D(0), "Open Short"),
    ]
    assert fills[0].oid == order_id(k1) < 2**63 and fills[0].px == D(3000)
    first = events[0]
    assert isinstance(first, PositionEvent)
    assert tracker.fill(replace(first, market="0x" + "12" * 20), 5000) is None  # unmapped: nothing to mirror
    assert tracker.net("ETH") == D("-0.5")  # and the ETH positions it tracks are untouched
    changes = changes_from_fills(TRADER, fills, initial={"ETH": D(0)})
    assert [(c.old, c.new) for c in changes] == [
        (D(0), D(2)),
        (D(2), D(3)),
        (D(3), D(1)),
        (D(1), D("-0.5")),
    ]  # the last: a flip


def test_keeper_outcomes_decode_with_their_reasons() -> None:
    key = keccak(text="k")
    executed = parse_log(outcome_log("OrderExecuted", key))
    cancelled = parse_log(outcome_log("OrderCancelled", key, "OrderNotFulfillableAtAcceptablePrice"))
    frozen = parse_log(outcome_log("OrderFrozen", key, "InsufficientReserve"))
    assert isinstance(executed, OrderEvent) and (executed.name, executed.key) == ("OrderExecuted", key)
    assert executed.account == TRADER
    assert isinstance(cancelled, OrderEvent) and cancelled.reason == "OrderNotFulfillableAtAcceptablePrice"
    assert (
        isinstance(frozen, OrderEvent)
        and frozen.name == "OrderFrozen"
        and frozen.reason == "InsufficientReserve"
    )
    other = RawLog("0x", [EVENT_LOG2, name_hash("DepositCreated"), key, key], b"", 1, 0, "0x")
    assert parse_log(other) is None


# --- execution ----------------------------------------------------------------------------------------


GAS = {
    "INCREASE_ORDER_GAS_LIMIT": 4_000_000,
    "DECREASE_ORDER_GAS_LIMIT": 3_000_000,
    "SINGLE_SWAP_GAS_LIMIT": 1_000_000,
    "ESTIMATED_GAS_FEE_BASE_AMOUNT_V2_1": 600_000,
    "ESTIMATED_GAS_FEE_PER_ORACLE_PRICE": 250_000,
    "ESTIMATED_GAS_FEE_MULTIPLIER_FACTOR": 12 * 10**29,  # 1.2
}


def test_the_execution_fee_follows_gasutils() -> None:
    # base 600k + 3 oracle prices × 250k + 1.2 × 4M = 6,150,000 gas
    assert min_execution_fee(GAS, increase=True, gas_price=10**8) == 6_150_000 * 10**8
    assert min_execution_fee(GAS, increase=False, gas_price=10**8) == (600_000 + 750_000 + 3_600_000) * 10**8


def test_a_flip_is_one_signed_multicall_decrease_then_increase() -> None:
    long = GmxPosition(
        TRADER, ETH_MARKET.lower(), USDC.lower(), True, 600 * E30, 2 * 10**17, 120_000_000, 0, 1, 0
    )
    orders = plan(
        deployment=ARB, coin="ETH", is_buy=False, size=D("0.5"), limit_px=D("2970"), reduce_only=False,
        positions=[long], mid=D(3000), leverage=5, fees=(11, 7),
    )  # fmt: skip
    decrease, increase = orders
    assert (decrease.order_type, decrease.is_long, decrease.size_delta_usd) == (
        OrderType.MARKET_DECREASE,
        True,
        600 * E30,
    )
    assert (increase.order_type, increase.is_long, increase.size_delta_usd) == (
        OrderType.MARKET_INCREASE,
        False,
        900 * E30,
    )
    assert increase.collateral_delta == 180_000_000  # $900 / 5x in USDC units
    assert decrease.acceptable_price == increase.acceptable_price == 2970 * 10**12
    data, value = multicall(orders, TRADER, ARB)
    assert data[:4].hex() == "ac9650d8" and value == 7 + 11
    (calls,) = decode(input_types("ExchangeRouter", "multicall"), data[4:])
    names = ["sendWnt", "createOrder", "sendWnt", "sendTokens", "createOrder"]
    assert [c[:4] for c in calls] == [selector("ExchangeRouter", n) for n in names]
    (params,) = decode(input_types("ExchangeRouter", "createOrder"), calls[4][4:])
    addresses, numbers, order_type, _, is_long, *_ = params
    assert (addresses[0].lower(), addresses[4].lower(), addresses[5].lower()) == (
        TRADER,
        ETH_MARKET.lower(),
        USDC.lower(),
    )
    assert (numbers[0], numbers[3], numbers[4], order_type, is_long) == (
        900 * E30,
        2970 * 10**12,
        11,
        2,
        False,
    )
    # Signed with eth-account: the node would see these bytes from this sender.
    signer = Account.from_key(keccak(text="gmx-signer"))
    tx = {"chainId": 42161, "nonce": 4, "to": ARB.contracts.exchange_router, "data": data, "value": value,
          "gas": 2_000_000, "maxFeePerGas": 2 * 10**8, "maxPriorityFeePerGas": 10**6, "type": 2}  # fmt: skip
    signed = signer.sign_transaction(tx)
    assert Account.recover_transaction(signed.raw_transaction) == signer.address
    sent = TypedTransaction.from_bytes(HexBytes(signed.raw_transaction)).as_dict()
    assert bytes(sent["data"]) == data and sent["value"] == 18 and sent["nonce"] == 4


def test_reduce_only_beyond_the_position_is_refused() -> None:
    with pytest.raises(OrderRefused, match="Reduce only order would increase position"):
        plan(
            deployment=ARB, coin="ETH", is_buy=False, size=D("0.1"), limit_px=D(2970), reduce_only=True,
            positions=[], mid=D(3000), leverage=5, fees=(1, 1),
        )  # fmt: skip
