"""The paper venue's state as JSON (`--state`, rewritten atomically after every change), so that a restarted
paper run finds its accounts, positions, orders and fills again."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from adapters.paper.account import PaperAccount, PaperOrder
from bot.domain import OrderRequest, OrderResult, OrderStatus, Side, SourceFill, Tif
from bot.domain.accounting import Holding

STATE_VERSION: Final = 1


def save_state(path: Path, next_oid: int, accounts: Iterable[PaperAccount]) -> None:
    state = {
        "version": STATE_VERSION,
        "next_oid": next_oid,
        "accounts": [_account_json(a) for a in accounts],
    }
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(state, indent=1) + "\n")
    os.replace(temporary, path)


def load_state(path: Path) -> tuple[int, list[PaperAccount]]:
    """The next order id and the accounts kept in `path` (ValueError for another state version)."""
    state = json.loads(path.read_text())
    if state.get("version") != STATE_VERSION:
        raise ValueError(f"{path}: paper state version {state.get('version')!r}, expected {STATE_VERSION}")
    return int(state["next_oid"]), [_account_from_json(raw) for raw in state["accounts"]]


def _result_json(result: OrderResult) -> dict[str, Any]:
    return {
        "status": result.status.value,
        "cloid": result.cloid,
        "oid": result.oid,
        "filled_sz": str(result.filled_sz),
        "avg_px": None if result.avg_px is None else str(result.avg_px),
        "error": result.error,
    }


def _result_from_json(raw: Mapping[str, Any]) -> OrderResult:
    return OrderResult(
        OrderStatus(raw["status"]),
        raw["cloid"],
        raw["oid"],
        Decimal(raw["filled_sz"]),
        None if raw["avg_px"] is None else Decimal(raw["avg_px"]),
        raw["error"],
    )


def _order_json(order: PaperOrder) -> dict[str, Any]:
    request = order.request
    return {
        "coin": request.coin,
        "is_buy": request.is_buy,
        "size": str(request.size),
        "limit_px": str(request.limit_px),
        "reduce_only": request.reduce_only,
        "tif": request.tif.value,
        "cloid": request.cloid,
        "oid": order.oid,
        "asset": order.asset,
        "result": _result_json(order.result),
    }


def _order_from_json(raw: Mapping[str, Any]) -> PaperOrder:
    request = OrderRequest(
        raw["coin"],
        raw["is_buy"],
        Decimal(raw["size"]),
        Decimal(raw["limit_px"]),
        raw["reduce_only"],
        Tif(raw["tif"]),
        raw["cloid"],
    )
    return PaperOrder(request, raw["oid"], raw["asset"], _result_from_json(raw["result"]))


_FILL_DECIMALS: Final = ("px", "sz", "start_position", "closed_pnl", "fee", "builder_fee")


def _fill_json(fill: SourceFill) -> dict[str, Any]:
    raw = {f.name: getattr(fill, f.name) for f in dataclasses.fields(fill)}
    return raw | {k: str(raw[k]) for k in _FILL_DECIMALS} | {"side": fill.side.value}


def _fill_from_json(raw: Mapping[str, Any]) -> SourceFill:
    return SourceFill(
        # A state written before a field was kept (builder_fee) reads it as its default.
        **(dict(raw) | {k: Decimal(raw[k]) for k in _FILL_DECIMALS if k in raw} | {"side": Side(raw["side"])})
    )


def _account_json(account: PaperAccount) -> dict[str, Any]:
    resting = {o.oid for o in account.resting}
    orders = {o.oid: o for o in [*account.orders.values(), *account.resting]}  # cloid-less resting too
    return {
        "address": account.address,
        "start_equity": str(account.start_equity),
        "cash": str(account.cash),  # start + realised − fees (written for readers; not read back)
        "fees_paid": str(account.fees),
        "realised_pnl": str(account.realised),
        "volume": str(account.volume),
        "holdings": {c: [str(h.size), str(h.entry_px)] for c, h in account.holdings.items()},
        "leverage": account.leverage,
        "orders": [_order_json(o) | {"resting": oid in resting} for oid, o in sorted(orders.items())],
        "fills": [_fill_json(f) for f in account.fills],
    }


def _account_from_json(raw: Mapping[str, Any]) -> PaperAccount:
    orders = [(_order_from_json(o), bool(o["resting"])) for o in raw["orders"]]
    return PaperAccount(
        Decimal(raw["start_equity"]),
        address=raw["address"],
        holdings={c: Holding(Decimal(s), Decimal(px)) for c, (s, px) in raw["holdings"].items()},
        realised=Decimal(raw["realised_pnl"]),
        fees=Decimal(raw["fees_paid"]),
        volume=Decimal(raw.get("volume", "0")),  # not kept before the accounting was shared
        leverage={c: int(v) for c, v in raw["leverage"].items()},
        orders={o.request.cloid.lower(): o for o, _ in orders if o.request.cloid is not None},
        resting=[o for o, resting in orders if resting],
        fills=[_fill_from_json(f) for f in raw["fills"]],
    )
