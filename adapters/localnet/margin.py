"""Margin arithmetic and the `clearinghouseState` view of an account.

Mark price = mid (the localnet has no separate oracle). Maintenance margin is half the initial margin at
maximum leverage (rate `1 / (2 × maxLeverage)`), and the liquidation price follows the venue's documented
formula `liq = mark − side × margin_available / |szi| / (1 − l × side)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_UP, Decimal
from typing import Any

from adapters.localnet.accounts import ZERO, Account, Leverage, Position
from adapters.localnet.instruments import InstrumentSpec
from adapters.localnet.orders import Order
from adapters.localnet.rules import fmt, sig, usd

_NO_FUNDING = {"allTime": "0.0", "sinceOpen": "0.0", "sinceChange": "0.0"}


def leverage_of(account: Account, spec: InstrumentSpec) -> Leverage:
    return account.leverage.get(spec.coin) or Leverage(
        is_cross=not spec.only_isolated, value=spec.default_leverage
    )


def initial_margin(notional: Decimal, leverage: int) -> Decimal:
    return usd(notional / leverage, ROUND_UP)


def maintenance_rate(spec: InstrumentSpec) -> Decimal:
    return Decimal(1) / (2 * spec.max_leverage)


@dataclass(frozen=True, slots=True)
class MarginState:
    """An account's totals at the current mids."""

    account_value: Decimal  # cash + unrealised PnL of every position
    cross_value: Decimal  # the same without isolated positions (their margin and PnL)
    cross_margin_used: Decimal
    isolated_margin_used: Decimal
    cross_maintenance: Decimal
    order_margin: Decimal  # reserved by resting orders that can open a position
    ntl_all: Decimal
    ntl_cross: Decimal
    signed_ntl_all: Decimal
    signed_ntl_cross: Decimal

    @property
    def available(self) -> Decimal:
        """What a new order's initial margin (or an isolated top-up) may draw on."""
        return self.cross_value - self.cross_margin_used - self.order_margin


def margin_state(
    account: Account,
    specs: Mapping[str, InstrumentSpec],
    mids: Mapping[str, Decimal],
    open_orders: Iterable[Order],
) -> MarginState:
    value = account.cash
    cross_value = account.cash
    cross_used = iso_used = maint = ntl_all = ntl_cross = signed_all = signed_cross = ZERO
    for coin, pos in account.positions.items():
        spec, mark = specs[coin], mids[coin]
        lev = leverage_of(account, spec)
        upnl = pos.unrealized(mark)
        pv = abs(pos.szi) * mark
        value += upnl
        ntl_all += pv
        signed_all += pos.szi * mark
        if lev.is_cross:
            cross_value += upnl
            cross_used += initial_margin(pv, lev.value)
            maint += pv * maintenance_rate(spec)
            ntl_cross += pv
            signed_cross += pos.szi * mark
        else:
            cross_value -= pos.iso_margin
            iso_used += pos.iso_margin + upnl
    order_margin = ZERO
    for order in open_orders:
        if order.reduce_only or order.waiting_for_trigger:
            continue
        lev = leverage_of(account, specs[order.coin])
        order_margin += initial_margin(order.sz * order.limit_px, lev.value)
    return MarginState(
        value,
        cross_value,
        cross_used,
        iso_used,
        usd(maint),
        order_margin,
        ntl_all,
        ntl_cross,
        signed_all,
        signed_cross,
    )


def liquidation_px(
    pos: Position, spec: InstrumentSpec, mark: Decimal, lev: Leverage, state: MarginState
) -> Decimal | None:
    rate = maintenance_rate(spec)
    pv = abs(pos.szi) * mark
    if lev.is_cross:
        available = state.cross_value - state.cross_maintenance
    else:
        available = pos.iso_margin + pos.unrealized(mark) - pv * rate
    side = 1 if pos.szi > 0 else -1
    liq = mark - side * available / abs(pos.szi) / (1 - rate * side)
    return liq if liq > 0 else None


def position_view(
    pos: Position, spec: InstrumentSpec, mark: Decimal, lev: Leverage, state: MarginState
) -> dict[str, Any]:
    upnl = pos.unrealized(mark)
    pv = abs(pos.szi) * mark
    leverage: dict[str, Any] = {"type": "cross" if lev.is_cross else "isolated", "value": lev.value}
    if lev.is_cross:
        margin_used = initial_margin(pv, lev.value)
    else:
        margin_used = pos.iso_margin + upnl
        leverage["rawUsd"] = fmt(pos.iso_margin - pos.cost)
    equity = abs(pos.cost) / lev.value
    liq = liquidation_px(pos, spec, mark, lev, state)
    return {
        "coin": spec.coin,
        "szi": fmt(pos.szi),
        "leverage": leverage,
        "entryPx": fmt(sig(pos.entry_px)),
        "positionValue": fmt(pv),
        "unrealizedPnl": fmt(upnl),
        "returnOnEquity": fmt(sig(upnl / equity)) if equity else "0.0",
        "liquidationPx": None if liq is None else fmt(sig(liq)),
        "marginUsed": fmt(margin_used),
        "maxLeverage": spec.max_leverage,
        "cumFunding": dict(_NO_FUNDING),
    }


def clearinghouse_state(
    account: Account | None,
    specs: Mapping[str, InstrumentSpec],
    mids: Mapping[str, Decimal],
    open_orders: Iterable[Order],
    now_ms: int,
) -> dict[str, Any]:
    if account is None:
        account = Account(address="")
    state = margin_state(account, specs, mids, open_orders)
    positions = [
        {
            "type": "oneWay",
            "position": position_view(pos, specs[coin], mids[coin], leverage_of(account, specs[coin]), state),
        }
        for coin, pos in sorted(account.positions.items(), key=lambda item: list(specs).index(item[0]))
    ]
    total_used = state.cross_margin_used + state.isolated_margin_used
    return {
        "marginSummary": _summary(state.account_value, state.ntl_all, state.signed_ntl_all, total_used),
        "crossMarginSummary": _summary(
            state.cross_value, state.ntl_cross, state.signed_ntl_cross, state.cross_margin_used
        ),
        "crossMaintenanceMarginUsed": fmt(state.cross_maintenance),
        "withdrawable": fmt(max(state.available, ZERO)),
        "assetPositions": positions,
        "time": now_ms,
    }


def _summary(value: Decimal, ntl: Decimal, signed_ntl: Decimal, used: Decimal) -> dict[str, str]:
    return {
        "accountValue": fmt(value),
        "totalNtlPos": fmt(ntl),
        "totalRawUsd": fmt(value - signed_ntl),
        "totalMarginUsed": fmt(used),
    }
