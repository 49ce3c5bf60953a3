"""Typed domain objects the pipeline stages exchange (never venue JSON).

Adapters import this package only (tests/unit/test_layering.py). Sizes and money are `Decimal`; times
are UTC milliseconds. Its modules: `accounting` (position accounting, for paper and analytics),
`refusals` (what a venue's refusal is about), `hyperliquid` (Hyperliquid's words and taker fee),
`equity` (an account's equity across perp dexes: E_S and E_F).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Protocol


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


DEFAULT_DEX = ""  # the venue's first perp dex; a builder-deployed dex (HIP-3) has a name


def dex_of(coin: str) -> str:
    """The perp dex a coin trades on: a builder dex's coins are named `dex:COIN` (`xyz:TSLA`), the
    default dex's have no prefix (`ETH`)."""
    dex, sep, _ = coin.partition(":")
    return dex if sep else DEFAULT_DEX


@dataclass(frozen=True, slots=True)
class Instrument:
    """One perp market as the venue lists it (a builder dex's coin as `dex:COIN`)."""

    coin: str
    asset: int
    sz_decimals: int
    max_leverage: int
    only_isolated: bool = False  # the market takes isolated margin only (HIP-3 `onlyIsolated`)

    @property
    def lot(self) -> Decimal:
        return Decimal(1).scaleb(-self.sz_decimals)

    @property
    def dex(self) -> str:
        return dex_of(self.coin)


def listed_instrument(instruments: Mapping[str, Instrument], coin: str) -> Instrument:
    """`coin`'s instrument, or a ValueError naming the coins the venue lists."""
    instrument = instruments.get(coin)
    if instrument is None:
        raise ValueError(f"coin: {coin!r} is not listed; the venue lists {', '.join(sorted(instruments))}")
    return instrument


@dataclass(frozen=True, slots=True)
class Position:
    coin: str
    size: Decimal  # signed: + long, - short
    entry_px: Decimal | None
    leverage: int | None = None
    unrealized_pnl: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class AccountState:
    address: str
    equity: Decimal
    positions: tuple[Position, ...]
    time_ms: int

    def size(self, coin: str) -> Decimal:
        for pos in self.positions:
            if pos.coin == coin:
                return pos.size
        return Decimal(0)


@dataclass(frozen=True, slots=True)
class SourceFill:
    """One fill of a watched source wallet, venue-neutral (parsed by the venue adapter)."""

    coin: str
    px: Decimal
    sz: Decimal  # unsigned
    side: Side  # the source's side: BUY adds to the position, SELL subtracts
    time_ms: int
    oid: int
    tid: int | None  # trade id; None in old recordings (then hash+oid+sz identify the fill)
    start_position: Decimal  # the source's signed position before this fill
    hash: str = ""
    dir: str = ""
    closed_pnl: Decimal = Decimal(0)
    fee: Decimal = Decimal(0)
    crossed: bool = True
    builder_fee: Decimal = Decimal(0)  # the part of `fee` paid to a builder (Hyperliquid's `builderFee`)
    # The watched wallet this fill belongs to, as the caller of `Venue.watch` spelled it ("" when the
    # fill was parsed outside a watch, e.g. from a recording or a single-user query).
    source: str = ""

    @property
    def signed_sz(self) -> Decimal:
        return self.sz if self.side is Side.BUY else -self.sz


@dataclass(frozen=True, slots=True)
class SourceChange:
    """Two consecutive observations of one source's position in one coin: `old → new`.

    `event_id` is stable for the same venue event (e.g. `fills:<coin>:<oid>:<time>`), so that a
    CopyInstruction id derived from it is deterministic across restarts and replays.
    """

    source: str
    coin: str
    old: Decimal
    new: Decimal
    time_ms: int
    event_id: str
    avg_px: Decimal | None = None  # volume-weighted fill price when known (price-deviation guard)


# --- the venue boundary --------------------------------------------------------------------------
# Every venue adapter implements `Venue` and passes one conformance suite (tests/conformance/).
# What a venue can and cannot do is data (`VenueCapabilities`), never `if venue == ...`.


class Tif(StrEnum):
    IOC = "Ioc"
    GTC = "Gtc"
    ALO = "Alo"


class OrderStatus(StrEnum):
    FILLED = "filled"  # done, fully or partly filled (an IOC's rest is cancelled): see filled_sz
    RESTING = "resting"  # accepted, open on the book
    REJECTED = "rejected"  # refused by the venue; `error` has its words
    CANCELED = "canceled"
    UNKNOWN = "unknown"  # no answer (timeout, 5xx): look it up by cloid before anything is resent
    NOT_FOUND = "not_found"  # the venue does not know this cloid (yet): unknown for a grace window


@dataclass(frozen=True, slots=True)
class VenueCapabilities:
    name: str
    min_notional: Decimal  # an order below this value is refused (reduce-only full close exempt)
    websocket_fills: bool  # source fills can be streamed
    max_ws_users: int  # per-IP cap on user subscriptions (Hyperliquid: 10); 0 = no websocket
    order_by_cloid: bool  # client order ids: lookup and cancel
    schedule_cancel: bool  # dead-man switch
    trigger_orders: bool  # venue-side stop-loss / take-profit
    agent_wallets: bool  # an API wallet signs for a master account
    vaults: bool  # orders for a vault / sub-account
    two_step_execution: bool  # orders execute later (GMX keepers) rather than at submission
    weight_budget_per_minute: int  # request-weight budget (0 = none known)
    funding_history: bool = False  # a history of an account's funding payments can be read
    order_book: bool = False  # an order book (depth) can be read
    candles: bool = False  # hourly price candles can be read (volatility scaling's σ, SPEC §10)
    label: str = ""  # the venue's name as people spell it ("GMX"); `name` when empty
    # Builder codes (SPEC §14): an order may name a builder who is paid a fee on its fills, once the
    # account's master approved that builder at least at that rate; `max_builder_tenths_bp` is the
    # venue's cap on perps (tenths of a basis point; 0 when there are no builder codes).
    builder_codes: bool = False
    max_builder_tenths_bp: int = 0

    @property
    def display(self) -> str:
        return self.label or self.name


class VenueRequestError(Exception):
    """The venue answered a request with a refusal (an HTTP error status, an answer that is not JSON).
    Adapters raise their own subclasses; readers catch this one. `status`: the HTTP status when there
    is one (429: the request budget is spent)."""

    status: int | None = None


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """One funding payment of one coin: `usdc` > 0 received, < 0 paid."""

    time_ms: int
    coin: str
    usdc: Decimal
    szi: Decimal = Decimal(0)
    rate: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class BookLevel:
    px: Decimal
    sz: Decimal


@dataclass(frozen=True, slots=True)
class OrderBook:
    """One coin's order book as the venue shows it now, best levels first."""

    coin: str
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]


@dataclass(frozen=True, slots=True)
class Candle:
    """One price candle of a coin (the venue's OHLC): `time_ms` is when it opens."""

    time_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


@dataclass(frozen=True, slots=True)
class AccountRole:
    """What an address is on a venue with agent wallets (Hyperliquid's `userRole`): `role` as the venue
    words it ("missing", "user", "agent", "vault", "subAccount", …); `owner` the master an agent signs
    for or a sub-account belongs to, lower-case ("" when none)."""

    role: str
    owner: str = ""


@dataclass(frozen=True, slots=True)
class AgentApproval:
    """One named agent wallet a master account approved (Hyperliquid's `extraAgents`)."""

    address: str  # lower-case
    name: str
    valid_until_ms: int | None  # None: no expiry given


class Tpsl(StrEnum):
    """What a trigger order is for (the venue's `tpsl`)."""

    STOP_LOSS = "sl"
    TAKE_PROFIT = "tp"


@dataclass(frozen=True, slots=True)
class Trigger:
    """A venue-side trigger (stop-loss / take-profit): the order rests until the mark crosses
    `trigger_px`, then executes — at market (`is_market`, `limit_px` bounding the slippage) or as a
    limit order at `limit_px`. Venues with `capabilities.trigger_orders` False refuse it."""

    trigger_px: Decimal
    tpsl: Tpsl
    is_market: bool = True


@dataclass(frozen=True, slots=True)
class BuilderFee:
    """A builder paid on an order's fills: `address` (lower-case), `tenths_bp` of the notional (10 =
    1 bp). The venue refuses the order unless the account's master approved at least that rate."""

    address: str
    tenths_bp: int


@dataclass(frozen=True, slots=True)
class OrderRequest:
    coin: str
    is_buy: bool
    size: Decimal  # unsigned, a whole number of lots
    limit_px: Decimal
    reduce_only: bool
    tif: Tif = Tif.IOC  # ignored for a trigger order (the venue's wire has no tif for it)
    cloid: str | None = None  # "0x" + 32 hex, derived from the CopyInstruction id
    trigger: Trigger | None = None  # set: a stop-loss / take-profit trigger order
    builder: BuilderFee | None = None  # set: a builder's fee on the fills (venues with builder_codes)


@dataclass(frozen=True, slots=True)
class OpenOrder:
    """An order of ours still open on the venue (resting limit, or trigger waiting for its price)."""

    coin: str
    is_buy: bool
    size: Decimal  # what is left
    limit_px: Decimal
    reduce_only: bool
    oid: int | None
    cloid: str | None
    trigger: Trigger | None = None


@dataclass(frozen=True, slots=True)
class OrderResult:
    """What the venue answered for one order (or what a lookup by cloid found)."""

    status: OrderStatus
    cloid: str | None = None
    oid: int | None = None
    filled_sz: Decimal = Decimal(0)
    avg_px: Decimal | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class TradingAccount:
    """A follower account we trade for. `signer_key` is the agent (API wallet) key: never logged,
    never in a repr (`repr=False`), never stored in clear. `vault_address` is set for vaults and
    sub-accounts (the venue's `vaultAddress`)."""

    address: str  # the account whose positions move (master, sub-account or vault)
    signer_key: str = field(repr=False)
    vault_address: str | None = None


class Venue(Protocol):
    """One perp venue, as the pipeline sees it. All amounts Decimal, all times UTC ms."""

    capabilities: VenueCapabilities

    async def perp_dexs(self) -> list[str]:
        """The perp dexes this venue lists, the default dex (`DEFAULT_DEX`) first: a venue without
        builder dexes answers `[""]`. `instruments`, `mids`, `account` and `watch` cover all of them."""
        ...

    async def instruments(self) -> list[Instrument]: ...

    async def mids(self) -> dict[str, Decimal]: ...

    def stream_mids(self) -> None:
        """Keep `mids()` served by the venue's push feed from now until `close`, without a watch (a
        process that prices copies but watches no source: a copy worker). A venue without such a feed
        does nothing: its `mids()` reads as before."""
        ...

    async def reference_prices(self) -> dict[str, Decimal]:
        """The venue's own reference price of each coin, which a mid is checked against before an order
        is priced from it (SPEC §11; Hyperliquid: the mark price, itself built on the oracle's); {} when
        the venue has none apart from its mids (GMX: the mid is the oracle's price)."""
        ...

    async def account(self, address: str) -> AccountState:
        """Positions on every perp dex and the equity across them (`bot.domain.equity`), of any address."""
        ...

    def watch(self, sources: Sequence[str]) -> AsyncIterator[SourceFill]:
        """Source fills as they happen, de-duplicated, with the gap after a reconnect backfilled."""
        ...

    async def fills_since(self, address: str, start_ms: int) -> list[SourceFill]: ...

    async def fills_between(self, address: str, start_ms: int, end_ms: int) -> list[SourceFill]:
        """`address`'s fills in `[start_ms, end_ms]` (an account's history, as analytics reads it)."""
        ...

    async def funding(self, address: str, start_ms: int, end_ms: int) -> list[FundingPayment]:
        """`address`'s funding payments in `[start_ms, end_ms]`, oldest first. Venues without
        `capabilities.funding_history` raise NotImplementedError."""
        ...

    async def order_book(self, coin: str) -> OrderBook | None:
        """`coin`'s book now (None: the venue shows none for it). Venues without
        `capabilities.order_book` raise NotImplementedError."""
        ...

    async def hourly_candles(self, coin: str, start_ms: int, end_ms: int) -> list[Candle]:
        """`coin`'s hourly candles opening in `[start_ms, end_ms]`, oldest first (σ for volatility scaling,
        SPEC §10). Venues without `capabilities.candles` raise NotImplementedError."""
        ...

    def requests_made(self) -> int:
        """How many read requests this client has sent so far (the progress of a long read)."""
        ...

    async def place(self, account: TradingAccount, orders: Sequence[OrderRequest]) -> list[OrderResult]: ...

    async def cancel(self, account: TradingAccount, coin: str, cloid: str) -> bool: ...

    async def order_status(self, account: TradingAccount, cloid: str) -> OrderResult: ...

    async def open_orders(self, account: TradingAccount) -> list[OpenOrder]:
        """The account's open orders (trigger orders included, with their trigger)."""
        ...

    async def schedule_cancel(self, account: TradingAccount, at_ms: int | None) -> None: ...

    async def update_leverage(
        self, account: TradingAccount, coin: str, leverage: int, cross: bool
    ) -> None: ...

    async def account_role(self, address: str) -> AccountRole:
        """What `address` is on the venue. Venues without `capabilities.agent_wallets` raise
        NotImplementedError."""
        ...

    async def agents(self, master: str) -> list[AgentApproval]:
        """The named agent wallets `master` approved. Venues without `capabilities.agent_wallets` raise
        NotImplementedError."""
        ...

    async def max_builder_fee(self, user: str, builder: str) -> int:
        """The rate (tenths of a basis point) `user`'s master approved `builder` to charge; 0 when none.
        Venues without `capabilities.builder_codes` raise NotImplementedError."""
        ...

    async def approve_builder_fee(self, master_key: str, builder: str, tenths_bp: int) -> None:
        """The master account (`master_key`, used for this one signature and not kept) approves
        `builder` up to `tenths_bp` (0 revokes). Venues without `capabilities.builder_codes` raise
        NotImplementedError."""
        ...

    async def close(self) -> None: ...
