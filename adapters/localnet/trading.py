"""Order placement, matching, cancels, triggers and what a mid move does to resting orders.

Validation runs in the venue's order: first what depends on the payload alone (asset, size, price,
trigger price, cloid) -- such orders are refused without an oid -- then what depends on state
(reduce-only, $10 minimum, post-only, margin); those refusals get an oid and an `orderStatus` record
with the venue's `…Rejected` status, as on the venue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from adapters.localnet.accounts import ZERO, Account, Position, apply_fill
from adapters.localnet.book import Match
from adapters.localnet.margin import initial_margin, leverage_of, margin_state
from adapters.localnet.orders import (
    CANCELED,
    FILLED,
    MARGIN_CANCELED,
    OPEN,
    PENDING,
    REDUCE_ONLY_CANCELED,
    TRIGGERED,
    Order,
    Trigger,
)
from adapters.localnet.rules import (
    ERR_DUPLICATE_CLOID,
    ERR_MODIFY,
    ERR_PRICE,
    ERR_SIZE,
    MAKER_FEE,
    MIN_NOTIONAL,
    TAKER_FEE,
    err_alo,
    err_ioc,
    err_margin,
    err_min_value,
    err_missing_order,
    err_reduce_only,
    err_trigger_px,
    err_unknown_asset,
    fee,
    fmt,
    parse_decimal,
    round_size_down,
    sig,
    slippage_price,
    valid_price,
    valid_size,
)
from adapters.localnet.state import SYNTHETIC_MAKER, Outbox, State, address_of
from adapters.localnet.types import ExchangeError

_CLOID = re.compile(r"^0x[0-9a-fA-F]{32}$")
_TIFS = ("Gtc", "Ioc", "Alo")


@dataclass(slots=True)
class Faults:
    """Failures the wire's control endpoint injects."""

    reject_next_orders: int = 0
    reject_message: str = "Order rejected by the localnet (injected fault)."
    partial_fill_ratio: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OrderWire:
    """An order as the SDK's `order_request_to_order_wire` sends it, parsed (numbers may be invalid)."""

    asset: int
    is_buy: bool
    px: Decimal | None
    sz: Decimal | None
    reduce_only: bool
    tif: str | None
    trigger_px: Decimal | None
    trigger: tuple[bool, str] | None  # (isMarket, tpsl)
    cloid: str | None


def parse_order_wire(wire: object) -> OrderWire:
    """The shape is checked here (a malformed shape refuses the whole request, as the venue's
    deserialiser does); the numbers' validity is an order-level check."""
    if not isinstance(wire, dict):
        raise ExchangeError("Invalid order: expected an object with fields a, b, p, s, r, t (and c).")
    asset, is_buy, reduce_only, kind = wire.get("a"), wire.get("b"), wire.get("r"), wire.get("t")
    if not isinstance(asset, int) or isinstance(asset, bool):
        raise ExchangeError("Invalid order field 'a' (asset index): expected an integer.")
    if not isinstance(is_buy, bool) or not isinstance(reduce_only, bool):
        raise ExchangeError("Invalid order fields 'b' (is buy) and 'r' (reduce only): expected booleans.")
    cloid = wire.get("c")
    if cloid is not None and (not isinstance(cloid, str) or not _CLOID.match(cloid)):
        raise ExchangeError("Invalid order field 'c' (cloid): expected 0x followed by 32 hex digits.")
    tif: str | None = None
    trigger: tuple[bool, str] | None = None
    trigger_px: Decimal | None = None
    if isinstance(kind, dict) and isinstance(kind.get("limit"), dict) and len(kind) == 1:
        tif = kind["limit"].get("tif")
        if tif not in _TIFS:
            raise ExchangeError("Invalid order field 't.limit.tif': expected one of Gtc, Ioc, Alo.")
    elif isinstance(kind, dict) and isinstance(kind.get("trigger"), dict) and len(kind) == 1:
        spec = kind["trigger"]
        if not isinstance(spec.get("isMarket"), bool) or spec.get("tpsl") not in ("tp", "sl"):
            raise ExchangeError(
                "Invalid order field 't.trigger': expected isMarket (bool), triggerPx, tpsl (tp|sl)."
            )
        trigger = (spec["isMarket"], spec["tpsl"])
        trigger_px = parse_decimal(spec.get("triggerPx"))
    else:
        raise ExchangeError("Invalid order field 't': expected {'limit': {'tif': …}} or {'trigger': {…}}.")
    return OrderWire(
        asset=asset,
        is_buy=is_buy,
        px=parse_decimal(wire.get("p")),
        sz=parse_decimal(wire.get("s")),
        reduce_only=reduce_only,
        tif=tif,
        trigger_px=trigger_px,
        trigger=trigger,
        cloid=None if cloid is None else cloid.lower(),
    )


class Trading:
    def __init__(self, state: State, faults: Faults) -> None:
        self.state = state
        self.faults = faults

    # --- placement -------------------------------------------------------------------------------------
    def new_order(
        self,
        user: str,
        wire: OrderWire,
        nonce: int,
        coin: str,
        now: int,
        builder: tuple[str, int] | None = None,
    ) -> Order:
        """A checked wire's order, registered (by oid, by user, by cloid) and pending: not live (nor
        reserving margin) until it rests. The perp and the spot desks' one way to make an order."""
        assert wire.px is not None and wire.sz is not None  # checked by the desk's payload checks
        state = self.state
        oid = state.new_oid()
        order = Order(
            oid=oid,
            user=user,
            coin=coin,
            asset=wire.asset,
            is_buy=wire.is_buy,
            limit_px=wire.px,
            orig_sz=wire.sz,
            sz=wire.sz,
            reduce_only=wire.reduce_only,
            tif=wire.tif,
            cloid=wire.cloid,
            timestamp=now,
            hash="0x" + state.digest("tx", user, nonce, oid),
            trigger=None
            if wire.trigger is None or wire.trigger_px is None
            else Trigger(wire.trigger_px, wire.trigger[0], wire.trigger[1]),
            status=PENDING,
            status_ts=now,
            builder=builder,
        )
        state.orders[oid] = order
        state.user_orders[user].append(order)
        if order.cloid is not None:
            state.cloids[(user, order.cloid)] = order
        return order

    def place(
        self,
        user: str,
        raw: object,
        nonce: int,
        grouping: object,
        out: Outbox,
        now: int,
        replacing: Order | None = None,
        builder: tuple[str, int] | None = None,
    ) -> Any:
        """One order of an `order` / `batchModify` action: its entry in `statuses`. `builder` is the
        action's approved builder fee (transfers.builder_fee_problem), charged on every fill."""
        wire = parse_order_wire(raw)
        if self.faults.reject_next_orders > 0:
            self.faults.reject_next_orders -= 1
            return {"error": self.faults.reject_message}
        problem = self.payload_problem(user, wire, replacing)
        if problem is not None:
            return {"error": problem}
        state = self.state
        order = self.new_order(user, wire, nonce, state.spec_by_asset[wire.asset].coin, now, builder)
        reducible = self.reducible(user, order.coin, order.is_buy)
        if order.trigger is None and order.reduce_only and reducible == 0:
            return self.reject(order, "reduceOnlyRejected", err_reduce_only(order.asset), out, now)
        closes_whole = order.reduce_only and reducible > 0 and order.sz >= reducible
        if not closes_whole and order.sz * self.reference_px(order) < MIN_NOTIONAL:
            return self.reject(order, "minTradeNtlRejected", err_min_value(order.asset), out, now)
        if order.trigger is None:
            return self.execute(order, out, now, fresh=True)
        state.triggers.append(order)
        self.set_status(order, OPEN, out, now)
        if order.trigger.fires(order.is_buy, state.mids[order.coin]):
            self.fire(order, out, now)
        return self.entry(order, "resting") if grouping == "na" else "waitingForTrigger"

    def payload_problem(self, user: str, wire: OrderWire, replacing: Order | None) -> str | None:
        state = self.state
        spec = state.spec_by_asset.get(wire.asset)
        if spec is None:
            return err_unknown_asset(wire.asset)
        if wire.sz is None or not valid_size(wire.sz, spec.sz_decimals):
            return ERR_SIZE
        if wire.px is None or not valid_price(wire.px, spec.sz_decimals):
            return ERR_PRICE
        if wire.trigger is not None and (
            wire.trigger_px is None or not valid_price(wire.trigger_px, spec.sz_decimals)
        ):
            return err_trigger_px(wire.asset)
        if wire.cloid is not None:
            previous = state.cloids.get((user, wire.cloid))
            if (
                previous is not None
                and previous is not replacing
                and not previous.status.endswith("Rejected")
            ):
                return ERR_DUPLICATE_CLOID
        return None

    def reference_px(self, order: Order) -> Decimal:
        """The price the $10 minimum and the margin check value an order at: its limit price, but no
        more (buy) or less (sell) than the mid, so a market order's slippage allowance does not count."""
        if order.trigger is not None and not order.fired:
            return order.trigger.px
        mid = self.state.mids[order.coin]
        return min(order.limit_px, mid) if order.is_buy else max(order.limit_px, mid)

    def reducible(self, user: str, coin: str, is_buy: bool) -> Decimal:
        """How much of `user`'s position in `coin` an order on this side would close."""
        account = self.state.accounts.get(user)
        pos = account.positions.get(coin) if account is not None else None
        if pos is None or pos.szi == 0 or (pos.szi > 0) == is_buy:
            return ZERO
        return abs(pos.szi)

    def execute(self, order: Order, out: Outbox, now: int, *, fresh: bool) -> Any:
        """Match a new (or just triggered) order against the book; rest what a Gtc/Alo order has left."""
        state = self.state
        spec = state.spec_of[order.coin]
        book = state.books[order.coin]
        tif = order.tif or ("Ioc" if order.trigger is not None and order.trigger.is_market else "Gtc")
        reducible = self.reducible(order.user, order.coin, order.is_buy)
        if order.reduce_only and reducible == 0:
            status = "reduceOnlyRejected" if fresh else REDUCE_ONLY_CANCELED
            return self.reject(order, status, err_reduce_only(order.asset), out, now)
        if tif == "Alo" and book.crosses(order.is_buy, order.limit_px):
            message = err_alo(book.best_bid(), book.best_ask(), order.asset)
            return self.reject(order, "badAloPxRejected", message, out, now)
        increase = ZERO if order.reduce_only else order.sz - min(order.sz, reducible)
        if increase > 0:
            account = state.accounts[order.user]
            required = initial_margin(increase * self.reference_px(order), leverage_of(account, spec).value)
            available = margin_state(
                account, state.spec_of, state.mids, state.open_orders(order.user)
            ).available
            if required > available:
                status = "perpMarginRejected" if fresh else MARGIN_CANCELED
                return self.reject(order, status, err_margin(order.asset), out, now)
        filled = ZERO
        notional = ZERO
        if tif != "Alo" and book.crosses(order.is_buy, order.limit_px):
            cap = min(order.sz, reducible) if order.reduce_only else order.sz
            if self.faults.partial_fill_ratio is not None:
                cap = min(cap, round_size_down(cap * self.faults.partial_fill_ratio, spec.sz_decimals))
            matches = book.walk(order.is_buy, order.limit_px, cap, order.user, self.maker_size)
            self.take(order, matches, out, now)
            filled = sum((m.sz for m in matches), ZERO)
            notional = sum((m.sz * m.px for m in matches), ZERO)
        if order.sz == 0:
            self.set_status(order, FILLED, out, now)
            return self.filled_entry(order, filled, notional)
        if tif == "Ioc":
            if filled == 0:
                return self.reject(order, "iocCancelRejected", err_ioc(order.asset), out, now)
            self.set_status(order, CANCELED, out, now)
            return self.filled_entry(order, filled, notional)
        book.add(order)
        self.set_status(order, OPEN, out, now)
        out.books.add(order.coin)
        return self.entry(order, "resting")

    def reject(self, order: Order, status: str, message: str, out: Outbox, now: int) -> dict[str, str]:
        self.set_status(order, status, out, now)
        return {"error": message}

    @staticmethod
    def entry(order: Order, kind: str) -> dict[str, Any]:
        body: dict[str, Any] = {"oid": order.oid}
        if order.cloid is not None:
            body["cloid"] = order.cloid
        return {kind: body}

    def filled_entry(self, order: Order, filled: Decimal, notional: Decimal) -> dict[str, Any]:
        entry = self.entry(order, "filled")
        entry["filled"] = {"totalSz": fmt(filled), "avgPx": fmt(sig(notional / filled)), **entry["filled"]}
        return entry

    def maker_size(self, order: Order) -> Decimal:
        if not order.reduce_only:
            return order.sz
        return min(order.sz, self.reducible(order.user, order.coin, order.is_buy))

    # --- fills -----------------------------------------------------------------------------------------
    def take(self, taker: Order, matches: list[Match], out: Outbox, now: int) -> None:
        book = self.state.books[taker.coin]
        for match in matches:
            tid = self.state.new_tid()
            self.book_fill(taker, taker.is_buy, match.px, match.sz, True, tid, taker.hash, out, now)
            taker.sz -= match.sz
            maker = match.maker
            if maker is None:
                book.take(taker.is_buy, match)
                counterparty = SYNTHETIC_MAKER
            else:
                self.book_fill(maker, maker.is_buy, match.px, match.sz, False, tid, taker.hash, out, now)
                maker.sz -= match.sz
                if maker.sz == 0:
                    book.remove(maker)
                    self.set_status(maker, FILLED, out, now)
                counterparty = maker.user
                self.prune_reduce_only(maker.user, maker.coin, out, now)
            self.trade(
                taker.coin,
                taker.is_buy,
                match.px,
                match.sz,
                tid,
                taker.hash,
                taker.user,
                counterparty,
                out,
                now,
            )
        self.prune_reduce_only(taker.user, taker.coin, out, now)
        out.books.add(taker.coin)

    def trade(
        self,
        coin: str,
        taker_buys: bool,
        px: Decimal,
        sz: Decimal,
        tid: int,
        tx_hash: str,
        taker: str,
        maker: str,
        out: Outbox,
        now: int,
    ) -> None:
        self.state.base_volume[coin] += sz
        self.state.ntl_volume[coin] += sz * px
        self.state.candles.add(coin, px, now, sz)
        buyer, seller = (
            (address_of(taker), address_of(maker)) if taker_buys else (address_of(maker), address_of(taker))
        )
        out.trades[coin].append(
            {
                "coin": coin,
                "side": "B" if taker_buys else "A",
                "px": fmt(px),
                "sz": fmt(sz),
                "time": now,
                "hash": tx_hash,
                "tid": tid,
                "users": [buyer, seller],
            }
        )

    def book_fill(
        self,
        order: Order,
        is_buy: bool,
        px: Decimal,
        sz: Decimal,
        crossed: bool,
        tid: int,
        tx_hash: str,
        out: Outbox,
        now: int,
    ) -> None:
        """Apply one fill to `order`'s owner: position, realised PnL, fee; record the venue's fill."""
        state = self.state
        account = state.accounts[order.user]
        spec = state.spec_of[order.coin]
        pos = account.positions.setdefault(order.coin, Position())
        lev = leverage_of(account, spec)
        effect = apply_fill(pos, is_buy, sz, px)
        if not lev.is_cross and effect.opened:
            pos.iso_margin += initial_margin(effect.opened * px, lev.value)
        if pos.szi == 0:
            del account.positions[order.coin]
        notional = sz * px
        paid = fee(notional, TAKER_FEE if crossed else MAKER_FEE)
        builder_paid = None
        if order.builder is not None:
            builder_paid = self.pay_builder(order.builder, notional)
            paid += builder_paid
        account.fees += paid
        account.realized += effect.closed_pnl
        account.volume += notional
        fill: dict[str, Any] = {
            "coin": order.coin,
            "px": fmt(px),
            "sz": fmt(sz),
            "side": "B" if is_buy else "A",
            "time": now,
            "startPosition": fmt(effect.start),
            "dir": effect.direction,
            "closedPnl": fmt(effect.closed_pnl),
            "hash": tx_hash,
            "oid": order.oid,
            "crossed": crossed,
            "fee": fmt(paid),
            "tid": tid,
            "feeToken": "USDC",
        }
        if order.cloid is not None:
            fill["cloid"] = order.cloid
        if builder_paid is not None:
            fill["builderFee"] = fmt(builder_paid)
        state.fills[order.user].append(fill)
        out.fills[order.user].append(fill)

    def pay_builder(self, builder: tuple[str, int], notional: Decimal) -> Decimal:
        """Credit the builder its fee (`f` tenths of a basis point of the notional); return it."""
        address, tenths = builder
        paid = fee(notional, Decimal(tenths).scaleb(-5))
        state = self.state
        account = state.accounts.get(address)
        if account is None:
            account = state.accounts[address] = Account(address=address)
        account.deposits += paid
        return paid

    def prune_reduce_only(self, user: str, coin: str, out: Outbox, now: int) -> None:
        """Resting reduce-only orders that can no longer reduce anything are cancelled, as on the venue."""
        for order in self.state.open_orders(user):
            stale = order.coin == coin and order.reduce_only and not order.waiting_for_trigger
            if stale and self.reducible(user, coin, order.is_buy) == 0:
                self.cancel(order, REDUCE_ONLY_CANCELED, out, now)

    # --- cancels ---------------------------------------------------------------------------------------
    def set_status(self, order: Order, status: str, out: Outbox, now: int) -> None:
        self.state.set_order_status(order, status)
        order.status_ts = now
        out.order_updates[order.user].append(order.update_view())

    def cancel(self, order: Order, status: str, out: Outbox, now: int) -> None:
        if order in self.state.triggers:
            self.state.triggers.remove(order)
        self.state.books[order.coin].remove(order)
        out.books.add(order.coin)
        self.set_status(order, status, out, now)

    def cancel_oid(self, user: str, asset: object, oid: object, out: Outbox, now: int) -> Any:
        order = self.state.orders.get(oid) if isinstance(oid, int) and not isinstance(oid, bool) else None
        return self.cancel_found(user, asset, order, out, now)

    def cancel_cloid(self, user: str, asset: object, cloid: object, out: Outbox, now: int) -> Any:
        order = self.state.cloids.get((user, cloid.lower())) if isinstance(cloid, str) else None
        return self.cancel_found(user, asset, order, out, now)

    def cancel_found(self, user: str, asset: object, order: Order | None, out: Outbox, now: int) -> Any:
        if order is None or order.user != user or order.asset != asset or not order.is_open:
            return {"error": err_missing_order(asset if isinstance(asset, int) else -1)}
        self.cancel(order, CANCELED, out, now)
        return "success"

    def cancel_all(self, user: str, status: str, out: Outbox, now: int) -> None:
        for order in self.state.open_orders(user):
            self.cancel(order, status, out, now)

    def modify(self, user: str, target: object, raw: object, nonce: int, out: Outbox, now: int) -> Any:
        """Replace an open order: the venue cancels it and places the new one under a new oid. A payload
        error leaves the old order untouched."""
        wire = parse_order_wire(raw)
        order: Order | None
        if isinstance(target, int) and not isinstance(target, bool):
            order = self.state.orders.get(target)
        elif isinstance(target, str) and _CLOID.match(target):
            order = self.state.cloids.get((user, target.lower()))
        else:
            raise ExchangeError(
                "Invalid modify field 'oid': expected an order id or a cloid (0x + 32 hex digits)."
            )
        if order is None or order.user != user or not order.is_open:
            return {"error": ERR_MODIFY}
        problem = self.payload_problem(user, wire, order)
        if problem is not None:
            return {"error": problem}
        self.cancel(order, CANCELED, out, now)
        return self.place(user, raw, nonce, "na", out, now, replacing=order)

    # --- mid moves -------------------------------------------------------------------------------------
    def on_mid(self, coin: str, out: Outbox, now: int) -> None:
        """After `coin`'s mid moved: fill the resting orders it crossed, then fire the triggers it crossed."""
        mid = self.state.mids[coin]
        for order in sorted(self.state.books[coin].resting(), key=lambda o: o.oid):
            crossed = order.limit_px >= mid if order.is_buy else order.limit_px <= mid
            if order.is_open and crossed:
                self.fill_resting(order, out, now)
        for order in [t for t in self.state.triggers if t.coin == coin]:
            assert order.trigger is not None
            if order.is_open and order.trigger.fires(order.is_buy, mid):
                self.fire(order, out, now)

    def fill_resting(self, order: Order, out: Outbox, now: int) -> None:
        """The mid crossed a resting order: it fills in full at its own price, as a maker."""
        size = self.maker_size(order)
        if size > 0:
            tid = self.state.new_tid()
            self.book_fill(order, order.is_buy, order.limit_px, size, False, tid, order.hash, out, now)
            self.trade(
                order.coin,
                not order.is_buy,
                order.limit_px,
                size,
                tid,
                order.hash,
                SYNTHETIC_MAKER,
                order.user,
                out,
                now,
            )
            order.sz -= size
        if order.sz == 0:
            self.state.books[order.coin].remove(order)
            self.set_status(order, FILLED, out, now)
        else:  # a reduce-only order larger than what is left of the position
            self.cancel(order, REDUCE_ONLY_CANCELED, out, now)
        out.books.add(order.coin)
        self.prune_reduce_only(order.user, order.coin, out, now)

    def fire(self, order: Order, out: Outbox, now: int) -> None:
        """A trigger order's price was crossed: it executes, a market one as an IOC with the SDK's 5 %
        slippage around the mid, a limit one at its limit price (resting if not marketable)."""
        assert order.trigger is not None
        self.state.triggers.remove(order)
        order.fired = True
        self.set_status(order, TRIGGERED, out, now)
        if order.trigger.is_market:
            spec = self.state.spec_of[order.coin]
            order.limit_px = slippage_price(self.state.mids[order.coin], order.is_buy, spec.sz_decimals)
        self.execute(order, out, now, fresh=False)
