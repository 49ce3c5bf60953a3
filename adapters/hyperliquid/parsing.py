"""Hyperliquid `/info` payloads → typed records (`bot.domain` types, plus a few venue-only ones here).

Accepts both the 2023 shapes (no `tid`/`feeToken`/`time`, positions with `maxTradeSzs`) and today's.
Every number goes through `Decimal(str)`; a JSON float is refused, so callers must decode with
`json.loads(..., parse_float=Decimal)` (or hand us the venue's strings). A bad payload raises
`ParseError` naming the field path (`userFills[3].sz`) and what was accepted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from bot.domain import AccountState, Candle, Instrument, Position, Side, SourceFill
from bot.domain.equity import account_equity

_SIDES = {"B": Side.BUY, "A": Side.SELL}
FILL_REQUEST_TYPES = frozenset({"userFills", "userFillsByTime"})


class ParseError(ValueError):
    """A venue payload that does not have the shape we rely on; the message names the field."""


# --- venue-only records (not needed outside the adapter's callers) -------------------------------


@dataclass(frozen=True, slots=True)
class OpenOrder:
    coin: str
    side: Side
    limit_px: Decimal
    sz: Decimal  # remaining size
    oid: int
    timestamp_ms: int
    orig_sz: Decimal | None = None
    reduce_only: bool = False
    order_type: str = ""
    tif: str | None = None
    cloid: str | None = None


@dataclass(frozen=True, slots=True)
class OrderStatus:
    """One order with its latest status (`historicalOrders` item, `orderStatus` answer)."""

    order: OpenOrder
    status: str  # the venue's word: open, filled, canceled, iocCancelRejected, …
    status_time_ms: int


@dataclass(frozen=True, slots=True)
class BookLevel:
    px: Decimal
    sz: Decimal
    n: int


@dataclass(frozen=True, slots=True)
class L2Book:
    coin: str
    bids: tuple[BookLevel, ...]  # best first
    asks: tuple[BookLevel, ...]
    time_ms: int


@dataclass(frozen=True, slots=True)
class UserRateLimit:
    cum_vlm: Decimal
    n_requests_used: int
    n_requests_cap: int


# --- field readers: each names the path of the field it could not read ----------------------------


def _field(obj: Mapping[str, Any], key: str, where: str) -> Any:
    if not isinstance(obj, Mapping):
        raise ParseError(f"{where}: expected an object, got {type(obj).__name__}")
    if key not in obj:
        raise ParseError(f"{where}.{key}: missing")
    return obj[key]


def _decimal_value(value: Any, where: str) -> Decimal:
    # bool is an int subclass and float loses digits: both are refused.
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ParseError(f"{where}: expected a decimal string, got {type(value).__name__} {value!r}")
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise ParseError(f"{where}: expected a decimal string, got {value!r}") from None
    if not result.is_finite():
        raise ParseError(f"{where}: expected a finite decimal, got {value!r}")
    return result


def _dec(obj: Mapping[str, Any], key: str, where: str) -> Decimal:
    return _decimal_value(_field(obj, key, where), f"{where}.{key}")


def _positive(obj: Mapping[str, Any], key: str, where: str) -> Decimal:
    value = _dec(obj, key, where)
    if value <= 0:
        raise ParseError(f"{where}.{key}: expected a positive decimal, got {value}")
    return value


def _opt_dec(obj: Mapping[str, Any], key: str, where: str) -> Decimal | None:
    value = obj.get(key)
    return None if value is None else _decimal_value(value, f"{where}.{key}")


def _int_value(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParseError(f"{where}: expected an integer, got {type(value).__name__} {value!r}")
    return value


def _int(obj: Mapping[str, Any], key: str, where: str) -> int:
    return _int_value(_field(obj, key, where), f"{where}.{key}")


def _str(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = _field(obj, key, where)
    if not isinstance(value, str) or not value:
        raise ParseError(f"{where}.{key}: expected a non-empty string, got {value!r}")
    return value


def _bool(obj: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    value = obj.get(key, default)
    if not isinstance(value, bool):
        raise ParseError(f"{where}.{key}: expected true or false, got {value!r}")
    return value


def _side(obj: Mapping[str, Any], where: str) -> Side:
    value = _field(obj, "side", where)
    if not isinstance(value, str) or value not in _SIDES:
        raise ParseError(f"{where}.side: expected 'B' (buy) or 'A' (sell), got {value!r}")
    return _SIDES[value]


def _list(payload: Any, where: str) -> Sequence[Any]:
    if not isinstance(payload, list):
        raise ParseError(f"{where}: expected a list, got {type(payload).__name__}")
    return payload


# --- fills ----------------------------------------------------------------------------------------


def parse_fill(raw: Mapping[str, Any], where: str = "fill") -> SourceFill:
    tid = raw.get("tid")
    return SourceFill(
        coin=_str(raw, "coin", where),
        px=_positive(raw, "px", where),
        sz=_positive(raw, "sz", where),
        side=_side(raw, where),
        time_ms=_int(raw, "time", where),
        oid=_int(raw, "oid", where),
        tid=None if tid is None else _int_value(tid, f"{where}.tid"),
        start_position=_dec(raw, "startPosition", where),
        hash=str(raw.get("hash") or ""),
        dir=str(raw.get("dir") or ""),
        closed_pnl=_opt_dec(raw, "closedPnl", where) or Decimal(0),
        fee=_opt_dec(raw, "fee", where) or Decimal(0),
        crossed=_bool(raw, "crossed", where, default=True),
        builder_fee=_opt_dec(raw, "builderFee", where) or Decimal(0),
    )


def parse_user_fills(payload: list[dict[str, Any]]) -> list[SourceFill]:
    """A `userFills` / `userFillsByTime` answer (newest first on the venue); order is kept."""
    items = _list(payload, "userFills")
    for i, raw in enumerate(items):
        if not isinstance(raw, Mapping):
            raise ParseError(f"userFills[{i}]: expected an object, got {type(raw).__name__}")
    return [parse_fill(raw, f"userFills[{i}]") for i, raw in enumerate(items)]


def fills_in_message(payload: Any) -> list[SourceFill]:
    """A list of fills, `{"fills": [...]}` (the `data` of a websocket `userFills` message) or the
    whole message `{"channel": "userFills", "data": {...}}`."""
    if isinstance(payload, Mapping) and "channel" in payload:
        if payload["channel"] != "userFills":
            raise ParseError(f"channel: expected 'userFills', got {payload['channel']!r}")
        payload = _field(payload, "data", "message")
    if isinstance(payload, Mapping):
        payload = _field(payload, "fills", "userFills")
    return parse_user_fills(payload)


def read_cassette(path: Path) -> list[tuple[dict[str, Any], Any]]:
    """The (request body, response body) pairs of a vcrpy cassette, both JSON-decoded with Decimals."""
    return cassette_pairs(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)


def cassette_pairs(doc: Any, name: str) -> list[tuple[dict[str, Any], Any]]:
    """`read_cassette` of an already loaded (safe_load) YAML document."""
    pairs: list[tuple[dict[str, Any], Any]] = []
    for i, interaction in enumerate(_list(_field(doc, "interactions", name), f"{name}.interactions")):
        where = f"{name}.interactions[{i}]"
        request = _field(interaction, "request", where)
        body = _field(_field(_field(interaction, "response", where), "body", where), "string", where)
        request_body = _json(request.get("body") or "{}", f"{where}.request.body")
        if not isinstance(request_body, Mapping):
            raise ParseError(f"{where}.request.body: expected a JSON object")
        pairs.append((dict(request_body), _json(body, where)))
    return pairs


def _json(text: Any, where: str) -> Any:
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    if not isinstance(text, str):
        raise ParseError(f"{where}: expected a JSON string, got {type(text).__name__}")
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ParseError(f"{where}: not JSON ({exc.msg} at line {exc.lineno})") from None


def load_fills_file(path: Path) -> list[SourceFill]:
    """Fills from a file: the venue's JSON (a list, or a websocket `userFills` message) or a vcrpy
    YAML cassette of `userFills`/`userFillsByTime` requests (their answers are concatenated)."""
    if path.suffix.lower() in {".yaml", ".yml"}:
        return fills_in_cassette(read_cassette(path), path.name)
    return fills_in_message(_json(path.read_text(encoding="utf-8"), path.name))


def fills_in_cassette(pairs: Sequence[tuple[dict[str, Any], Any]], name: str) -> list[SourceFill]:
    """The answers of a cassette's `userFills`/`userFillsByTime` requests, concatenated."""
    fills: list[SourceFill] = []
    for request, response in pairs:
        if request.get("type") in FILL_REQUEST_TYPES:
            fills.extend(parse_user_fills(response))
    if not fills and not any(req.get("type") in FILL_REQUEST_TYPES for req, _ in pairs):
        raise ParseError(f"{name}: no userFills or userFillsByTime request in the cassette")
    return fills


# --- account, market data -------------------------------------------------------------------------


def _parse_position(raw: Mapping[str, Any], where: str) -> Position:
    leverage = raw.get("leverage")
    lev_value: int | None = None
    if isinstance(leverage, Mapping):
        lev_value = _int(leverage, "value", f"{where}.leverage")
    elif leverage is not None:
        raise ParseError(f"{where}.leverage: expected an object {{type, value}}, got {leverage!r}")
    return Position(
        coin=_str(raw, "coin", where),
        size=_dec(raw, "szi", where),
        entry_px=_opt_dec(raw, "entryPx", where),
        leverage=lev_value,
        unrealized_pnl=_opt_dec(raw, "unrealizedPnl", where) or Decimal(0),
    )


def parse_clearinghouse_state(
    address: str,
    payload: dict[str, Any],
    spot_usdc: Decimal = Decimal(0),
    *,
    time_ms: int | None = None,
    dexes: Mapping[str, dict[str, Any]] | None = None,
) -> AccountState:
    """A `clearinghouseState` answer (the default dex's), with the answers of the account's other perp
    dexes (`dexes`: name → answer; their coins are already named `dex:COIN`). Equity: `account_equity`
    of every dex's `marginSummary.accountValue` and spot USDC. Time: `time_ms` if given, else the
    payload's `time` (absent in 2023 recordings: then 0, i.e. unknown). Flat entries are dropped."""
    values: dict[str, Decimal] = {}
    positions: list[Position] = []
    for dex, answer in {"": payload, **(dexes or {})}.items():
        where = "clearinghouseState" + (f"[dex={dex}]" if dex else "")
        summary = _field(answer, "marginSummary", where)
        values[dex] = _dec(summary, "accountValue", f"{where}.marginSummary")
        for i, item in enumerate(_list(_field(answer, "assetPositions", where), f"{where}.assetPositions")):
            item_where = f"{where}.assetPositions[{i}]"
            position = _parse_position(_field(item, "position", item_where), f"{item_where}.position")
            if position.size != 0:
                positions.append(position)
    if time_ms is None:
        time_ms = _int(payload, "time", "clearinghouseState") if "time" in payload else 0
    return AccountState(
        address=address,
        equity=account_equity(values, spot_usdc),
        positions=tuple(positions),
        time_ms=time_ms,
    )


def parse_spot_usdc(payload: dict[str, Any]) -> Decimal:
    """USDC `total` in a `spotClearinghouseState` answer (0 when the account holds none)."""
    where = "spotClearinghouseState"
    for i, balance in enumerate(_list(_field(payload, "balances", where), f"{where}.balances")):
        if _field(balance, "coin", f"{where}.balances[{i}]") == "USDC":
            return _dec(balance, "total", f"{where}.balances[{i}]")
    return Decimal(0)


def parse_meta(payload: dict[str, Any], offset: int = 0) -> list[Instrument]:
    """The perp universe of one dex; the asset id is `offset` + the index in `universe` (`offset`: 0 on
    the default dex, `builder_asset_offset` on a builder dex). Delisted coins are left out (they cannot
    be traded) but keep their index for the others."""
    where = "meta"
    instruments: list[Instrument] = []
    for i, raw in enumerate(_list(_field(payload, "universe", where), f"{where}.universe")):
        item_where = f"{where}.universe[{i}]"
        if _bool(raw, "isDelisted", item_where, default=False):
            continue
        sz_decimals = _int(raw, "szDecimals", item_where)
        max_leverage = _int(raw, "maxLeverage", item_where)
        if sz_decimals < 0 or max_leverage < 1:
            raise ParseError(f"{item_where}: szDecimals must be >= 0 and maxLeverage >= 1, got {raw!r}")
        only_isolated = _bool(raw, "onlyIsolated", item_where, default=False)
        name = _str(raw, "name", item_where)
        instruments.append(Instrument(name, offset + i, sz_decimals, max_leverage, only_isolated))
    return instruments


# Builder-deployed perp dexes (HIP-3): the i-th (0-based) after the default dex in `perpDexs` numbers
# its assets from 110000 + 10000·i, as the venue and hyperliquid-python-sdk's `Info` do.
BUILDER_ASSET_BASE = 110_000
BUILDER_ASSET_STRIDE = 10_000


def builder_asset_offset(position: int) -> int:
    """The first asset id of the dex at `position` in `perpDexs` (1 = the first builder dex)."""
    if position < 1:
        raise ValueError(f"position: the default dex (0) has no builder offset, got {position}")
    return BUILDER_ASSET_BASE + BUILDER_ASSET_STRIDE * (position - 1)


def parse_perp_dexs(payload: Any) -> list[str]:
    """A `perpDexs` answer: `[null, {"name": …}, …]` → `["", name, …]` (the default dex first)."""
    items = _list(payload, "perpDexs")
    if not items or items[0] is not None:
        raise ParseError(f"perpDexs[0]: expected null (the default dex), got {items[:1]!r}")
    return ["", *(_str(raw, "name", f"perpDexs[{i}]") for i, raw in enumerate(items) if i > 0)]


def parse_mark_prices(payload: Any) -> dict[str, Decimal]:
    """`metaAndAssetCtxs` ([meta, ctxs], aligned by index): each listed coin's `markPx`."""
    where = "metaAndAssetCtxs"
    if not isinstance(payload, list) or len(payload) != 2 or not isinstance(payload[1], list):
        raise ParseError(f"{where}: expected [meta, assetCtxs], got {type(payload).__name__}")
    universe = _list(_field(payload[0], "universe", where), f"{where}.universe")
    out: dict[str, Decimal] = {}
    for i, (raw, ctx) in enumerate(zip(universe, payload[1], strict=False)):
        mark = ctx.get("markPx") if isinstance(ctx, Mapping) else None
        if mark is None or _bool(raw, "isDelisted", f"{where}.universe[{i}]", default=False):
            continue
        out[_str(raw, "name", f"{where}.universe[{i}]")] = _decimal_value(mark, f"{where}[{i}].markPx")
    return out


def parse_candles(payload: Any) -> list[Candle]:
    """`candleSnapshot`: `[{t, T, s, i, o, c, h, l, v, n}, ...]`, returned oldest first."""
    out = []
    for i, raw in enumerate(_list(payload, "candleSnapshot")):
        where = f"candleSnapshot[{i}]"
        if not isinstance(raw, Mapping):
            raise ParseError(f"{where}: expected an object, got {type(raw).__name__}")
        out.append(
            Candle(
                _int(raw, "t", where),
                _positive(raw, "o", where),
                _positive(raw, "h", where),
                _positive(raw, "l", where),
                _positive(raw, "c", where),
            )
        )
    return sorted(out, key=lambda c: c.time_ms)


def parse_all_mids(payload: dict[str, Any]) -> dict[str, Decimal]:
    if not isinstance(payload, Mapping):
        raise ParseError(f"allMids: expected an object, got {type(payload).__name__}")
    return {str(coin): _decimal_value(px, f"allMids.{coin}") for coin, px in payload.items()}


def parse_l2_book(payload: dict[str, Any]) -> L2Book:
    where = "l2Book"
    levels = _list(_field(payload, "levels", where), f"{where}.levels")
    if len(levels) != 2:
        raise ParseError(f"{where}.levels: expected [bids, asks], got {len(levels)} sides")

    def side(index: int) -> tuple[BookLevel, ...]:
        side_where = f"{where}.levels[{index}]"
        return tuple(
            BookLevel(
                _positive(lv, "px", f"{side_where}[{j}]"),
                _positive(lv, "sz", f"{side_where}[{j}]"),
                _int(lv, "n", f"{side_where}[{j}]"),
            )
            for j, lv in enumerate(_list(levels[index], side_where))
        )

    return L2Book(_str(payload, "coin", where), side(0), side(1), _int(payload, "time", where))


def parse_open_order(raw: Mapping[str, Any], where: str = "order") -> OpenOrder:
    cloid = raw.get("cloid")
    tif = raw.get("tif")
    return OpenOrder(
        coin=_str(raw, "coin", where),
        side=_side(raw, where),
        limit_px=_dec(raw, "limitPx", where),
        sz=_dec(raw, "sz", where),
        oid=_int(raw, "oid", where),
        timestamp_ms=_int(raw, "timestamp", where),
        orig_sz=_opt_dec(raw, "origSz", where),
        reduce_only=_bool(raw, "reduceOnly", where, default=False),
        order_type=str(raw.get("orderType") or ""),
        tif=None if tif is None else str(tif),
        cloid=None if cloid is None else str(cloid),
    )


def parse_open_orders(payload: list[dict[str, Any]]) -> list[OpenOrder]:
    items = _list(payload, "openOrders")
    return [parse_open_order(raw, f"openOrders[{i}]") for i, raw in enumerate(items)]


def parse_order_status_entry(raw: Mapping[str, Any], where: str) -> OrderStatus:
    return OrderStatus(
        order=parse_open_order(_field(raw, "order", where), f"{where}.order"),
        status=_str(raw, "status", where),
        status_time_ms=_int(raw, "statusTimestamp", where),
    )


def parse_historical_orders(payload: list[dict[str, Any]]) -> list[OrderStatus]:
    items = _list(payload, "historicalOrders")
    return [parse_order_status_entry(raw, f"historicalOrders[{i}]") for i, raw in enumerate(items)]


def parse_order_status(payload: dict[str, Any]) -> OrderStatus | None:
    """An `orderStatus` answer: `{"status": "order", "order": {...}}`, or None for `unknownOid`."""
    where = "orderStatus"
    status = _field(payload, "status", where)
    if status == "unknownOid":
        return None
    if status != "order":
        raise ParseError(f"{where}.status: expected 'order' or 'unknownOid', got {status!r}")
    return parse_order_status_entry(_field(payload, "order", where), f"{where}.order")


def parse_user_rate_limit(payload: dict[str, Any]) -> UserRateLimit:
    where = "userRateLimit"
    return UserRateLimit(
        cum_vlm=_dec(payload, "cumVlm", where),
        n_requests_used=_int(payload, "nRequestsUsed", where),
        n_requests_cap=_int(payload, "nRequestsCap", where),
    )
