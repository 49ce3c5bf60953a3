"""Stop-loss / take-profit trigger orders as data: which ones a position should have, their prices, the
orders that express them and how their instruction ids name them (bot/pipeline/protect.py keeps them on
the venue)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from bot.domain import OrderRequest, Tif, Tpsl, Trigger
from strategies.model import PairState, Reason, Status
from strategies.num import HUNDRED, mul, plain, round_price, sub

EVENT_KIND: Final = "protect"
REASONS: Final = {Tpsl.STOP_LOSS: "stop_loss", Tpsl.TAKE_PROFIT: "take_profit"}
LABELS: Final = {Tpsl.STOP_LOSS: "stop-loss", Tpsl.TAKE_PROFIT: "take-profit"}
# Worst price of a market trigger once it fires, as a fraction of the trigger price: the venue executes
# market triggers with a 10 % slippage tolerance, and so do we rather than leave a stop unfilled.
MARKET_TRIGGER_SLIPPAGE: Final = Decimal("0.1")


def trigger_prices(
    entry_px: Decimal,
    size: Decimal,
    *,
    sz_decimals: int,
    stop_loss_pct: Decimal | None,
    take_profit_pct: Decimal | None,
) -> dict[Tpsl, Decimal]:
    """The trigger prices for a position of signed `size` entered at `entry_px`, rounded to the venue's
    price rules toward the entry (a stop never looser, a target never further than asked). A short's
    take-profit at 100 % or more would be at or below zero: none."""
    long = size > 0
    out: dict[Tpsl, Decimal] = {}
    if stop_loss_pct is not None:
        move = mul(entry_px, stop_loss_pct) / HUNDRED
        out[Tpsl.STOP_LOSS] = round_price(
            sub(entry_px, move) if long else entry_px + move, sz_decimals, up=long
        )
    if take_profit_pct is not None:
        move = mul(entry_px, take_profit_pct) / HUNDRED
        raw = entry_px + move if long else sub(entry_px, move)
        if raw > 0:
            out[Tpsl.TAKE_PROFIT] = round_price(raw, sz_decimals, up=not long)
    return out


@dataclass(frozen=True, slots=True)
class Wanted:
    """One trigger order as it should stand on the venue."""

    coin: str
    tpsl: Tpsl
    is_buy: bool  # closes the position: a sell protects a long
    size: Decimal
    trigger_px: Decimal
    limit_px: Decimal

    @property
    def source_event_id(self) -> str:
        return f"{EVENT_KIND}:{self.tpsl.value}:{plain(self.size)}@{plain(self.trigger_px)}"

    def request(self, cloid: str) -> OrderRequest:
        trigger = Trigger(self.trigger_px, self.tpsl, is_market=True)
        return OrderRequest(self.coin, self.is_buy, self.size, self.limit_px, True, Tif.GTC, cloid, trigger)


@dataclass(frozen=True, slots=True)
class Live:
    """A trigger order of ours believed open on the venue."""

    cloid: str
    wanted: Wanted
    placed_ms: int
    oid: int | None = None
    checked: bool = True  # False: known from the ledger only (a restart), not yet looked up


def parse_event_id(coin: str, event_id: str, is_buy: bool, limit_px: Decimal) -> Wanted | None:
    """`protect:<sl|tp>:<size>@<px>` back into what was wanted (None: not a protect id)."""
    parts = event_id.split(":")
    if len(parts) != 3 or parts[0] != EVENT_KIND or "@" not in parts[2]:
        return None
    size, px = parts[2].split("@")
    return Wanted(coin, Tpsl(parts[1]), is_buy, Decimal(size), Decimal(px), limit_px)


def pair_reason(pair: PairState) -> str | None:
    """The reason that makes start-up recovery restore `pair` as it stands (bot/pipeline/recovery.py):
    a protect instruction is the pair's latest decision and must not change its state."""
    if pair.waiting_join:
        return Reason.COPY_CURRENT_DEVIATION.value
    if pair.status is Status.UNTRACKED:
        return Reason.UNTRACKED.value
    return None
