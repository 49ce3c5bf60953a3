"""`userFunding` answers → `FundingPayment`s (pure). Fetched, paged, by `InfoClient.user_funding`."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.hyperliquid.parsing import ParseError
from bot.domain import FundingPayment

FUNDING_PAGE_LIMIT = 500  # the venue answers at most 500 funding entries per request


def _decimal(raw: Mapping[str, Any], key: str, where: str, default: Decimal | None = None) -> Decimal:
    value = raw.get(key)
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ParseError(f"{where}.{key}: expected a decimal string, got {value!r}")
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        raise ParseError(f"{where}.{key}: expected a decimal string, got {value!r}") from None
    if not out.is_finite():
        raise ParseError(f"{where}.{key}: expected a finite decimal, got {value!r}")
    return out


def parse_user_funding(payload: Any) -> list[FundingPayment]:
    """`[{"time", "hash", "delta": {"type": "funding", "coin", "usdc", "szi", "fundingRate"}}]`."""
    if not isinstance(payload, list):
        raise ParseError(f"userFunding: expected a list, got {type(payload).__name__}")
    events: list[FundingPayment] = []
    for i, item in enumerate(payload):
        where = f"userFunding[{i}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("delta"), Mapping):
            raise ParseError(f"{where}: expected an object with a 'delta' object")
        time_ms = item.get("time")
        if isinstance(time_ms, bool) or not isinstance(time_ms, int):
            raise ParseError(f"{where}.time: expected an integer, got {time_ms!r}")
        delta = item["delta"]
        if delta.get("type", "funding") != "funding":
            continue
        coin = delta.get("coin")
        if not isinstance(coin, str) or not coin:
            raise ParseError(f"{where}.delta.coin: expected a coin name, got {coin!r}")
        events.append(
            FundingPayment(
                time_ms=time_ms,
                coin=coin,
                usdc=_decimal(delta, "usdc", f"{where}.delta"),
                szi=_decimal(delta, "szi", f"{where}.delta", Decimal(0)),
                rate=_decimal(delta, "fundingRate", f"{where}.delta", Decimal(0)),
            )
        )
    return events
