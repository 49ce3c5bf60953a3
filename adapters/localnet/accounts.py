"""Accounts, positions and what one fill does to a position.

A position keeps its signed size `szi` and its signed cost basis `cost` (= szi × entry price, the sum of
the notionals of its open part). Both stay exact: a close releases a pro-rata share of the cost rounded to
USDC precision (6 decimals), so realised PnL, unrealised PnL (`szi × mark − cost`) and account value add up
exactly, with no drift.

Separate on purpose from the client side's accounting (bot/domain/accounting.py, which the paper venue
and analytics share): the localnet is an independent double of the venue, so the two are compared
(tests/paper) rather than shared, and a mistake in one cannot hide in both. Their rounding differs
accordingly: here a close releases a rounded share of the cost basis; there the entry is averaged and
each close's PnL is rounded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from adapters.localnet.rules import usd

ZERO = Decimal(0)


@dataclass(slots=True)
class Position:
    szi: Decimal = ZERO
    cost: Decimal = ZERO
    iso_margin: Decimal = ZERO  # USDC allocated to an isolated position

    @property
    def entry_px(self) -> Decimal:
        return self.cost / self.szi

    def unrealized(self, mark: Decimal) -> Decimal:
        return self.szi * mark - self.cost


@dataclass(slots=True)
class Leverage:
    is_cross: bool
    value: int


@dataclass(slots=True)
class Account:
    address: str
    role: str = "user"  # user | vault | subAccount
    owner: str | None = None  # the master of a sub-account, the leader of a vault
    name: str | None = None  # a sub-account's name
    deposits: Decimal = ZERO
    realized: Decimal = ZERO
    fees: Decimal = ZERO
    volume: Decimal = ZERO  # cumulative traded notional
    n_requests: int = 0
    positions: dict[str, Position] = field(default_factory=dict)
    leverage: dict[str, Leverage] = field(default_factory=dict)
    scheduled_cancel: int | None = None

    @property
    def cash(self) -> Decimal:
        return self.deposits + self.realized - self.fees


@dataclass(frozen=True, slots=True)
class FillEffect:
    start: Decimal  # signed position before the fill
    closed: Decimal  # size that reduced the position
    opened: Decimal  # size that opened or increased it
    closed_pnl: Decimal
    direction: str


def direction(start: Decimal, is_buy: bool, sz: Decimal) -> str:
    if start == 0 or (start > 0) == is_buy:
        return "Open Long" if is_buy else "Open Short"
    if sz <= abs(start):
        return "Close Short" if is_buy else "Close Long"
    return "Short > Long" if is_buy else "Long > Short"


def apply_fill(pos: Position, is_buy: bool, sz: Decimal, px: Decimal) -> FillEffect:
    """Move `pos` by one fill and return what it did (realised PnL is gross of the fee)."""
    start = pos.szi
    reducing = start != 0 and (start > 0) != is_buy
    closed = min(sz, abs(start)) if reducing else ZERO
    opened = sz - closed
    pnl = ZERO
    if closed:
        sign = 1 if start > 0 else -1
        released = pos.cost if closed == abs(start) else usd(pos.cost * closed / abs(start))
        pnl = sign * closed * px - released
        if pos.iso_margin:
            pos.iso_margin -= (
                pos.iso_margin if closed == abs(start) else usd(pos.iso_margin * closed / abs(start))
            )
        pos.cost -= released
        pos.szi -= sign * closed
    if opened:
        signed = opened if is_buy else -opened
        pos.cost += signed * px
        pos.szi += signed
    return FillEffect(start, closed, opened, pnl, direction(start, is_buy, sz))
