"""The engine's own plain, typed inputs and outputs (strategies/ imports nothing from bot/)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from strategies.num import ZERO, lot_of, neg
from strategies.volatility import VolReading


class Status(StrEnum):
    FLAT = "flat"
    TRACKING = "tracking"
    UNTRACKED = "untracked"


class Event(StrEnum):
    # source changes (SPEC §2 table)
    OPEN = "open"
    INCREASE = "increase"
    DECREASE = "decrease"
    CLOSE = "close"
    FLIP = "flip"
    UNCHANGED = "unchanged"  # the source size was observed again, equal to the last one
    # everything else that can touch a pair
    COPY_CURRENT = "copy_current"  # joined an existing source position
    FOLLOW = "follow"  # the follow (or the token) was switched on without joining
    UNFOLLOW = "unfollow"
    SCALING = "scaling"
    EQUITY = "equity"
    PAUSE = "pause"
    RESUME = "resume"
    MID = "mid"  # a price update: a reconciliation check of the pair at the new mid
    RECONCILE = "reconcile"
    # portfolio-allocation mode (SPEC §9): a rebalance tick (or the `rebalance` recovery) that trades,
    # and a tick that holds a pair inside its band
    REBALANCE = "rebalance"
    HOLD = "hold"
    VOL = "vol"  # the coin's volatility σ changed (SPEC §10): applies at the next open


SOURCE_EVENTS = frozenset({Event.OPEN, Event.INCREASE, Event.DECREASE, Event.CLOSE, Event.FLIP})


class Reason(StrEnum):
    """Why nothing (or less) was sent. Stable codes: the CLI, the ledger and alerts print them."""

    DEFERRED_MIN_NOTIONAL = "deferred_min_notional"
    IN_SYNC = "in_sync"
    UNTRACKED = "untracked"
    PAUSED = "paused"
    NOT_FOLLOWING = "not_following"
    DETACHED = "detached"
    APPLIES_AT_NEXT_OPEN = "applies_at_next_open"
    APPLIES_AT_NEXT_FOLLOW = "applies_at_next_follow"
    NO_MID = "no_mid"
    NO_SOURCE_EQUITY = "no_source_equity"
    HELD_BY_OTHER_SOURCE = "held_by_other_source"
    # filters
    TOKEN_EXCLUDED = "token_excluded"
    LONG_ONLY = "long_only"
    SHORT_ONLY = "short_only"
    SOURCE_LEVERAGE_BELOW_MIN = "source_leverage_below_min"
    SOURCE_LEVERAGE_CAPPED = "source_leverage_capped"
    # Copy Current waiting for the price
    COPY_CURRENT_DEVIATION = "copy_current_deviation"
    ENTRY_PRICE_UNKNOWN = "entry_price_unknown"
    # pre-trade guards
    MAX_NOTIONAL_TOKEN = "max_notional_token"
    MAX_NOTIONAL_TOTAL = "max_notional_total"
    MAX_LEVERAGE = "max_leverage"
    VENUE_MAX_LEVERAGE = "venue_max_leverage"
    PRICE_DEVIATION = "price_deviation"
    # portfolio-allocation mode (SPEC §9)
    IN_BAND = "in_band"  # a tick: the drift is inside the no-trade band
    AWAITING_REBALANCE = "awaiting_rebalance"  # between ticks: the drift is below the trigger band
    # volatility scaling (SPEC §10): σ above the follow's skip threshold; σ unknown (m = vol_mult_min)
    VOLATILITY = "volatility"
    VOL_UNKNOWN = "vol_unknown"


@dataclass(frozen=True, slots=True)
class Market:
    """What the engine needs of one perp market."""

    coin: str
    sz_decimals: int
    max_leverage: int | None = None  # the venue's per-token maximum; None = not enforced

    @property
    def lot(self) -> Decimal:
        return lot_of(self.sz_decimals)


@dataclass(frozen=True, slots=True)
class Change:
    """One source change `old → new` in one coin, as observed (raw source sizes, not reversed)."""

    source: str
    coin: str
    old: Decimal
    new: Decimal
    fill_px: Decimal | None = None  # the source's (average) fill price, for the price-deviation guard
    leverage: Decimal | None = None  # the source's leverage in the coin, for the leverage filters


@dataclass(frozen=True, slots=True)
class PairState:
    """One (follower, token) pair: SPEC §2. `source_size` is the size being mirrored (after reverse)."""

    coin: str
    source: str | None = None
    status: Status = Status.FLAT
    ratio: Decimal | None = None  # ρ₀, locked at open / flip / Copy Current
    source_size: Decimal = ZERO
    target: Decimal = ZERO  # τ, exact
    waiting_join: bool = False  # Copy Current asked, waiting for the mid to come near the entry


@dataclass(frozen=True, slots=True)
class OrderPlan:
    """An IOC limit order the executor should place."""

    coin: str
    is_buy: bool
    size: Decimal  # unsigned, a whole number of lots
    limit_px: Decimal
    reduce_only: bool

    @property
    def side(self) -> str:
        return "buy" if self.is_buy else "sell"

    @property
    def signed_size(self) -> Decimal:
        return self.size if self.is_buy else neg(self.size)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the engine decided for one pair at one moment (the ledger's CopyInstruction)."""

    coin: str
    source: str | None
    event: Event
    state: PairState  # after the decision
    target_before: Decimal
    position: Decimal  # p when the decision was taken (before the order fills)
    order: OrderPlan | None
    reason: Reason | None
    guards: tuple[Reason, ...] = ()  # every guard or filter that acted, in order
    vol: VolReading | None = None  # σ and m when the follow scales by volatility (SPEC §10)

    @property
    def target(self) -> Decimal:
        return self.state.target

    @property
    def ratio(self) -> Decimal | None:
        return self.state.ratio
