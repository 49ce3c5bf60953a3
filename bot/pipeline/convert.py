"""Conversions at the pipeline's seams: venue-neutral domain objects ↔ the engine's own types."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from bot.domain import Instrument, OrderRequest, Side, SourceChange, SourceFill, Tif
from bot.ledger import OrderIntent
from strategies.model import Change, Decision, Market
from strategies.num import q_lot


def market_of(instrument: Instrument) -> Market:
    return Market(instrument.coin, instrument.sz_decimals, instrument.max_leverage)


def change_of(change: SourceChange, leverage: Decimal | None) -> Change:
    """The engine's view of a source change: sizes, the source's average fill price and leverage."""
    return Change(
        change.source, change.coin, change.old, change.new, fill_px=change.avg_px, leverage=leverage
    )


def request_of(decision: Decision, cloid: str) -> OrderRequest:
    """The IOC the decision's order plan asks for, under the instruction's cloid."""
    plan = decision.order
    if plan is None:
        raise ValueError(f"decision for {decision.coin} has no order")
    return OrderRequest(plan.coin, plan.is_buy, plan.size, plan.limit_px, plan.reduce_only, Tif.IOC, cloid)


def delta_of(decision: Decision, sz_decimals: int) -> Decimal:
    """Δ as recorded: the order's signed size when one is sent, else q(τ) − p as computed."""
    if decision.order is not None:
        return decision.order.signed_size
    return q_lot(decision.target, sz_decimals) - decision.position


def fill_payload(fill: SourceFill) -> dict[str, Any]:
    """A fill as JSON-able data for the ledger's raw payload (decimals as exact strings)."""
    out: dict[str, Any] = {}
    for item in dataclasses.fields(fill):
        value = getattr(fill, item.name)
        out[item.name] = str(value) if isinstance(value, Decimal) else getattr(value, "value", value)
    return out


def request_of_intent(intent: OrderIntent) -> OrderRequest:
    """The stored intent as the request it is (or was) sent as: same cloid, same bytes to sign."""
    return OrderRequest(
        intent.coin,
        intent.side == Side.BUY.value,
        intent.size,
        intent.limit_px,
        intent.reduce_only,
        Tif(intent.tif),
        intent.cloid,
    )
