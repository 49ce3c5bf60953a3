"""Pre-trade guards that need no account history (SPEC §4).

Caps act only on growth: a binding cap lowers the new target to the largest whole number of lots within
the cap (so `q(τ) · mid` never exceeds it), but never below the previous target of the same side — a
guard never forces a reduction; later decreases then scale the capped target (SPEC §4).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from strategies.config import Guards
from strategies.model import Market, Reason
from strategies.num import ONE, ZERO, add, div, floor_lot, mag, mul, sign, sub


@dataclass(frozen=True, slots=True)
class Capped:
    target: Decimal
    reasons: tuple[Reason, ...]


def notional_limits(
    guards: Guards, market: Market, *, follower_equity: Decimal, other_notional: Decimal
) -> list[tuple[Decimal, Reason]]:
    """Every active limit on this token's notional (USD), with the code reported when it binds."""
    limits: list[tuple[Decimal, Reason]] = []
    if guards.max_notional_token is not None:
        limits.append((guards.max_notional_token, Reason.MAX_NOTIONAL_TOKEN))
    if guards.max_notional_total is not None:
        limits.append((sub(guards.max_notional_total, other_notional), Reason.MAX_NOTIONAL_TOTAL))
    if guards.max_leverage is not None:
        limits.append((sub(mul(guards.max_leverage, follower_equity), other_notional), Reason.MAX_LEVERAGE))
    if market.max_leverage is not None:
        limits.append((mul(Decimal(market.max_leverage), follower_equity), Reason.VENUE_MAX_LEVERAGE))
    return limits


def cap_target(
    before: Decimal,
    after: Decimal,
    *,
    mid: Decimal | None,
    guards: Guards,
    market: Market,
    follower_equity: Decimal,
    other_notional: Decimal,
) -> Capped:
    """Lower a grown target `after` to every binding limit; report each limit that bound."""
    if mid is None or mid <= 0 or after == 0:
        return Capped(after, ())
    floor = mag(before) if sign(before) == sign(after) else ZERO
    if mag(after) <= floor:
        return Capped(after, ())
    size = mag(after)
    reasons: list[Reason] = []
    limits = notional_limits(guards, market, follower_equity=follower_equity, other_notional=other_notional)
    for limit, reason in limits:
        allowed = max(floor, floor_lot(div(max(limit, ZERO), mid), market.sz_decimals))
        if size > allowed:
            size = allowed
            reasons.append(reason)
    return Capped(mul(Decimal(sign(after)), size), tuple(reasons))


def price_deviation_blocks(
    guards: Guards, *, is_buy: bool, mid: Decimal | None, fill_px: Decimal | None
) -> bool:
    """True when the mid is more than the allowed fraction worse than the source's fill price."""
    dev = guards.max_price_deviation
    if dev is None or mid is None or fill_px is None or fill_px <= 0:
        return False
    if is_buy:
        return mid > mul(fill_px, add(ONE, dev))
    return mid < mul(fill_px, sub(ONE, dev))
