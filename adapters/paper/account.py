"""A paper account: the house's position accounting (`bot.domain.accounting.Book`, PnL settled to USDC's
precision) with the leverage, orders and fills a venue keeps for an account; and the venue's `dir` of a
fill."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from bot.domain import OrderRequest, OrderResult, SourceFill
from bot.domain.accounting import Book

ZERO: Final = Decimal(0)
USD: Final = Decimal("0.000001")  # USDC precision: fees and realised and unrealised PnL are rounded to it
MAX_FILLS: Final = 2000  # as many as the venue's userFills answers


class PaperRefused(Exception):
    """A paper action refused as a whole (unknown account, invalid leverage); the venue's words."""


def direction(old: Decimal, new: Decimal) -> str:
    """The venue's `dir` of a fill taking a position from `old` to `new`."""
    if old != 0 and new != 0 and (old > 0) != (new > 0):
        return "Long > Short" if old > 0 else "Short > Long"
    long = new > 0 if old == 0 else old > 0
    opening = abs(new) > abs(old)
    return f"{'Open' if opening else 'Close'} {'Long' if long else 'Short'}"


@dataclass(slots=True)
class PaperOrder:
    """An order of a paper account, with what the venue would have answered for it so far."""

    request: OrderRequest
    oid: int
    asset: int
    result: OrderResult


@dataclass(slots=True, kw_only=True)
class PaperAccount(Book):
    """One simulated account: the positions, realised PnL and fees of its `Book` (PnL settled to USDC's
    precision), with its leverage per coin, orders and fills."""

    address: str
    settle_step: Decimal | None = USD
    leverage: dict[str, int] = field(default_factory=dict)
    orders: dict[str, PaperOrder] = field(default_factory=dict)  # by cloid (orders without one: not kept)
    resting: list[PaperOrder] = field(default_factory=list)
    fills: list[SourceFill] = field(default_factory=list)  # newest last, the last MAX_FILLS kept

    def reducible(self, coin: str, is_buy: bool) -> Decimal:
        """How much of the position an order on this side would close."""
        size = self.size(coin)
        return ZERO if size == 0 or (size > 0) == is_buy else abs(size)
