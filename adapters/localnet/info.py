"""`POST /info`: read-only views of the core's state, shaped as the venue's responses."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from adapters.localnet.candles import INTERVALS
from adapters.localnet.instruments import SPOT_TOKENS, USDH_TOKEN, InstrumentSpec
from adapters.localnet.margin import clearinghouse_state
from adapters.localnet.orders import Order
from adapters.localnet.rules import fmt, sig
from adapters.localnet.state import State, address_of, dex_key
from adapters.localnet.types import InfoError

MAX_FILLS = 2000
RATE_LIMIT_BASE = 10_000  # requests every address gets before traded volume adds more (1 per USDC)
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


def _dex(state: State, request: dict[str, Any]) -> str:
    """The perp dex a request names ("" or absent: the default one)."""
    dex = request.get("dex") or ""
    if dex and (not isinstance(dex, str) or state.dex(dex) is None):
        names = ", ".join(['"" (the default)', *(f'"{d.name}"' for d in state.dexes)])
        raise InfoError(f"Field 'dex': unknown perp dex {dex!r}; the localnet has: {names}.")
    return str(dex)


def _dex_specs(state: State, request: dict[str, Any]) -> tuple[InstrumentSpec, ...]:
    dex = _dex(state, request)
    builder = state.dex(dex)
    return state.specs if builder is None else builder.specs


def _time(request: dict[str, Any], field: str, *, required: bool) -> int | None:
    value = request.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise InfoError(f"Field '{field}': expected a time in milliseconds (integer).")
    return value


# --- markets -----------------------------------------------------------------------------------------------
def meta(state: State, request: dict[str, Any], now: int) -> Any:
    builder = state.dex(_dex(state, request))
    specs = state.specs if builder is None else builder.specs
    return {
        "universe": [
            {
                "szDecimals": spec.sz_decimals,
                "name": spec.coin,
                "maxLeverage": spec.max_leverage,
                "marginTableId": spec.max_leverage,
                **({"onlyIsolated": True} if spec.only_isolated else {}),
            }
            for spec in specs
        ],
        **({} if builder is None else {"collateralToken": builder.collateral_token}),
    }


def perp_dexs(state: State, request: dict[str, Any], now: int) -> Any:
    """The perp dexes: null for the default one, then the builder dexes in asset-id order."""
    return [
        None,
        *(
            {
                "name": dex.name,
                "fullName": dex.full_name,
                "deployer": dex.deployer,
                "oracleUpdater": None,
                "feeRecipient": None,
                "assetToStreamingOiCap": [],
            }
            for dex in state.dexes
        ),
    ]


def spot_meta(state: State, request: dict[str, Any], now: int) -> Any:
    tokens = [token.wire() for token in SPOT_TOKENS]
    if any(dex.collateral_token == USDH_TOKEN.index for dex in state.dexes):
        tokens.append(USDH_TOKEN.wire())
    universe = [
        {
            "tokens": [pair.base, pair.quote],
            "name": pair.name,
            "index": pair.index,
            "isCanonical": pair.is_canonical,
        }
        for pair in state.spot_pairs
    ]
    return {"universe": universe, "tokens": tokens}


def spot_meta_and_asset_ctxs(state: State, request: dict[str, Any], now: int) -> Any:
    return [spot_meta(state, request, now), [spot_asset_ctx(state, pair.name) for pair in state.spot_pairs]]


def spot_asset_ctx(state: State, coin: str) -> dict[str, Any]:
    """A spot pair's context (supplies are not modelled: "0.0")."""
    mid = state.mids[coin]
    return {
        "prevDayPx": fmt(state.start_mids[coin]),
        "dayNtlVlm": fmt(state.ntl_volume[coin]),
        "markPx": fmt(mid),
        "midPx": fmt(mid),
        "circulatingSupply": "0.0",
        "coin": coin,
        "totalSupply": "0.0",
        "dayBaseVlm": fmt(state.base_volume[coin]),
    }


def asset_ctx(state: State, coin: str) -> dict[str, Any]:
    """One market's context as `metaAndAssetCtxs` and the `activeAssetCtx` subscription give it."""
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
    return {
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


def meta_and_asset_ctxs(state: State, request: dict[str, Any], now: int) -> Any:
    return [meta(state, request, now), [asset_ctx(state, spec.coin) for spec in _dex_specs(state, request)]]


def candle_snapshot(state: State, request: dict[str, Any], now: int) -> Any:
    req = request.get("req")
    if not isinstance(req, dict):
        raise InfoError("Field 'req': expected {coin, interval, startTime, endTime}.")
    coin, interval = req.get("coin"), req.get("interval")
    if not isinstance(coin, str) or coin not in state.spec_of:
        raise InfoError(f"Field 'req.coin': unknown coin {coin!r}; listed: {', '.join(state.spec_of)}.")
    if interval not in INTERVALS:
        raise InfoError(f"Field 'req.interval': expected one of {', '.join(INTERVALS)}.")
    start = _time(req, "startTime", required=True)
    end = _time(req, "endTime", required=False)
    assert start is not None
    return state.candles.between(coin, interval, start, now if end is None else end)


def all_mids(state: State, request: dict[str, Any], now: int) -> Any:
    return mids_of(state, _dex(state, request))


def mids_of(state: State, dex: str) -> dict[str, str]:
    """`allMids` of a perp dex; the default dex's include the spot pairs, as on the venue."""
    builder = state.dex(dex)
    coins = [spec.coin for spec in (state.specs if builder is None else builder.specs)]
    if builder is None:
        coins += [pair.name for pair in state.spot_pairs]
    return {coin: fmt(state.served_mid(coin)) for coin in coins}


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
    key = dex_key(_user(request), _dex(state, request))
    return clearinghouse_state(
        state.accounts.get(key), state.spec_of, state.mids, state.open_orders(key), now
    )


def spot_clearinghouse(state: State, request: dict[str, Any], now: int) -> Any:
    user = _user(request)
    balances = state.spot_balances.get(user, {})
    holds = state.spot_holds(user)
    names = {token.index: token.name for token in SPOT_TOKENS}
    return {
        "balances": [
            {
                "coin": names[token],
                "token": token,
                "total": fmt(total),
                "hold": fmt(holds[token]),
                "entryNtl": fmt(state.spot_entry[user][token]),
            }
            for token, total in sorted(balances.items())
            if total or holds[token]
        ]
    }


def _newest_first(orders: list[Order]) -> list[Order]:
    return sorted(orders, key=lambda order: order.oid, reverse=True)


def open_orders(state: State, request: dict[str, Any], now: int) -> Any:
    key = dex_key(_user(request), _dex(state, request))
    return [order.basic_view() for order in _newest_first(state.open_orders(key))]


def frontend_open_orders(state: State, request: dict[str, Any], now: int) -> Any:
    key = dex_key(_user(request), _dex(state, request))
    return [order.frontend_view() for order in _newest_first(state.open_orders(key))]


def historical_orders(state: State, request: dict[str, Any], now: int) -> Any:
    user = _user(request)
    orders = _newest_first([o for key in state.user_keys(user) for o in state.user_orders.get(key, [])])
    return [order.status_view() for order in orders[:MAX_FILLS]]


def order_status(state: State, request: dict[str, Any], now: int) -> Any:
    user = _user(request)
    ref = request.get("oid")
    order: Order | None
    if isinstance(ref, int) and not isinstance(ref, bool):
        order = state.orders.get(ref)
    elif isinstance(ref, str) and _CLOID.match(ref):
        order = next(
            (o for key in state.user_keys(user) if (o := state.cloids.get((key, ref.lower()))) is not None),
            None,
        )
    else:
        raise InfoError("Field 'oid': expected an order id (integer) or a cloid (0x + 32 hex digits).")
    if order is None or address_of(order.user) != user:
        return {"status": "unknownOid"}
    return {"status": "order", "order": order.status_view()}


def all_user_fills(state: State, user: str) -> list[dict[str, Any]]:
    """`user`'s fills on every perp dex, newest first (a builder dex's coins are `dex:COIN`)."""
    keys = state.user_keys(user)
    if len(keys) == 1 or not any(state.fills.get(key) for key in keys[1:]):
        return list(reversed(state.fills.get(user, [])))
    merged = [fill for key in keys for fill in state.fills.get(key, [])]
    return sorted(merged, key=lambda fill: (fill["time"], fill["tid"]), reverse=True)


def user_fills(state: State, request: dict[str, Any], now: int) -> Any:
    return all_user_fills(state, _user(request))[:MAX_FILLS]


def user_fills_by_time(state: State, request: dict[str, Any], now: int) -> Any:
    user = _user(request)
    start = _time(request, "startTime", required=True)
    end = _time(request, "endTime", required=False)
    fills = [
        fill
        for fill in reversed(all_user_fills(state, user))
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


def max_builder_fee(state: State, request: dict[str, Any], now: int) -> Any:
    """The fee `user` has approved `builder` to charge, in tenths of a basis point (0: none)."""
    user = _user(request)
    builder = request.get("builder")
    if not isinstance(builder, str) or not _ADDRESS.match(builder):
        raise InfoError("Field 'builder': expected a 0x-prefixed address of 40 hex digits.")
    return state.builder_approvals.get(user, {}).get(builder.lower(), 0)


def referral(state: State, request: dict[str, Any], now: int) -> Any:
    user = _user(request)
    code = state.referred_by.get(user)
    referred_by = None if code is None else {"referrer": state.referral_codes[code], "code": code}
    own = next((c for c, owner in state.referral_codes.items() if owner == user), None)
    referrer_state: dict[str, Any] = (
        {"stage": "needToCreateCode"}
        if own is None
        else {
            "stage": "ready",
            "data": {
                "code": own,
                "referralStates": [
                    {
                        "cumVlm": fmt(_volume(state, referred)),
                        "cumRewardedFeesSinceReferred": "0.0",
                        "cumFeesRewardedToReferrer": "0.0",
                        "timeJoined": 0,
                        "user": referred,
                    }
                    for referred, used in state.referred_by.items()
                    if used == own
                ],
            },
        }
    )
    return {
        "referredBy": referred_by,
        "cumVlm": fmt(_volume(state, user)),
        "unclaimedRewards": "0.0",
        "claimedRewards": "0.0",
        "builderRewards": "0.0",
        "referrerState": referrer_state,
        "rewardHistory": [],
    }


def _volume(state: State, user: str) -> Decimal:
    account = state.accounts.get(user)
    return account.volume if account is not None else Decimal(0)


def user_non_funding_ledger_updates(state: State, request: dict[str, Any], now: int) -> Any:
    user = _user(request)
    start = _time(request, "startTime", required=True)
    end = _time(request, "endTime", required=False)
    return [
        entry
        for entry in state.ledger.get(user, [])
        if entry["time"] >= (start or 0) and (end is None or entry["time"] <= end)
    ]


HANDLERS: dict[str, Handler] = {
    "meta": meta,
    "perpDexs": perp_dexs,
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
    "candleSnapshot": candle_snapshot,
    "maxBuilderFee": max_builder_fee,
    "referral": referral,
    "userNonFundingLedgerUpdates": user_non_funding_ledger_updates,
}
