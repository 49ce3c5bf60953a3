"""`GmxVenue`: the `Venue` protocol over GMX v2 (gmx-synthetics) through web3.

Reading: `Reader.getAccountPositions` netted per coin (see positions.py), mids from the index tokens'
Chainlink feeds, equity = wallet USDC + collateral + uPnL.

Watching: every `poll_interval_s` the head block is read; the EventEmitter's `EventLog1` logs named
`PositionIncrease` / `PositionDecrease` with topic1 = a watched account, from the block after the last
one read up to `head - confirmations`, become `SourceFill`s (each exactly once: a block range is read
once). `events()` adds each source's `AccountState` read through the Reader at that block.

Trading (two-step): `place` plans GMX market orders (orders.py), approves the Router for USDC if needed,
signs one `ExchangeRouter.multicall` transaction with eth-account, and follows the orders it created
(`OrderCreated` in the receipt) to their keeper outcome: `OrderExecuted` → FILLED (size and price from
the `Position*` events of those orders), `OrderCancelled` → CANCELED (the keeper's reason), `OrderFrozen`
→ REJECTED; still pending after `keeper_timeout_s` → RESTING (look it up later with `order_status`).
No answer from the node when sending → UNKNOWN; `order_status(cloid)` then finds the transaction through
the journal, and placing the same cloid again re-signs it with the same nonce (journal.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any, Final

from eth_utils.address import to_checksum_address
from web3 import AsyncWeb3
from web3.exceptions import BadFunctionCallOutput, ContractLogicError, Web3RPCError

from adapters.gmx.chain import MAX_UINT, GmxChain, local_account
from adapters.gmx.contracts import calldata, name_hash
from adapters.gmx.events import (
    ORDER_CREATED,
    ORDER_EXECUTED,
    ORDER_FROZEN,
    ORDER_OUTCOMES,
    POSITION_EVENTS,
    FillTracker,
    OrderEvent,
    PositionEvent,
    order_id,
    parse_log,
)
from adapters.gmx.journal import JournalEntry, OrderJournal
from adapters.gmx.network import Deployment, load_deployment, load_deployment_file
from adapters.gmx.orders import OrderRefused, min_execution_fee, multicall, plan
from adapters.gmx.positions import GmxPosition, account_state, unmapped
from adapters.gmx.units import from_units, price
from bot.domain import (
    DEFAULT_DEX,
    AccountRole,
    AccountState,
    AgentApproval,
    Candle,
    FundingPayment,
    Instrument,
    OpenOrder,
    OrderBook,
    OrderRequest,
    OrderResult,
    OrderStatus,
    SourceFill,
    TradingAccount,
    VenueCapabilities,
)
from bot.domain.hyperliquid import HYPERLIQUID_WORDS
from bot.domain.refusals import without_asset

__all__ = ["GMX_CAPABILITIES", "GmxVenue", "VenueUnsupported"]

log = logging.getLogger(__name__)

GMX_CAPABILITIES: Final = VenueCapabilities(
    name="gmx",
    min_notional=Decimal(10),
    websocket_fills=False,
    max_ws_users=0,
    order_by_cloid=False,  # no venue-side client ids: cloids are mapped to transactions locally
    schedule_cancel=False,
    trigger_orders=False,
    agent_wallets=False,
    vaults=False,
    two_step_execution=True,
    weight_budget_per_minute=0,
    label="GMX",
)
LEVERAGE_WORDS: Final = without_asset(HYPERLIQUID_WORDS.leverage)  # Hyperliquid's words: one classification
MIN_NOTIONAL_WORDS: Final = without_asset(HYPERLIQUID_WORDS.min_value).replace("{min}", "{}")
DEFAULT_LEVERAGE: Final = 5


def _reason(exc: BaseException) -> str:
    """An exception's words for an order result (a revert reason as the contract gave it)."""
    return f"{type(exc).__name__}: {exc}"


class VenueUnsupported(NotImplementedError):
    """The venue has no such feature (its capabilities say so)."""


@dataclass(frozen=True, slots=True)
class _Sent:
    keys: list[bytes]
    block: int


class GmxVenue:
    """See the module docstring. `data_dir` holds the cloid journal (None: memory only)."""

    capabilities: VenueCapabilities = GMX_CAPABILITIES

    def __init__(
        self,
        w3: AsyncWeb3[Any],
        deployment: Deployment,
        *,
        data_dir: Path | None = None,
        poll_interval_s: float = 1.0,
        timeout_s: float = 10.0,
        keeper_timeout_s: float = 60.0,
        fee_multiplier: Decimal = Decimal("1.2"),
        default_leverage: int = DEFAULT_LEVERAGE,
        confirmations: int = 0,
        pending_status: OrderStatus = OrderStatus.RESTING,
    ) -> None:
        self.w3 = w3
        self.deployment = deployment
        self.chain = GmxChain(w3, deployment)
        self.journal = OrderJournal(None if data_dir is None else data_dir / "gmx-orders.json")
        self.poll_interval_s = poll_interval_s
        self.timeout_s = timeout_s
        self.keeper_timeout_s = keeper_timeout_s
        self.fee_multiplier = fee_multiplier
        self.default_leverage = default_leverage
        self.confirmations = confirmations
        # What an order the keeper has not acted on yet is answered with (place after `keeper_timeout_s`,
        # order_status): RESTING (it is pending and cancellable), or UNKNOWN for a caller whose market
        # orders must not count as settled before they executed (the live pipeline: its pair then waits,
        # and the lookups of unknown outcomes settle it once the keeper acted).
        self.pending_status = pending_status
        self._first_of: dict[int, int] = {}  # an order's oid → the oid of its transaction's first order
        self._leverage: dict[tuple[str, str], int] = {}
        self._max_leverage: dict[str, int] = {}
        self.unmapped_markets: set[str] = set()  # seen in an account or its events (logged once each)

    @classmethod
    def connect(
        cls, rpc_url: str, network: str, *, deployment_file: Path | None = None, **options: Any
    ) -> GmxVenue:
        """A venue on `network`'s packaged deployment (or the one in `deployment_file`: a fork, a testnet)
        through the JSON-RPC endpoint `rpc_url`."""
        deployment = load_deployment_file(deployment_file) if deployment_file else load_deployment(network)
        w3 = AsyncWeb3(AsyncWeb3.AsyncHTTPProvider(rpc_url))
        return cls(w3, deployment, **options)

    # --- market data and accounts ---
    def _coins(self) -> list[str]:
        return list(dict.fromkeys(m.coin for m in self.deployment.markets))

    async def perp_dexs(self) -> list[str]:
        return [DEFAULT_DEX]  # GMX has no builder-deployed dexes: one market list

    async def instruments(self) -> list[Instrument]:
        out = []
        for asset, coin in enumerate(self._coins()):
            market = self.deployment.trading_market(coin)
            if coin not in self._max_leverage:
                self._max_leverage[coin] = await self.chain.max_leverage(market)
            out.append(Instrument(coin, asset, market.sz_decimals, self._max_leverage[coin]))
        return out

    async def mids(self) -> dict[str, Decimal]:
        coins = self._coins()
        prices = await asyncio.gather(*(self.chain.price(self.deployment.trading_market(c)) for c in coins))
        return dict(zip(coins, prices, strict=True))

    def stream_mids(self) -> None:
        """No push feed of prices here: `mids()` reads the oracle's prices, watch or not."""

    async def reference_prices(self) -> dict[str, Decimal]:
        """None apart from the mids: GMX's mid is its oracle's price already (a jump then waits to
        persist: bot/risk/outliers.py)."""
        return {}

    async def state_at(self, address: str, block: int) -> AccountState:
        positions, wallet, mids, time_ms = await asyncio.gather(
            self.chain.positions(address, block),
            self.chain.usdc_balance(address, block),
            self.mids(),
            self.chain.block_time_ms(block),
        )
        for position in unmapped(positions, self.deployment):
            self._tell_unmapped(address, position.market)
        return account_state(address, positions, self.deployment, mids, wallet, time_ms)

    def _tell_unmapped(self, address: str, market: str) -> None:
        """A market the data does not map is left out (nothing to mirror it to), and said once."""
        if market.lower() in self.unmapped_markets:
            return
        self.unmapped_markets.add(market.lower())
        log.warning(
            "gmx: %s holds a position in market %s, which %s's data maps to no coin: not mirrored",
            address,
            market,
            self.deployment.network,
        )

    async def account(self, address: str) -> AccountState:
        return await self.state_at(address, await self.chain.head())

    async def _first_block_at(self, time_ms: int, head: int) -> int:
        """The first block whose timestamp is at or after `time_ms` (head + 1 if none)."""
        low, high = 0, head + 1
        while low < high:
            middle = (low + high) // 2
            if await self.chain.block_time_ms(middle) >= time_ms:
                high = middle
            else:
                low = middle + 1
        return low

    async def fills_between(self, address: str, start_ms: int, end_ms: int) -> list[SourceFill]:
        return [fill for fill in await self.fills_since(address, start_ms) if fill.time_ms <= end_ms]

    async def funding(self, address: str, start_ms: int, end_ms: int) -> list[FundingPayment]:
        raise VenueUnsupported("GMX settles funding into positions: there are no payments to read")

    async def order_book(self, coin: str) -> OrderBook | None:
        raise VenueUnsupported("GMX trades against pools: there is no order book")

    async def hourly_candles(self, coin: str, start_ms: int, end_ms: int) -> list[Candle]:
        raise VenueUnsupported("GMX's contracts keep no price history: there are no candles to read")

    def requests_made(self) -> int:
        return 0  # JSON-RPC calls are not counted: a GMX read reports no page progress

    async def account_role(self, address: str) -> AccountRole:
        raise VenueUnsupported("GMX has no agent wallets: an account signs for itself")

    async def agents(self, master: str) -> list[AgentApproval]:
        raise VenueUnsupported("GMX has no agent wallets: an account signs for itself")

    async def max_builder_fee(self, user: str, builder: str) -> int:
        raise VenueUnsupported("GMX has no builder codes: an order pays no builder")

    async def approve_builder_fee(self, master_key: str, builder: str, tenths_bp: int) -> None:
        raise VenueUnsupported("GMX has no builder codes: an order pays no builder")

    async def fills_since(self, address: str, start_ms: int) -> list[SourceFill]:
        head = await self.chain.head()
        first = await self._first_block_at(start_ms, head)
        if first > head:
            return []
        tracker = FillTracker(address, self.deployment, await self._positions_before(address, first))
        fills = await self._fills(tracker, [address], first, head)
        # Our own orders' fills under the oid their placing was answered with (a flip's two orders share
        # one answer): what the fill reader matches them by. A watch reports the chain's own order ids.
        return [replace(f, oid=self._first_of.get(f.oid, f.oid)) for f in fills]

    async def _positions_before(self, address: str, first: int) -> list[GmxPosition]:
        """`address`'s positions just before block `first`: none before the deployment's Reader existed
        (a read from shortly after it was deployed, as on a fresh chain, asks for such a block)."""
        if first == 0:
            return []
        try:
            return await self.chain.positions(address, first - 1)
        except BadFunctionCallOutput:
            code = await self.w3.eth.get_code(
                to_checksum_address(self.deployment.contracts.reader), block_identifier=first - 1
            )
            if len(code) == 0:
                return []
            raise

    async def _fills(
        self, tracker: FillTracker | dict[str, FillTracker], sources: list[str], first: int, last: int
    ) -> list[SourceFill]:
        logs = await self.chain.logs_for_accounts(first, last, POSITION_EVENTS, sources)
        trackers = tracker if isinstance(tracker, dict) else {sources[0].lower(): tracker}
        fills = []
        for raw in logs:
            event = parse_log(raw)
            if isinstance(event, PositionEvent) and event.account in trackers:
                time_ms = await self.chain.block_time_ms(event.block_number)
                fill = trackers[event.account].fill(event, time_ms)
                if fill is None:
                    self._tell_unmapped(event.account, event.market)
                else:
                    fills.append(fill)
        return fills

    # --- watching ---
    async def watch(self, sources: Sequence[str]) -> AsyncGenerator[SourceFill, None]:
        """Every position change of `sources` from now on, as fills, once each."""
        async for event in self.events(sources, snapshots=False):
            if isinstance(event, SourceFill):
                yield event

    async def events(
        self, sources: Sequence[str], *, snapshots: bool = True
    ) -> AsyncGenerator[SourceFill | AccountState, None]:
        """Fills, and (with `snapshots`) every source's state at each block read."""
        sources = list(dict.fromkeys(sources))
        if not sources:
            raise ValueError("sources: expected at least one address to watch")
        cursor = max(0, await self.chain.head() - self.confirmations)
        trackers: dict[str, FillTracker] = {}
        for source, positions in zip(
            sources, await asyncio.gather(*(self.chain.positions(s, cursor) for s in sources)), strict=True
        ):
            trackers[source.lower()] = FillTracker(source, self.deployment, positions)
        while True:
            head = await self.chain.head() - self.confirmations
            if head > cursor:
                for fill in await self._fills(trackers, sources, cursor + 1, head):
                    yield fill
                cursor = head
                if snapshots:
                    for source in sources:
                        yield await self.state_at(source, head)
            await asyncio.sleep(self.poll_interval_s)

    # --- trading ---
    async def update_leverage(self, account: TradingAccount, coin: str, leverage: int, cross: bool) -> None:
        """GMX has no account leverage setting: leverage is collateral chosen per increase. This sets the
        leverage `place` sizes the USDC collateral of `account`'s increases in `coin` with. GMX margin is
        always per position (isolated); `cross` cannot be honoured and is ignored."""
        maximum = {i.coin: i.max_leverage for i in await self.instruments()}
        if coin not in maximum:
            raise ValueError(f"coin: {coin!r} has no GMX market; mapped coins: {sorted(maximum)}")
        if not 1 <= leverage <= maximum[coin]:
            raise ValueError(f"{LEVERAGE_WORDS}: {leverage} (accepted 1..{maximum[coin]} for {coin})")
        self._leverage[(account.address.lower(), coin)] = leverage

    async def schedule_cancel(self, account: TradingAccount, at_ms: int | None) -> None:
        raise VenueUnsupported("gmx has no schedule_cancel (dead-man switch)")

    async def place(self, account: TradingAccount, orders: Sequence[OrderRequest]) -> list[OrderResult]:
        return [await self._place_one(account, order) for order in orders]

    async def _place_one(self, account: TradingAccount, order: OrderRequest) -> OrderResult:
        if order.trigger is not None:  # capabilities.trigger_orders is False
            return OrderResult(
                OrderStatus.REJECTED, order.cloid, error="gmx: trigger orders are not supported"
            )
        signer = local_account(account.signer_key)
        if signer.address.lower() != account.address.lower() or account.vault_address:
            return OrderResult(
                OrderStatus.REJECTED,
                order.cloid,
                error="gmx: the signer must be the account (no agents, no vaults)",
            )
        reuse_nonce: int | None = None
        if order.cloid is not None and (entry := self.journal.get(order.cloid)) is not None:
            known = await self.order_status(account, order.cloid)
            if known.status is not OrderStatus.NOT_FOUND:
                return known  # never place one cloid twice
            reuse_nonce = entry.nonce
        try:
            raw, value = await self._build(account.address, order)
        except OrderRefused as refused:
            return OrderResult(OrderStatus.REJECTED, order.cloid, error=str(refused))
        try:
            await self._approve_if_needed(signer, value)
            signed, sent = await self.chain.sign(
                signer, self.deployment.contracts.exchange_router, raw, value[0], nonce=reuse_nonce
            )
        except Exception as exc:  # nothing was sent: the estimate reverted or the node did not answer
            self.chain.forget_nonce(signer.address)
            return OrderResult(OrderStatus.REJECTED, order.cloid, error=f"not sent: {_reason(exc)}")
        if order.cloid is not None:
            self.journal.record(order.cloid, JournalEntry(sent.tx_hash, sent.nonce, sent.sender))
        try:
            await asyncio.wait_for(self.chain.send_raw(signed), self.timeout_s)
        except Web3RPCError as exc:
            if "already known" not in str(exc):
                self.chain.forget_nonce(signer.address)
                return OrderResult(OrderStatus.REJECTED, order.cloid, error=f"refused by the node: {exc}")
        except Exception as exc:  # no answer: it may or may not be on its way
            log.warning("gmx place %s: no answer (%s); look it up by cloid", order.cloid, type(exc).__name__)
            self.chain.forget_nonce(signer.address)
            return OrderResult(OrderStatus.UNKNOWN, order.cloid, error=f"no answer: {type(exc).__name__}")
        return await self._follow(account.address, order.cloid, sent.tx_hash, wait=True)

    async def _build(self, address: str, order: OrderRequest) -> tuple[bytes, tuple[int, int]]:
        """(multicall calldata, (native value, USDC collateral units)); `OrderRefused` if it cannot be."""
        positions, mids, gas, gas_price = await asyncio.gather(
            self.chain.positions(address),
            self.mids(),
            self.chain.gas_values(),
            self.chain.max_fee_per_gas(),
        )
        if order.coin not in mids:
            raise OrderRefused(f"coin: {order.coin!r} has no GMX market; mapped coins: {sorted(mids)}")
        mid = mids[order.coin]
        self._check_notional(order, positions, mid)
        fees = tuple(
            int(
                (
                    Decimal(min_execution_fee(gas, increase=inc, gas_price=gas_price)) * self.fee_multiplier
                ).to_integral_value(ROUND_CEILING)
            )
            for inc in (True, False)
        )
        planned = plan(
            deployment=self.deployment,
            coin=order.coin,
            is_buy=order.is_buy,
            size=order.size,
            limit_px=order.limit_px,
            reduce_only=order.reduce_only,
            positions=positions,
            mid=mid,
            leverage=self._leverage.get((address.lower(), order.coin), self.default_leverage),
            fees=(fees[0], fees[1]),
        )
        collateral = sum(o.collateral_delta for o in planned if o.increase)
        wallet = await self.chain.usdc_balance(address)
        needed = from_units(collateral, self.deployment.usdc.decimals)
        if needed > wallet:
            raise OrderRefused(
                f"Insufficient USDC collateral: the order needs {needed}, the wallet holds {wallet}"
            )
        data, value = multicall(planned, address, self.deployment)
        return data, (value, collateral)

    def _check_notional(self, order: OrderRequest, positions: Sequence[GmxPosition], mid: Decimal) -> None:
        if order.size * mid >= self.capabilities.min_notional:
            return
        # A reduce-only order that closes the opposite side exactly is always allowed (as on Hyperliquid).
        opposite = sum(
            (
                from_units(p.size_in_tokens, m.index_decimals)
                for p in positions
                if p.is_long != order.is_buy
                and (m := self.deployment.find_market(p.market)) is not None
                and m.coin == order.coin
            ),
            Decimal(0),
        )
        if not (order.reduce_only and order.size == opposite):
            raise OrderRefused(MIN_NOTIONAL_WORDS.format(self.capabilities.min_notional))

    async def _approve_if_needed(self, signer: Any, value: tuple[int, int]) -> None:
        """The Router pulls the collateral (sendTokens → Router.pluginTransfer): it needs an allowance."""
        if value[1] == 0 or await self.chain.usdc_allowance(signer.address) >= value[1]:
            return
        data = calldata("ERC20", "approve", self.deployment.contracts.router, MAX_UINT)
        signed, sent = await self.chain.sign(signer, self.deployment.usdc.address, data)
        await self.chain.send_raw(signed)
        receipt = await self._receipt(sent.tx_hash, self.keeper_timeout_s)
        if receipt is None or int(receipt["status"]) != 1:
            raise ContractLogicError("the USDC approval of the GMX Router did not succeed")

    async def _receipt(self, tx_hash: str, bound_s: float) -> dict[str, Any] | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + bound_s
        while True:
            receipt = await self.chain.receipt(tx_hash)
            if receipt is not None or loop.time() >= deadline:
                return receipt
            await asyncio.sleep(min(self.poll_interval_s, 0.25))

    def _created(self, receipt: dict[str, Any]) -> _Sent:
        keys = []
        emitter = self.deployment.contracts.event_emitter.lower()
        created = name_hash(ORDER_CREATED)
        for entry in receipt["logs"]:
            topics = [bytes(t) for t in entry["topics"]]
            if str(entry["address"]).lower() == emitter and len(topics) == 4 and topics[1] == created:
                keys.append(topics[2])
        return _Sent(keys, int(receipt["blockNumber"]))

    async def _follow(self, address: str, cloid: str | None, tx_hash: str, *, wait: bool) -> OrderResult:
        """The outcome of the orders `tx_hash` created; with `wait`, waiting up to the keeper timeout."""
        receipt = await (
            self._receipt(tx_hash, self.keeper_timeout_s) if wait else self.chain.receipt(tx_hash)
        )
        if receipt is None:
            pending = await self._is_pending(tx_hash)
            return OrderResult(self.pending_status if pending else OrderStatus.NOT_FOUND, cloid)
        if int(receipt["status"]) != 1:
            return OrderResult(OrderStatus.REJECTED, cloid, error=f"transaction {tx_hash} reverted")
        sent = self._created(receipt)
        if not sent.keys:
            return OrderResult(OrderStatus.REJECTED, cloid, error=f"transaction {tx_hash} created no order")
        # One answer (one oid) per transaction: a flip's two orders' fills are reported under the first's.
        self._first_of.update(dict.fromkeys(map(order_id, sent.keys), order_id(sent.keys[0])))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.keeper_timeout_s if wait else 0)
        while True:
            outcomes = await self._outcomes(sent)
            if len(outcomes) == len(sent.keys) or loop.time() >= deadline:
                break
            await asyncio.sleep(min(self.poll_interval_s, 0.25))
        return await self._result(address, cloid, sent, outcomes)

    async def _is_pending(self, tx_hash: str) -> bool:
        try:
            await self.w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
        except Exception:
            return False
        return True

    async def _outcomes(self, sent: _Sent) -> dict[bytes, OrderEvent]:
        head = await self.chain.head()
        logs = await self.chain.logs(sent.block, head, "EventLog2", ORDER_OUTCOMES, sent.keys)
        found: dict[bytes, OrderEvent] = {}
        for raw in logs:
            event = parse_log(raw)
            if isinstance(event, OrderEvent) and event.key in sent.keys:
                found.setdefault(event.key, event)
        return found

    async def _result(
        self, address: str, cloid: str | None, sent: _Sent, outcomes: dict[bytes, OrderEvent]
    ) -> OrderResult:
        oid = order_id(sent.keys[0])
        executed = [k for k, e in outcomes.items() if e.name == ORDER_EXECUTED]
        filled, notional = Decimal(0), Decimal(0)
        if executed:
            last = max(outcomes[k].block_number for k in executed)
            for raw in await self.chain.logs_for_accounts(sent.block, last, POSITION_EVENTS, [address]):
                event = parse_log(raw)
                if isinstance(event, PositionEvent) and event.order_key in executed:
                    market = self.deployment.market(event.market)
                    size = from_units(event.size_delta_in_tokens, market.index_decimals)
                    filled += size
                    notional += size * price(event.execution_price, market.index_decimals)
        reasons = "; ".join(f"{e.name}: {e.reason}" for e in outcomes.values() if e.name != ORDER_EXECUTED)
        error = reasons or None
        if filled > 0:
            return OrderResult(OrderStatus.FILLED, cloid, oid, filled, notional / filled, error)
        if len(outcomes) < len(sent.keys):
            return OrderResult(self.pending_status, cloid, oid, error=error)  # the keeper has not acted yet
        if any(e.name == ORDER_FROZEN for e in outcomes.values()):
            return OrderResult(OrderStatus.REJECTED, cloid, oid, error=error)
        return OrderResult(OrderStatus.CANCELED, cloid, oid, error=error)

    async def order_status(self, account: TradingAccount, cloid: str) -> OrderResult:
        entry = self.journal.get(cloid)
        if entry is None:
            return OrderResult(OrderStatus.NOT_FOUND, cloid)
        return await self._follow(account.address, cloid, entry.tx_hash, wait=False)

    async def open_orders(self, account: TradingAccount) -> list[OpenOrder]:
        """Not supported: GMX keeps no resting orders of ours (no trigger orders, `trigger_orders`
        False); a pending market order is followed by cloid (`order_status`) instead."""
        raise NotImplementedError("gmx: open orders are not listed (trigger_orders is False)")

    async def cancel(self, account: TradingAccount, coin: str, cloid: str) -> bool:
        """Cancel the still-pending GMX orders of `cloid` (`ExchangeRouter.cancelOrder`). False when none
        is pending (executed, cancelled, never placed)."""
        entry = self.journal.get(cloid)
        if entry is None:
            return False
        receipt = await self.chain.receipt(entry.tx_hash)
        if receipt is None or int(receipt["status"]) != 1:
            return False
        sent = self._created(receipt)
        pending = [k for k in sent.keys if k not in await self._outcomes(sent)]
        if not pending:
            return False
        signer = local_account(account.signer_key)
        calls = [calldata("ExchangeRouter", "cancelOrder", key) for key in pending]
        data = calldata("ExchangeRouter", "multicall", calls)
        signed, tx = await self.chain.sign(signer, self.deployment.contracts.exchange_router, data)
        await self.chain.send_raw(signed)
        done = await self._receipt(tx.tx_hash, self.keeper_timeout_s)
        return done is not None and int(done["status"]) == 1

    async def close(self) -> None:
        provider = self.w3.provider
        disconnect = getattr(provider, "disconnect", None)
        if disconnect is not None:
            with contextlib.suppress(Exception):
                await disconnect()
