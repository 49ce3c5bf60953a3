"""Orders from targets (SPEC §2): `Δ = q(τ) − p`, reduce-only marking, minimum-notional deferral, and
the IOC limit price.

Limit price: `mid · (1 ± slippage_cap)`, rounded to the venue's price rules *toward the mid* (down for a
buy, up for a sell), so the order never pays more than the cap allows. When the cap is narrower than
one tick this can land at or behind the mid; the IOC may then not fill and the retry/out-of-sync policy
takes over — the cap is a promise to the user, marketability is best effort.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from strategies.model import Market, OrderPlan, Reason
from strategies.num import ONE, add, mag, mul, neg, q_lot, round_price, sign, sub

DEFAULT_MIN_NOTIONAL = Decimal(10)  # Hyperliquid's minimum order value, USD


@dataclass(frozen=True, slots=True)
class Planned:
    order: OrderPlan | None
    reason: Reason | None  # why nothing (or less than Δ) is sent


def is_reduce_only(position: Decimal, delta: Decimal) -> bool:
    """The order only reduces |p|: it opposes p and does not cross zero (a flip order is not)."""
    after = add(position, delta)
    return position != 0 and sign(delta) == -sign(position) and sign(after) in (0, sign(position))


def limit_price(mid: Decimal, *, is_buy: bool, slippage_cap: Decimal, sz_decimals: int) -> Decimal:
    if is_buy:
        return round_price(mul(mid, add(ONE, slippage_cap)), sz_decimals, up=False)
    return round_price(mul(mid, sub(ONE, slippage_cap)), sz_decimals, up=True)


def plan_order(
    target: Decimal,
    position: Decimal,
    *,
    market: Market,
    mid: Decimal | None,
    min_notional: Decimal,
    slippage_cap: Decimal,
) -> Planned:
    delta = sub(q_lot(target, market.sz_decimals), position)
    if delta == 0:
        return Planned(None, Reason.IN_SYNC)
    if mid is None or mid <= 0:
        return Planned(None, Reason.NO_MID)
    reduce_only = is_reduce_only(position, delta)
    full_close = reduce_only and add(position, delta) == 0
    reason = None
    if mul(mag(delta), mid) < min_notional and not full_close:
        if position == 0 or sign(add(position, delta)) == sign(position):
            return Planned(None, Reason.DEFERRED_MIN_NOTIONAL)
        # a flip too small to send: still close the old side (always sent), defer the new side, so the
        # follower never stays on the side the source has left
        delta, reduce_only, reason = neg(position), True, Reason.DEFERRED_MIN_NOTIONAL
    is_buy = delta > 0
    px = limit_price(mid, is_buy=is_buy, slippage_cap=slippage_cap, sz_decimals=market.sz_decimals)
    return Planned(OrderPlan(market.coin, is_buy, mag(delta), px, reduce_only), reason)
