"""Spot orders: limit `Gtc` / `Ioc` / `Alo` orders on a spot pair (asset 10000 + pair index), paid from
and into the user's spot balances (USDC arrives there with `usdClassTransfer`).

A spot order takes the pair's synthetic liquidity (the same seeded ladder as a perp market's); what a
`Gtc` order leaves rests, holding its quote (buy) or base (sell) so it cannot be spent twice, and fills
in full at its own price, as a maker, once the pair's mid crosses it. Resting spot orders do not show
in `l2Book` and do not trade with each other. Fees are charged in USDC (the quote) on every fill.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from adapters.localnet.instruments import SpotPair
from adapters.localnet.orders import CANCELED, FILLED, OPEN, Order
from adapters.localnet.rules import (
    ERR_PRICE,
    ERR_SIZE,
    MAKER_FEE,
    MIN_NOTIONAL,
    TAKER_FEE,
    err_alo,
    err_ioc,
    err_min_value,
    fee,
    fmt,
    valid_price,
    valid_size,
)
from adapters.localnet.state import SYNTHETIC_MAKER, Outbox, State
from adapters.localnet.trading import OrderWire, Trading

SPOT_EXTRA_PRICE_DECIMALS = 2  # spot prices may have 8 − szDecimals decimals, perps 6 − szDecimals


def buy_hold(sz: Decimal, px: Decimal) -> Decimal:
    """What a spot buy of `sz` at `px` may cost at most: its notional and the taker fee on it."""
    return sz * px + fee(sz * px, TAKER_FEE)


def err_spot_balance(asset: int) -> str:
    return f"Insufficient spot balance asset={asset}"  # wording: as recalled from the venue, unverified


class SpotDesk:
    def __init__(self, state: State, trading: Trading) -> None:
        self.state = state
        self.trading = trading  # order statuses, entries and trades are the perp desk's, shared

    def place(self, user: str, wire: OrderWire, nonce: int, out: Outbox, now: int) -> Any:
        state = self.state
        pair = state.spot_by_asset[wire.asset]
        spec = state.spec_of[pair.name]
        if wire.sz is None or not valid_size(wire.sz, spec.sz_decimals):
            return {"error": ERR_SIZE}
        if wire.px is None or not valid_price(wire.px, spec.sz_decimals - SPOT_EXTRA_PRICE_DECIMALS):
            return {"error": ERR_PRICE}
        if wire.trigger is not None or wire.reduce_only:
            return {"error": "Spot orders cannot be trigger or reduce-only orders."}  # wording: localnet
        if wire.sz * wire.px < MIN_NOTIONAL:
            return {"error": err_min_value(wire.asset)}
        # a buy needs its notional and the taker fee on it, in the quote; a sell its size, in the base
        token, need = (pair.quote, buy_hold(wire.sz, wire.px)) if wire.is_buy else (pair.base, wire.sz)
        if need > state.spot_available(user, token):
            return {"error": err_spot_balance(wire.asset)}
        order = self.trading.new_order(user, wire, nonce, pair.name, now)
        return self._execute(order, pair, out, now)

    def _execute(self, order: Order, pair: SpotPair, out: Outbox, now: int) -> Any:
        book = self.state.books[order.coin]
        trading = self.trading
        if order.tif == "Alo" and book.crosses(order.is_buy, order.limit_px):
            return trading.reject(
                order, "badAloPxRejected", err_alo(book.best_bid(), book.best_ask(), order.asset), out, now
            )
        filled = notional = Decimal(0)
        if order.tif != "Alo":
            for match in book.walk(order.is_buy, order.limit_px, order.sz, order.user):
                book.take(order.is_buy, match)
                self._fill(order, pair, match.px, match.sz, crossed=True, out=out, now=now)
                filled += match.sz
                notional += match.sz * match.px
        if order.sz == 0:
            trading.set_status(order, FILLED, out, now)
            return trading.filled_entry(order, filled, notional)
        if order.tif == "Ioc":
            if filled == 0:
                return trading.reject(order, "iocCancelRejected", err_ioc(order.asset), out, now)
            trading.set_status(order, CANCELED, out, now)
            return trading.filled_entry(order, filled, notional)
        self.state.spot_resting.append(order)
        trading.set_status(order, OPEN, out, now)
        return trading.entry(order, "resting")

    def _fill(
        self, order: Order, pair: SpotPair, px: Decimal, sz: Decimal, *, crossed: bool, out: Outbox, now: int
    ) -> None:
        """Settle one fill on the user's spot balances and record it as the venue's fill."""
        state = self.state
        balances, entry = state.spot_balances[order.user], state.spot_entry[order.user]
        start = balances[pair.base]
        notional = sz * px
        paid = fee(notional, TAKER_FEE if crossed else MAKER_FEE)
        if order.is_buy:
            balances[pair.base] += sz
            balances[pair.quote] -= notional + paid
            entry[pair.base] += notional
        else:
            entry[pair.base] -= entry[pair.base] * sz / start if start else Decimal(0)
            balances[pair.base] -= sz
            balances[pair.quote] += notional - paid
        order.sz -= sz
        tid = state.new_tid()
        fill: dict[str, Any] = {
            "coin": pair.name,
            "px": fmt(px),
            "sz": fmt(sz),
            "side": "B" if order.is_buy else "A",
            "time": now,
            "startPosition": fmt(start),
            "dir": "Buy" if order.is_buy else "Sell",
            "closedPnl": "0.0",
            "hash": order.hash,
            "oid": order.oid,
            "crossed": crossed,
            "fee": fmt(paid),
            "tid": tid,
            "feeToken": "USDC",
        }
        if order.cloid is not None:
            fill["cloid"] = order.cloid
        state.fills[order.user].append(fill)
        out.fills[order.user].append(fill)
        taker, maker = (order.user, SYNTHETIC_MAKER) if crossed else (SYNTHETIC_MAKER, order.user)
        self.trading.trade(
            pair.name, order.is_buy == crossed, px, sz, tid, order.hash, taker, maker, out, now
        )
        out.books.add(pair.name)

    def on_mid(self, coin: str, out: Outbox, now: int) -> None:
        """After a spot pair's mid moved: the resting orders it crossed fill in full, as makers."""
        state = self.state
        pair = state.spot_of_coin.get(coin)
        if pair is None:
            return
        mid = state.mids[coin]
        for order in [o for o in state.spot_resting if o.coin == coin]:
            if not order.is_open:
                state.spot_resting.remove(order)  # cancelled meanwhile
            elif order.limit_px >= mid if order.is_buy else order.limit_px <= mid:
                self._fill(order, pair, order.limit_px, order.sz, crossed=False, out=out, now=now)
                state.spot_resting.remove(order)
                self.trading.set_status(order, FILLED, out, now)
