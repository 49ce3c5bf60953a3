"""What the websocket's per-market and per-user views carry (`activeAssetCtx`, `activeAssetData`,
`webData2`, `userFundings`, `userNonFundingLedgerUpdates`, `candle`), built from the core's state in
the venue's shapes. `ws.py` asks for one when a client subscribes and when an event touches it.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

from adapters.localnet.info import (
    asset_ctx,
    clearinghouse,
    frontend_open_orders,
    meta_and_asset_ctxs,
    spot_asset_ctx,
    spot_clearinghouse,
)
from adapters.localnet.margin import leverage_of, margin_state
from adapters.localnet.rules import fmt
from adapters.localnet.state import State
from adapters.localnet.types import InfoError


def view(state: State, kind: str, value: str, now: int) -> dict[str, Any] | None:
    """The `data` of the `kind` message for subscription key `value` (see ws.subscription_key);
    None when there is nothing to send. An unknown coin raises InfoError."""
    if kind == "activeAssetCtx":
        _known(state, value)
        if value in state.spot_of_coin:  # a spot pair's context has the spot fields
            return {"coin": value, "ctx": spot_asset_ctx(state, value)}
        return {"coin": value, "ctx": asset_ctx(state, value)}
    if kind == "activeAssetData":
        user, coin = value.split(",", 1)
        _known(state, coin)
        return active_asset_data(state, user, coin)
    if kind == "webData2":
        return web_data2(state, value, now)
    if kind == "userFundings":  # the localnet charges no funding
        return {"isSnapshot": True, "user": value, "fundings": []}
    if kind == "userNonFundingLedgerUpdates":
        return {
            "isSnapshot": True,
            "user": value,
            "nonFundingLedgerUpdates": list(state.ledger.get(value, [])),
        }
    if kind == "candle":
        coin, interval = value.split(",", 1)
        _known(state, coin)
        return state.candles.latest(coin, interval)
    raise ValueError(f"no view for {kind}")


def _known(state: State, coin: str) -> None:
    if coin not in state.spec_of:
        raise InfoError(f"unknown coin {coin!r}; listed: {', '.join(state.spec_of)}")


def active_asset_data(state: State, user: str, coin: str) -> dict[str, Any]:
    """The user's leverage on `coin` and what it could still open each way ([buy, sell]) with its free
    margin at that leverage, in coins (`maxTradeSzs`, rounded down to the lot) and in USDC
    (`availableToTrade`)."""
    spec = state.spec_of[coin]
    mark = state.mids[coin]
    account = state.accounts.get(user)
    if account is None:
        leverage: dict[str, Any] = {"type": "cross", "value": spec.default_leverage}
        available = Decimal(0)
    else:
        lev = leverage_of(account, spec)
        leverage = {"type": "cross" if lev.is_cross else "isolated", "value": lev.value}
        free = margin_state(account, state.spec_of, state.mids, state.open_orders(user)).available
        available = max(free, Decimal(0)) * lev.value
    size = (available / mark).quantize(spec.lot, ROUND_DOWN) if available else Decimal(0)
    usdc = available.quantize(Decimal("0.000001"), ROUND_DOWN)
    return {
        "user": user,
        "coin": coin,
        "leverage": leverage,
        "maxTradeSzs": [fmt(size), fmt(size)],
        "availableToTrade": [fmt(usdc), fmt(usdc)],
        "markPx": fmt(mark),
    }


def web_data2(state: State, user: str, now: int) -> dict[str, Any]:
    """The web front end's all-in-one view of one user (no vaults led, no TWAPs on the localnet)."""
    request = {"type": "webData2", "user": user}
    meta, ctxs = meta_and_asset_ctxs(state, request, now)
    agent = next((a for a in state.agents.values() if a.master == user and not a.name), None)
    return {
        "clearinghouseState": clearinghouse(state, request, now),
        "leadingVaults": [],
        "totalVaultEquity": fmt(
            sum((v for (_, u), v in state.vault_equity.items() if u == user), Decimal(0))
        ),
        "openOrders": frontend_open_orders(state, request, now),
        "agentAddress": None if agent is None else agent.address,
        "agentValidUntil": None if agent is None else agent.valid_until,
        "cumLedger": "0.0",
        "meta": meta,
        "assetCtxs": ctxs,
        "serverTime": now,
        "isVault": user in state.accounts and state.accounts[user].role == "vault",
        "user": user,
        "twapStates": [],
        "spotState": spot_clearinghouse(state, request, now),
        "spotAssetCtxs": [],
    }
