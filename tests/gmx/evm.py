"""A GMX v2 double on a real in-process EVM (eth-tester + py-evm), with a keeper.

The contracts (tests/gmx/contracts/*.vy, compiled with vyper) expose the real ABIs of what the adapter
calls; the adapter talks to them only through those ABIs (adapters/gmx/data). The keeper is this Python
class: it reads pending orders from the ExchangeRouter double, computes what GMX would (execution at the
price feed's price, checked against the acceptable price, a 0.05% position fee taken from collateral,
proportional collateral and PnL paid out on decreases) and settles each in one transaction through the
OrderHandler double, which writes the positions and emits the events laid out by the real EventEmitter
ABI (encoded with `adapters.gmx.contracts.encode_event_data`).

`EvmProvider` is the node link: it yields to the event loop on each request (a network would), and can
lose answers, fail with a 5xx or add latency for `eth_sendRawTransaction` (the conformance suite's
faults). After each accepted transaction the keeper acts at once (`keeper_auto`), so tests need no
background task; `keeper_auto = False` leaves orders pending.
"""

from __future__ import annotations

import asyncio
import decimal
import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from eth_abi.abi import encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from eth_tester import EthereumTester  # type: ignore[import-untyped]
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3 import AsyncWeb3
from web3.providers.eth_tester import AsyncEthereumTesterProvider
from web3.providers.eth_tester.defaults import API_ENDPOINTS
from web3.types import RPCEndpoint, RPCResponse, Wei

from adapters.gmx.contracts import EventData, address_topic, encode_event_data, name_hash
from adapters.gmx.network import Deployment, load_deployment
from adapters.gmx.orders import OrderType, data_store_key, market_key
from adapters.gmx.units import to_price

CONTRACTS = Path(__file__).parent / "contracts"
PRECISION = 10**30
POSITION_FEE = Decimal("0.0005")
GAS_CONFIG = {
    "INCREASE_ORDER_GAS_LIMIT": 4_000_000,
    "DECREASE_ORDER_GAS_LIMIT": 4_000_000,
    "SINGLE_SWAP_GAS_LIMIT": 1_000_000,
    "ESTIMATED_GAS_FEE_BASE_AMOUNT_V2_1": 600_000,
    "ESTIMATED_GAS_FEE_PER_ORACLE_PRICE": 250_000,
    "ESTIMATED_GAS_FEE_MULTIPLIER_FACTOR": 10**30,
}
STATUS = {"executed": 2, "cancelled": 3, "frozen": 4}
_keys = itertools.count(1)


@cache
def compiled(name: str) -> tuple[list[dict[str, Any]], str]:
    """A double's (ABI, bytecode). Vyper replaces the thread's decimal context when imported (prec 78,
    locked): it is imported and run here only, and the caller's context is put back."""
    saved = decimal.getcontext()
    try:
        import vyper  # type: ignore[import-untyped]

        with decimal.localcontext(decimal.Context(prec=78)):
            source = (CONTRACTS / f"{name}.vy").read_text()
            out = vyper.compile_code(source, output_formats=["abi", "bytecode"])
    finally:
        decimal.setcontext(saved)
    return out["abi"], out["bytecode"]


def new_wallet(label: str) -> LocalAccount:
    account: LocalAccount = Account.from_key(keccak(text=f"mirrorbot-gmx-{label}-{next(_keys)}"))
    return account


class EvmProvider(AsyncEthereumTesterProvider):
    """eth-tester as a node link that behaves like one (yields; faults on sending, see the module doc)."""

    def __init__(self, tester: EthereumTester, chain: GmxChainDouble | None) -> None:
        super(AsyncEthereumTesterProvider, self).__init__()
        self.ethereum_tester = tester
        self.api_endpoints = API_ENDPOINTS
        self.chain = chain

    async def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        await asyncio.sleep(0)
        if method != "eth_sendRawTransaction" or self.chain is None:
            return await super().make_request(method, params)
        faults = self.chain.faults if self.chain.is_order(params[0]) else Faults()
        if faults.rate5xx:
            raise ConnectionError("HTTP 503 from the node")
        if faults.latency_s:
            await asyncio.sleep(faults.latency_s)
        response = await super().make_request(method, params)
        assert self.chain is not None
        if self.chain.keeper_auto and "error" not in response:
            await self.chain.keep()
        if faults.lose > 0:
            faults.lose -= 1
            raise ConnectionResetError("the connection dropped before the answer")
        return response


@dataclass
class Faults:
    rate5xx: bool = False
    latency_s: float = 0.0
    lose: int = 0


@dataclass
class Held:
    """One position the keeper keeps (mirrors Position.Props)."""

    market: str
    collateral: str
    is_long: bool
    size_usd: int = 0
    tokens: int = 0
    collateral_amount: int = 0
    increased_at: int = 0
    decreased_at: int = 0

    def props(self, account: str) -> tuple[Any, ...]:
        numbers = (
            self.size_usd,
            self.tokens,
            self.collateral_amount,
            0,
            0,
            0,
            0,
            0,
            self.increased_at,
            self.decreased_at,
        )
        return ((account, self.market, self.collateral), numbers, (self.is_long,))


@dataclass
class GmxChainDouble:
    """The EVM, the deployed doubles, the keeper and the test controls."""

    tester: EthereumTester
    w3: AsyncWeb3[Any]  # the keeper's own link (no faults, no keeper hook)
    deployment: Deployment
    contracts: dict[str, Any]
    feeds: dict[str, Any]
    funder: str
    faults: Faults = field(default_factory=Faults)
    keeper_auto: bool = True
    cancel_reason: str | None = None  # the keeper cancels orders with this reason while set
    freeze_reason: str | None = None
    held: dict[str, dict[tuple[str, str, bool], Held]] = field(default_factory=dict)
    settled: int = 0

    def is_order(self, raw: str | bytes) -> bool:
        """Is this raw transaction an order submission (to the ExchangeRouter)? Faults target those."""
        data = bytes.fromhex(raw.removeprefix("0x")) if isinstance(raw, str) else bytes(raw)
        to = TypedTransaction.from_bytes(HexBytes(data)).as_dict()["to"]
        return str(to_checksum_address(to)) == self.deployment.contracts.exchange_router

    def venue_w3(self) -> AsyncWeb3[Any]:
        return AsyncWeb3(EvmProvider(self.tester, self))

    # --- controls ---
    async def fund(self, address: str, usdc: Decimal, eth: int = 10**20) -> None:
        await self.w3.eth.send_transaction({"from": self.funder, "to": address, "value": Wei(eth)})
        units = int(usdc.scaleb(6))
        await self.contracts["usdc"].functions.mint(address, units).transact({"from": self.funder})

    async def set_price(self, symbol: str, usd: Decimal) -> None:
        feed = self.feeds[symbol]
        await feed.functions.setAnswer(int(usd.scaleb(8))).transact({"from": self.funder})

    async def price_of(self, symbol: str) -> Decimal:
        _, answer, _, _, _ = await self.feeds[symbol].functions.latestRoundData().call()
        return Decimal(answer).scaleb(-8)

    # --- the keeper ---
    async def keep(self) -> int:
        """Settle every pending order (one transaction each); returns how many."""
        router = self.contracts["exchange_router"]
        count = int(await router.functions.orderCount().call())
        pending = []
        while self.settled < count:
            key = await router.functions.orderKeys(self.settled).call()
            self.settled += 1
            stored = await router.functions.getOrder(key).call()
            if stored[2] == 1:
                pending.append((bytes(key), to_checksum_address(stored[0]), stored[1]))
        if not pending:
            return 0
        # All orders pending now execute in ONE transaction (one block), as a keeper executing a
        # multicall's orders back to back in a block does (a flip's decrease and increase then share a
        # timestamp, the way the source's two orders share one on the venue).
        timestamp = int((await self.w3.eth.get_block("latest"))["timestamp"]) + 1
        batch = [await self._settle(key, account, params, timestamp) for key, account, params in pending]
        await (
            self.contracts["order_handler"]
            .functions.settle(batch)
            .transact({"from": self.funder, "gas": 20_000_000})
        )
        return len(pending)

    async def _settle(
        self, key: bytes, account: str, params: tuple[Any, ...], timestamp: int
    ) -> tuple[Any, ...]:
        """The OrderHandler double's Settlement of one order (the keeper's GMX arithmetic)."""
        addresses, numbers, order_type, _, is_long = params[0], params[1], params[2], params[3], params[4]
        market_address, collateral_token = (
            to_checksum_address(addresses[4]),
            to_checksum_address(addresses[5]),
        )
        size_delta_usd, collateral_in, acceptable, fee = numbers[0], numbers[1], numbers[3], numbers[4]
        market = self.deployment.market(market_address)
        px = to_price(await self.price_of(market.index_token), market.index_decimals)
        increase = order_type == OrderType.MARKET_INCREASE
        book = self.held.setdefault(account, {})
        pos_key = (market_address, collateral_token, bool(is_long))
        pos = book.get(pos_key)
        # GMX: longs increase / shorts decrease at or below the acceptable price; the others at or above.
        buys = increase == bool(is_long)
        reason = self.freeze_reason or self.cancel_reason
        if reason is None and (px > acceptable if buys else px < acceptable):
            reason = "OrderNotFulfillableAtAcceptablePrice"
        if reason is None and not increase and (pos is None or pos.tokens == 0):
            reason = "EmptyPosition"
        logs: list[tuple[bool, bytes, bytes, bytes, bytes]] = []
        refund_token = collateral_in if increase else 0
        write = False
        if reason is None:
            write = True
            if pos is None:
                pos = book[pos_key] = Held(market_address, collateral_token, bool(is_long))
            fee_usd = Decimal(size_delta_usd) * POSITION_FEE / PRECISION
            fee_units = int(fee_usd.scaleb(6))
            if increase:
                delta_tokens = size_delta_usd // px
                pos.size_usd += size_delta_usd
                pos.tokens += delta_tokens
                pos.collateral_amount += collateral_in - fee_units
                pos.increased_at = timestamp
                refund_token = 0
                logs.append(
                    self._position_log(
                        "PositionIncrease", key, account, pos, px, size_delta_usd, delta_tokens
                    )
                )
            else:
                size_delta_usd = min(size_delta_usd, pos.size_usd)
                delta_tokens = (
                    pos.tokens
                    if size_delta_usd == pos.size_usd
                    else pos.tokens * size_delta_usd // pos.size_usd
                )
                value_now = delta_tokens * px
                cost = pos.size_usd * delta_tokens // pos.tokens
                pnl = value_now - cost if pos.is_long else cost - value_now
                share = (
                    pos.collateral_amount
                    if delta_tokens == pos.tokens
                    else pos.collateral_amount * delta_tokens // pos.tokens
                )
                payout = share + pnl * 10**6 // PRECISION - fee_units
                pos.size_usd -= cost
                pos.tokens -= delta_tokens
                pos.collateral_amount -= share
                pos.decreased_at = timestamp
                refund_token = max(payout, 0)
                logs.append(
                    self._position_log(
                        "PositionDecrease", key, account, pos, px, size_delta_usd, delta_tokens
                    )
                )
                if pos.tokens == 0:
                    del book[pos_key]
            logs.append(self._order_log("OrderExecuted", key, account, ""))
            status = STATUS["executed"]
        else:
            name = "OrderFrozen" if self.freeze_reason else "OrderCancelled"
            logs.append(self._order_log(name, key, account, reason))
            status = STATUS["frozen" if self.freeze_reason else "cancelled"]
        positions = [h.props(account) for h in book.values()]
        _ = fee  # the execution fee stays with the keeper double (no refund of the excess)
        return (key, status, account, positions, write, self.deployment.usdc.address, refund_token, 0, logs)

    def _position_log(
        self, name: str, key: bytes, account: str, pos: Held, px: int, size_delta_usd: int, delta_tokens: int
    ) -> tuple[bool, bytes, bytes, bytes, bytes]:
        uints = {
            "sizeInUsd": pos.size_usd,
            "sizeInTokens": pos.tokens,
            "collateralAmount": pos.collateral_amount,
            "borrowingFactor": 0,
            "fundingFeeAmountPerSize": 0,
            "longTokenClaimableFundingAmountPerSize": 0,
            "shortTokenClaimableFundingAmountPerSize": 0,
            "executionPrice": px,
            "indexTokenPrice.max": px,
            "indexTokenPrice.min": px,
            "collateralTokenPrice.max": 10**24,
            "collateralTokenPrice.min": 10**24,
            "sizeDeltaUsd": size_delta_usd,
            "sizeDeltaInTokens": delta_tokens,
            "orderType": int(
                OrderType.MARKET_INCREASE if name == "PositionIncrease" else OrderType.MARKET_DECREASE
            ),
        }
        data = EventData(
            self.contracts["order_handler"].address,
            name,
            {
                "address": {"account": account, "market": pos.market, "collateralToken": pos.collateral},
                "uint": uints,
                "int": {
                    "collateralDeltaAmount": 0,
                    "pendingPriceImpactUsd": 0,
                    "pendingPriceImpactAmount": 0,
                },
                "bool": {"isLong": pos.is_long},
                "bytes32": {
                    "orderKey": key,
                    "positionKey": keccak(
                        encode(
                            ["address", "address", "address", "bool"],
                            [account, pos.market, pos.collateral, pos.is_long],
                        )
                    ),
                },
            },
        )
        return (False, name_hash(name), address_topic(account), bytes(32), encode_event_data(data))

    def _order_log(
        self, name: str, key: bytes, account: str, reason: str
    ) -> tuple[bool, bytes, bytes, bytes, bytes]:
        items: dict[str, dict[str, Any]] = {"bytes32": {"key": key}, "address": {"account": account}}
        if name == "OrderExecuted":
            items["uint"] = {"secondaryOrderType": 0}
        else:
            items["string"] = {"reason": reason}
            items["bytes"] = {"reasonBytes": b""}
        data = EventData(self.contracts["order_handler"].address, name, items)
        return (True, name_hash(name), key, address_topic(account), encode_event_data(data))


def order_created_template(sender: str) -> tuple[bytes, bytes]:
    """The real OrderCreated EventLogData for a zero key, split around the key word."""
    marker = b"\xee" * 32
    data = encode_event_data(EventData(sender, "OrderCreated", {"bytes32": {"key": marker}}))
    at = data.index(marker)
    return data[:at], data[at + 32 :]


async def deploy(w3: AsyncWeb3[Any], funder: str, name: str, *args: Any) -> Any:
    abi, bytecode = compiled(name)
    factory = w3.eth.contract(abi=abi, bytecode=bytecode)
    tx = await factory.constructor(*args).transact({"from": funder, "gas": 20_000_000})
    receipt = await w3.eth.wait_for_transaction_receipt(tx)
    return w3.eth.contract(address=receipt["contractAddress"], abi=abi)


async def start_chain(prices: dict[str, Decimal] | None = None, network: str = "arbitrum") -> GmxChainDouble:
    """A fresh EVM with the GMX doubles deployed and configured (gas keys, max leverage 50, prices)."""
    tester = EthereumTester()
    w3: AsyncWeb3[Any] = AsyncWeb3(EvmProvider(tester, None))
    funder = (await w3.eth.accounts)[0]
    real = load_deployment(network)
    usdc = await deploy(w3, funder, "erc20", 6)
    store = await deploy(w3, funder, "data_store")
    reader = await deploy(w3, funder, "reader")
    emitter = await deploy(w3, funder, "event_emitter")
    router = await deploy(w3, funder, "router")
    handler = await deploy(w3, funder, "order_handler", reader.address, emitter.address)
    prefix, suffix = order_created_template(handler.address)
    exchange = await deploy(
        w3,
        funder,
        "exchange_router",
        router.address,
        store.address,
        emitter.address,
        handler.address,
        prefix,
        suffix,
    )
    await reader.functions.setWriter(handler.address).transact({"from": funder})
    await router.functions.setPlugin(exchange.address).transact({"from": funder})
    await handler.functions.setExchangeRouter(exchange.address).transact({"from": funder})
    feeds: dict[str, Any] = {}
    start = {"WETH": Decimal(3000), "BTC": Decimal(60000), **(prices or {})}
    for symbol in real.price_feeds:
        feeds[symbol] = await deploy(
            w3, funder, "price_feed", 8, int(start.get(symbol, Decimal(1)).scaleb(8))
        )
    for name, amount in GAS_CONFIG.items():
        await store.functions.setUint(data_store_key(name), amount).transact({"from": funder})
    for market in real.markets:
        await store.functions.setUint(
            market_key("MIN_COLLATERAL_FACTOR", market.address), PRECISION // 50
        ).transact({"from": funder})
    deployment = _doubled(real, usdc.address, store, reader, emitter, router, handler, exchange, feeds)
    contracts = {
        "usdc": usdc,
        "data_store": store,
        "reader": reader,
        "event_emitter": emitter,
        "router": router,
        "order_handler": handler,
        "exchange_router": exchange,
    }
    return GmxChainDouble(tester, w3, deployment, contracts, feeds, funder)


def _doubled(
    real: Deployment,
    usdc: str,
    store: Any,
    reader: Any,
    emitter: Any,
    router: Any,
    handler: Any,
    exchange: Any,
    feeds: dict[str, Any],
) -> Deployment:
    from dataclasses import replace

    from adapters.gmx.network import PriceFeed, Token

    deployment = real.with_contracts(
        reader=reader.address,
        data_store=store.address,
        exchange_router=exchange.address,
        router=router.address,
        order_vault=handler.address,
        event_emitter=emitter.address,
    )
    return replace(
        deployment,
        usdc=Token(usdc, 6),
        price_feeds={s: PriceFeed(f.address, 8) for s, f in feeds.items()},
    )
