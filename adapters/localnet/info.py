"""`POST /info`: read-only views of the core's state, shaped as the venue's responses."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from adapters.localnet.margin import clearinghouse_state
from adapters.localnet.orders import Order
from adapters.localnet.rules import fmt, sig
from adapters.localnet.state import State, served_mids
from adapters.localnet.types import InfoError

MAX_FILLS = 2000
RATE_LIMIT_BASE = 10_000  # requests every address gets before traded volume adds more (1 per USDC)
USDC_TOKEN = {
    "name": "USDC",
    "szDecimals": 8,
    "weiDecimals": 8,
    "index": 0,
    "tokenId": "0x6d1e7cde53ba9467b783cb7c530ce054",
    "isCanonical": True,
    "evmContract": None,
    "fullName": None,
}
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_CLOID = re.compile(r"^0x[0-9a-fA-F]{32}$")

Handler = Callable[[State, dict[str, Any], int], Any]


def handle_info(state: State, request: object, now: int) -> Any:
    if not isinstance(request, dict):
        raise InfoError("The request body must be a JSON object with a 'type' field.")
    kind = request.get("type")
    handler = HANDLERS.get(kind) if isinstance(kind, str) else None
    if handler is None:
        raise InfoError(
            f"Unsupported info type {kind!r}; the localnet serves: {', '.join(sorted(HANDLERS))}."
        )
    return handler(state, request, now)


# --- request fields ----------------------------------------------------------------------------------------
def _user(request: dict[str, Any]) -> str:
    user = request.get("user")
    if not isinstance(user, str) or not _ADDRESS.match(user):
        raise InfoError("Field 'user': expected a 0x-prefixed address of 40 hex digits.")
    return user.lower()


def _default_dex(request: dict[str, Any]) -> None:
    dex = request.get("dex", "")
    if dex not in ("", None):
        raise InfoError(f"Field 'dex': unknown perp dex {dex!r}; the localnet has only the default dex \"\".")


def _time(request: dict[str, Any], field: str, *, required: bool) -> int | None:
    value = request.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise InfoError(f"Field '{field}': expected a time in milliseconds (integer).")
    return value


# --- markets -----------------------------------------------------------------------------------------------
def meta(state: State, request: dict[str, Any], now: int) -> Any:
    _default_dex(request)
    return {
        "universe": [
            {
                "szDecimals": spec.sz_decimals,
                "name": spec.coin,
                "maxLeverage": spec.max_leverage,
                "marginTableId": spec.max_leverage,
            }
            for spec in state.specs
        ]
    }


def spot_meta(state: State, request: dict[str, Any], now: int) -> Any:
    return {"universe": [], "tokens": [dict(USDC_TOKEN)]}


def spot_meta_and_asset_ctxs(state: State, request: dict[str, Any], now: int) -> Any:
    return [spot_meta(state, request, now), []]


def meta_and_asset_ctxs(state: State, request: dict[str, Any], now: int) -> Any:
    ctxs = []
    for spec in state.specs:
        coin = spec.coin
        mid = state.mids[coin]
        book = state.books[coin]
        open_interest = sum(
            (
                pos.szi
                for acct in state.accounts.values()
                for c, pos in acct.positions.items()
                if c == coin and pos.szi > 0
            ),
            Decimal(0),
        )
        bid, ask = book.best_bid(), book.best_ask()
        ctxs.append(
            {
                "funding": "0.0",
                "openInterest": fmt(open_interest),
                "prevDayPx": fmt(state.start_mids[coin]),
                "dayNtlVlm": fmt(state.ntl_volume[coin]),
                "premium": "0.0",
                "oraclePx": fmt(mid),
                "markPx": fmt(mid),
                "midPx": fmt(mid),
                "impactPxs": [fmt(bid if bid is not None else mid), fmt(ask if ask is not None else mid)],
                "dayBaseVlm": fmt(state.base_volume[coin]),
            }
        )
    return [meta(state, request, now), ctxs]


def all_mids(state: State, request: dict[str, Any], now: int) -> Any:
    _default_dex(request)
    return {coin: fmt(mid) for coin, mid in served_mids(state).items()}


def l2_book(state: State, request: dict[str, Any], now: int) -> Any:
    coin = request.get("coin")
    if not isinstance(coin, str):
        raise InfoError("Field 'coin': expected a coin name such as \"ETH\".")
    book = state.books.get(coin)
    if book is None:
        return None  # the venue answers null for a coin it does not list
    return {"coin": coin, "time": now, "levels": book.l2_levels()}


# --- accounts ----------------------------------------------------------------------------------------------
def clearinghouse(state: State, request: dict[str, Any], now: int) -> Any:
    user = _user(request)
    _default_dex(request)
    return clearinghouse_state(
        state.accounts.get(user), state.spec_of, state.mids, state.open_orders(user), now
    )


def spot_clearinghouse(state: State, request: dict[str, Any], now: int) -> Any:
    _user(request)
    return {"balances": []}


def _newest_first(orders: list[Order]) -> list[Order]:
    return sorted(orders, key=lambda order: order.oid, reverse=True)


def open_orders(state: State, request: dict[str, Any], now: int) -> Any:
    _default_dex(request)
    return [order.basic_view() for order in _newest_first(state.open_orders(_user(request)))]


def frontend_open_orders(state: State, request: dict[str, Any], now: int) -> Any:
    _default_dex(request)
    return [order.frontend_view() for order in _newest_first(state.open_orders(_user(request)))]


def historical_orders(state: State, request: dict[str, Any], now: int) -> Any:
    orders = _newest_first(state.user_orders.get(_user(request), []))
    return [order.status_view() for order in orders[:MAX_FILLS]]


def order_status(state: State, request: dict[str, Any], now: int) -> Any:
    user = _user(request)
    ref = request.get("oid")
    order: Order | None
    if isinstance(ref, int) and not isinstance(ref, bool):
        order = state.orders.get(ref)
    elif isinstance(ref, str) and _CLOID.match(ref):
        order = state.cloids.get((user, ref.lower()))
    else:
        raise InfoError("Field 'oid': expected an order id (integer) or a cloid (0x + 32 hex digits).")
    if order is None or order.user != user:
        return {"status": "unknownOid"}
    return {"status": "order", "order": order.status_view()}


def user_fills(state: State, request: dict[str, Any], now: int) -> Any:
    return list(reversed(state.fills.get(_user(request), [])))[:MAX_FILLS]


def user_fills_by_time(state: State, request: dict[str, Any], now: int) -> Any:
    user = _user(request)
    start = _time(request, "startTime", required=True)
    end = _time(request, "endTime", required=False)
    fills = [
        fill
        for fill in state.fills.get(user, [])
        if fill["time"] >= (start or 0) and (end is None or fill["time"] <= end)
    ]
    if request.get("aggregateByTime"):
        fills = aggregate_by_time(fills)
    return fills[:MAX_FILLS]


def aggregate_by_time(fills: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fills of one order at one time (a taker crossing several levels) merged into one, as the venue's
    `aggregateByTime` does: sizes, PnL and fees summed, price volume-weighted."""
    merged: list[dict[str, Any]] = []
    for fill in fills:
        last = merged[-1] if merged else None
        if last is not None and (last["oid"], last["time"]) == (fill["oid"], fill["time"]):
            sz = Decimal(last["sz"]) + Decimal(fill["sz"])
            ntl = Decimal(last["px"]) * Decimal(last["sz"]) + Decimal(fill["px"]) * Decimal(fill["sz"])
            last["px"] = fmt(sig(ntl / sz))
            last["sz"] = fmt(sz)
            last["closedPnl"] = fmt(Decimal(last["closedPnl"]) + Decimal(fill["closedPnl"]))
            last["fee"] = fmt(Decimal(last["fee"]) + Decimal(fill["fee"]))
        else:
            merged.append(dict(fill))
    return merged


def user_rate_limit(state: State, request: dict[str, Any], now: int) -> Any:
    account = state.accounts.get(_user(request))
    volume = account.volume if account is not None else Decimal(0)
    used = account.n_requests if account is not None else 0
    return {"cumVlm": fmt(volume), "nRequestsUsed": used, "nRequestsCap": RATE_LIMIT_BASE + int(volume)}


def user_role(state: State, request: dict[str, Any], now: int) -> Any:
    user = _user(request)
    agent = state.agents.get(user)
    if agent is not None:
        return {"role": "agent", "data": {"user": agent.master}}
    account = state.accounts.get(user)
    if account is None:
        return {"role": "missing"}
    if account.role == "subAccount":
        return {"role": "subAccount", "data": {"master": account.owner}}
    return {"role": account.role}


def extra_agents(state: State, request: dict[str, Any], now: int) -> Any:
    user = _user(request)
    return [
        {"name": agent.name, "address": agent.address, "validUntil": agent.valid_until}
        for agent in state.agents.values()
        if agent.master == user and agent.name
    ]


def sub_accounts(state: State, request: dict[str, Any], now: int) -> Any:
    user = _user(request)
    subs = [acct for acct in state.accounts.values() if acct.role == "subAccount" and acct.owner == user]
    if not subs:
        return None
    return [
        {
            "name": sub.name,
            "subAccountUser": sub.address,
            "master": user,
            "clearinghouseState": clearinghouse_state(
                sub, state.spec_of, state.mids, state.open_orders(sub.address), now
            ),
            "spotState": {"balances": []},
        }
        for sub in subs
    ]


HANDLERS: dict[str, Handler] = {
    "meta": meta,
    "spotMeta": spot_meta,
    "spotMetaAndAssetCtxs": spot_meta_and_asset_ctxs,
    "metaAndAssetCtxs": meta_and_asset_ctxs,
    "allMids": all_mids,
    "l2Book": l2_book,
    "clearinghouseState": clearinghouse,
    "spotClearinghouseState": spot_clearinghouse,
    "openOrders": open_orders,
    "frontendOpenOrders": frontend_open_orders,
    "historicalOrders": historical_orders,
    "orderStatus": order_status,
    "userFills": user_fills,
    "userFillsByTime": user_fills_by_time,
    "userRateLimit": user_rate_limit,
    "userRole": user_role,
    "extraAgents": extra_agents,
    "subAccounts": sub_accounts,
}
