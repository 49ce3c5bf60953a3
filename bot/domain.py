"""Typed domain objects the pipeline stages exchange (never venue JSON).

Adapters import this module only. Sizes and money are `Decimal`; times are UTC milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


@dataclass(frozen=True, slots=True)
class Instrument:
    """One perp market as the venue lists it."""

    coin: str
    asset: int
    sz_decimals: int
    max_leverage: int

    @property
    def lot(self) -> Decimal:
        return Decimal(1).scaleb(-self.sz_decimals)


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
