"""GMX's EventEmitter logs → typed events → the domain's `SourceFill`s.

Position changes are `EventLog1` logs named `PositionIncrease` / `PositionDecrease` with topic1 = the
account; order outcomes are `EventLog2` logs `OrderCreated` / `OrderExecuted` / `OrderCancelled` /
`OrderFrozen` with topic1 = the order key and topic2 = the account.

A fill's `start_position` is the venue's own statement, as on Hyperliquid: the event carries the
position's size after it and the delta, so the size before is known; the account's other positions in the
coin (other markets, collateral tokens, the opposite side) come from the tracker that saw them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from adapters.gmx.contracts import EVENT_LOG1, EVENT_LOG2, RawLog, decode_event_data, name_hash, topic_address
from adapters.gmx.network import Deployment
from adapters.gmx.positions import GmxPosition
from adapters.gmx.units import from_units, price
from bot.domain import Side, SourceFill

POSITION_INCREASE: Final = "PositionIncrease"
POSITION_DECREASE: Final = "PositionDecrease"
ORDER_CREATED: Final = "OrderCreated"
ORDER_EXECUTED: Final = "OrderExecuted"
ORDER_CANCELLED: Final = "OrderCancelled"
ORDER_FROZEN: Final = "OrderFrozen"
POSITION_EVENTS: Final = (POSITION_INCREASE, POSITION_DECREASE)
ORDER_OUTCOMES: Final = (ORDER_EXECUTED, ORDER_CANCELLED, ORDER_FROZEN)
_NAMES: Final = {name_hash(n): n for n in (*POSITION_EVENTS, ORDER_CREATED, *ORDER_OUTCOMES)}


@dataclass(frozen=True, slots=True)
class PositionEvent:
    name: str  # PositionIncrease | PositionDecrease
    account: str
    market: str
    collateral_token: str
    is_long: bool
    size_in_tokens: int  # the position's size after the event
    size_delta_in_tokens: int
    size_delta_usd: int
    execution_price: int
    order_key: bytes
    block_number: int
    log_index: int
    tx_hash: str

    @property
    def key(self) -> tuple[str, str, bool]:
        return (self.market, self.collateral_token, self.is_long)

    @property
    def increase(self) -> bool:
        return self.name == POSITION_INCREASE

    @property
    def size_before(self) -> int:
        return (
            self.size_in_tokens - self.size_delta_in_tokens
            if self.increase
            else self.size_in_tokens + self.size_delta_in_tokens
        )


@dataclass(frozen=True, slots=True)
class OrderEvent:
    name: str  # OrderCreated | OrderExecuted | OrderCancelled | OrderFrozen
    key: bytes
    account: str
    reason: str
    block_number: int
    log_index: int
    tx_hash: str


def parse_log(log: RawLog) -> PositionEvent | OrderEvent | None:
    """A typed event, or None for an EventEmitter log we do not use."""
    if len(log.topics) < 3 or log.topics[0] not in (EVENT_LOG1, EVENT_LOG2):
        return None
    name = _NAMES.get(log.topics[1])
    if name is None:
        return None
    data = decode_event_data(log.data)
    if name in POSITION_EVENTS:
        return PositionEvent(
            name=name,
            account=data.address("account"),
            market=data.address("market"),
            collateral_token=data.address("collateralToken"),
            is_long=data.bool("isLong"),
            size_in_tokens=data.uint("sizeInTokens"),
            size_delta_in_tokens=data.uint("sizeDeltaInTokens"),
            size_delta_usd=data.uint("sizeDeltaUsd"),
            execution_price=data.uint("executionPrice"),
            order_key=data.bytes32("orderKey"),
            block_number=log.block_number,
            log_index=log.log_index,
            tx_hash=log.tx_hash,
        )
    if log.topics[0] != EVENT_LOG2 or len(log.topics) < 4:
        return None
    return OrderEvent(
        name=name,
        key=bytes(log.topics[2]),
        account=topic_address(log.topics[3]),
        reason=data.string("reason"),
        block_number=log.block_number,
        log_index=log.log_index,
        tx_hash=log.tx_hash,
    )


def order_id(key: bytes) -> int:
    """A GMX order key (bytes32) as the domain's integer order id: its first 63 bits (fits a BIGINT)."""
    return int.from_bytes(key[:8], "big") >> 1


def trade_id(block_number: int, log_index: int) -> int:
    """Unique per log on one chain: the block and the log's index in it."""
    return block_number * 1_000_000 + log_index


_DIRS: Final = {(True, True): "Open Long", (True, False): "Open Short", (False, True): "Close Long"}


class FillTracker:
    """One source's GMX positions by key, kept current by its position events, turning each event into
    the `SourceFill` it means for the netted coin."""

    def __init__(self, source: str, deployment: Deployment, positions: Iterable[GmxPosition] = ()) -> None:
        self.source = source
        self.deployment = deployment
        self._sizes: dict[tuple[str, str, bool], int] = {p.key: p.size_in_tokens for p in positions}

    def net(self, coin: str) -> Decimal:
        total = Decimal(0)
        for (market, _, is_long), tokens in self._sizes.items():
            found = self.deployment.find_market(market)
            if found is not None and found.coin == coin:
                amount = from_units(tokens, found.index_decimals)
                total += amount if is_long else -amount
        return total

    def fill(self, event: PositionEvent, time_ms: int) -> SourceFill | None:
        """The fill `event` means for its coin; None for a market the data does not map (no coin to
        mirror it to: the venue logs it, the pipeline never sees it)."""
        market = self.deployment.find_market(event.market)
        if market is None:
            return None
        others = self.net(market.coin) - self._signed(event.key, self._sizes.get(event.key, 0))
        start = others + self._signed(event.key, event.size_before)
        self._sizes[event.key] = event.size_in_tokens
        adds = event.increase == event.is_long  # an increase of a long or a decrease of a short buys
        return SourceFill(
            coin=market.coin,
            px=price(event.execution_price, market.index_decimals),
            sz=from_units(event.size_delta_in_tokens, market.index_decimals),
            side=Side.BUY if adds else Side.SELL,
            time_ms=time_ms,
            oid=order_id(event.order_key),
            tid=trade_id(event.block_number, event.log_index),
            start_position=start,
            hash=event.tx_hash,
            dir=_DIRS.get((event.increase, event.is_long), "Close Short"),
            source=self.source,
        )

    def _signed(self, key: tuple[str, str, bool], tokens: int) -> Decimal:
        market = self.deployment.market(key[0])
        amount = from_units(tokens, market.index_decimals)
        return amount if key[2] else -amount
