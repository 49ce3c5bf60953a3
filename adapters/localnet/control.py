"""`POST /_localnet`: the control messages (never on a real venue).

Each message is `{"type": ..., ...}`; a bad one raises `ControlError` with a text naming the field
and the accepted values (the server answers HTTP 400 `{"error": text}`). Bodies are parsed with
`parse_float=Decimal`, so amounts given as JSON numbers stay exact.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from adapters.localnet.exchange import LocalExchange
from adapters.localnet.faults import FAULT_SCOPES, STATUS_5XX, Faults
from adapters.localnet.stats import ExchangeStats
from adapters.localnet.transfers import REFERRAL_CODE
from adapters.localnet.ws import WsHub

ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
MAX_PRICE_WALK_MS = 3_600_000
MAX_ADVANCE_STEPS = 100_000


class ControlError(Exception):
    """A control message the localnet refuses; `str(exc)` names the field and the accepted values."""


class ControlTarget(Protocol):
    """What the control messages act on. The server's `Localnet` is one; declared here (not imported
    from server.py, which imports this module) so the two modules do not import each other."""

    exchange: LocalExchange
    faults: Faults
    hub: WsHub
    stats: ExchangeStats

    def set_price_walk(self, interval_ms: int) -> None: ...

    def clear_faults(self) -> None: ...

    def fault_report(self) -> dict[str, Any]: ...

    def reset(self) -> None: ...


# --- field readers ---
def _address(msg: Mapping[str, Any], field: str) -> str:
    value = msg.get(field)
    if not isinstance(value, str) or not ADDRESS.match(value):
        raise ControlError(f"{field}: expected a 0x-prefixed 40-hex-digit address, got {value!r}")
    return value.lower()


def _decimal(value: Any, field: str, *, positive: bool = True, at_most: Decimal | None = None) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ControlError(f'{field}: expected a decimal number (string such as "10000"), got {value!r}')
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ControlError(f"{field}: expected a decimal number, got {value!r}") from None
    if not number.is_finite() or (positive and number <= 0) or (not positive and number < 0):
        raise ControlError(
            f"{field}: expected a {'positive' if positive else 'non-negative'} number, got {value!r}"
        )
    if at_most is not None and number > at_most:
        raise ControlError(f"{field}: expected a number at most {at_most}, got {value!r}")
    return number


def _int(value: Any, field: str, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | Decimal) or value != int(value):
        raise ControlError(f"{field}: expected an integer from {low} to {high}, got {value!r}")
    number = int(value)
    if not low <= number <= high:
        raise ControlError(f"{field}: expected an integer from {low} to {high}, got {value!r}")
    return number


def _rate(value: Any, field: str) -> float:
    """A probability in [0, 1] (only used for random draws, never for money)."""
    return float(_decimal(value, field, positive=False, at_most=Decimal(1)))


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ControlError(f"{field}: expected true or false, got {value!r}")
    return value


def _only(msg: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(msg) - allowed - {"type"})
    if unknown:
        raise ControlError(
            f"{msg['type']}: unknown field(s) {', '.join(unknown)}; accepted: {', '.join(sorted(allowed))}"
        )


# --- messages ---
def _fund(net: ControlTarget, msg: Mapping[str, Any]) -> dict[str, Any]:
    """Credit collateral: USDC on the default dex, or (with `dex`) the builder dex's collateral token."""
    _only(msg, {"user", "usdc", "dex"})
    user = _address(msg, "user")
    dex = msg.get("dex", "")
    if not isinstance(dex, str):
        raise ControlError(f'dex: expected a perp dex name ("" for the default), got {dex!r}')
    net.exchange.fund(user, _decimal(msg.get("usdc"), "usdc"), dex)
    return {"user": user, **({"dex": dex} if dex else {})}


def _set_mids(net: ControlTarget, msg: Mapping[str, Any]) -> dict[str, Any]:
    _only(msg, {"mids"})
    mids = msg.get("mids")
    if not isinstance(mids, dict) or not mids:
        raise ControlError('mids: expected an object of coin to price, e.g. {"ETH": "3000"}')
    known = net.exchange.all_mids()
    parsed: dict[str, Decimal] = {}
    for coin, price in mids.items():
        if coin not in known:
            raise ControlError(f"mids: unknown coin {coin!r}; accepted: {', '.join(sorted(known))}")
        parsed[coin] = _decimal(price, f"mids.{coin}")
    net.exchange.set_mids(parsed)
    # the default dex's mids, and any builder-dex coin just set
    after = {**net.exchange.mids(), **{coin: net.exchange.all_mids()[coin] for coin in parsed}}
    return {"mids": {coin: str(px) for coin, px in after.items()}}


FAULT_FIELDS = {
    "clear",
    "rate429",
    "rate5xx",
    "status5xx",
    "latencyMs",
    "scope",
    "dropWsNow",
    "dropWsRate",
    "rejectNext",
    "rejectMessage",
    "partialFillRatio",
    "duplicateWsFills",
    "reorderWsFills",
    "holdWsFills",
    "releaseWsFills",
    "outlierMids",
}


def _fault(net: ControlTarget, msg: Mapping[str, Any]) -> dict[str, Any]:
    """Set the faults named; others keep their value. `clear: true` first clears everything."""
    _only(msg, FAULT_FIELDS)
    if len(msg) == 1:
        raise ControlError(f"fault: give at least one of {', '.join(sorted(FAULT_FIELDS))}")
    # Validate everything before changing anything: a refused message leaves the faults as they were.
    updates: list[Callable[[], None]] = []
    if "clear" in msg and _bool(msg["clear"], "clear"):
        updates.append(net.clear_faults)
    if "rate429" in msg:
        rate_429 = _rate(msg["rate429"], "rate429")
        updates.append(lambda: setattr(net.faults.settings, "rate_429", rate_429))
    if "rate5xx" in msg:
        rate_5xx = _rate(msg["rate5xx"], "rate5xx")
        updates.append(lambda: setattr(net.faults.settings, "rate_5xx", rate_5xx))
    if "status5xx" in msg:
        status = msg["status5xx"]
        if status not in STATUS_5XX or isinstance(status, bool):
            raise ControlError(
                f"status5xx: expected one of {', '.join(map(str, STATUS_5XX))}, got {status!r}"
            )
        updates.append(lambda: setattr(net.faults.settings, "status_5xx", int(status)))
    if "latencyMs" in msg:
        latency = float(_decimal(msg["latencyMs"], "latencyMs", positive=False, at_most=Decimal(60_000)))
        updates.append(lambda: setattr(net.faults.settings, "latency_ms", latency))
    if "scope" in msg:
        scope = msg["scope"]
        if scope not in FAULT_SCOPES:
            raise ControlError(f"scope: expected one of {', '.join(FAULT_SCOPES)}, got {scope!r}")
        updates.append(lambda: setattr(net.faults.settings, "scope", scope))
    if "dropWsRate" in msg:
        drop_rate = _rate(msg["dropWsRate"], "dropWsRate")
        updates.append(lambda: setattr(net.faults.settings, "drop_ws_rate", drop_rate))
    if "rejectNext" in msg:
        reject = _int(msg["rejectNext"], "rejectNext", low=0, high=1_000_000)
        updates.append(lambda: setattr(net.exchange, "reject_next_orders", reject))
    if "rejectMessage" in msg:
        text = msg["rejectMessage"]
        if not isinstance(text, str) or not text:
            raise ControlError(f"rejectMessage: expected a non-empty string, got {text!r}")
        updates.append(lambda: setattr(net.exchange, "reject_message", text))
    if "partialFillRatio" in msg:
        raw = msg["partialFillRatio"]
        ratio = None if raw is None else _decimal(raw, "partialFillRatio", positive=False, at_most=Decimal(1))
        updates.append(lambda: setattr(net.exchange, "partial_fill_ratio", ratio))
    if "duplicateWsFills" in msg:
        duplicate = _rate(msg["duplicateWsFills"], "duplicateWsFills")
        updates.append(lambda: setattr(net.faults.settings, "duplicate_ws_fills", duplicate))
    if "reorderWsFills" in msg:
        reorder = _bool(msg["reorderWsFills"], "reorderWsFills")
        updates.append(lambda: setattr(net.faults.settings, "reorder_ws_fills", reorder))
    if "holdWsFills" in msg:
        hold = _int(msg["holdWsFills"], "holdWsFills", low=0, high=1_000_000)
        updates.append(lambda: setattr(net.faults.settings, "hold_ws_fills", hold))
    if "outlierMids" in msg:
        outliers = _outlier_mids(net, msg["outlierMids"])
        updates.append(lambda: net.exchange.set_outlier_mids(outliers))
    drop_now = "dropWsNow" in msg and _bool(msg["dropWsNow"], "dropWsNow")
    release = "releaseWsFills" in msg and _bool(msg["releaseWsFills"], "releaseWsFills")
    for update in updates:
        update()
    dropped = net.hub.drop_all() if drop_now else 0
    released = net.hub.release_held() if release else 0
    return {"faults": net.fault_report(), "droppedWs": dropped, "releasedWsFills": released}


def _outlier_mids(net: ControlTarget, value: Any) -> dict[str, Decimal]:
    """`outlierMids`: coin → the mid `allMids` serves instead of the true one ({} clears them)."""
    if not isinstance(value, dict):
        raise ControlError('outlierMids: expected an object of coin to price, e.g. {"ETH": "3300"}, or {}')
    known = net.exchange.mids()
    out: dict[str, Decimal] = {}
    for coin, price in value.items():
        if coin not in known:
            raise ControlError(f"outlierMids: unknown coin {coin!r}; accepted: {', '.join(sorted(known))}")
        out[coin] = _decimal(price, f"outlierMids.{coin}")
    return out


def _stats(net: ControlTarget, msg: Mapping[str, Any]) -> dict[str, Any]:
    _only(msg, {"since", "pushes", "info"})
    since = _int(msg.get("since", 0), "since", low=0, high=2**62)
    answer: dict[str, Any] = {"count": len(net.stats), "requests": net.stats.report(since)}
    if msg.get("pushes") is True:  # the userFills pushes' send times (latency benchmarks)
        answer["fillPushes"] = list(net.hub.fill_pushes)
    if msg.get("info") is True:  # /info requests answered, by type
        answer["infoRequests"] = dict(sorted(net.stats.info_requests.items()))
    return answer


def _reset(net: ControlTarget, msg: Mapping[str, Any]) -> dict[str, Any]:
    _only(msg, set())
    net.reset()
    return {}


def _create_vault(net: ControlTarget, msg: Mapping[str, Any]) -> dict[str, Any]:
    _only(msg, {"leader", "usdc"})
    leader = _address(msg, "leader")
    vault = net.exchange.create_vault(leader, _decimal(msg.get("usdc"), "usdc"))
    return {"vault": vault.lower()}


def _price_walk(net: ControlTarget, msg: Mapping[str, Any]) -> dict[str, Any]:
    _only(msg, {"intervalMs"})
    interval = _int(msg.get("intervalMs"), "intervalMs", low=0, high=MAX_PRICE_WALK_MS)
    net.set_price_walk(interval)
    return {"intervalMs": interval}


def _advance(net: ControlTarget, msg: Mapping[str, Any]) -> dict[str, Any]:
    """Take `steps` random-walk steps at once (deterministic tests need no timers)."""
    _only(msg, {"steps"})
    steps = _int(msg.get("steps", 1), "steps", low=1, high=MAX_ADVANCE_STEPS)
    for _ in range(steps):
        net.exchange.step_prices()
    return {"mids": {coin: str(px) for coin, px in net.exchange.mids().items()}}


def _referral_code(net: ControlTarget, msg: Mapping[str, Any]) -> dict[str, Any]:
    """Give `user` the referral `code` others can enter with `setReferrer` (the venue's own way to
    create one is not in the SDK)."""
    _only(msg, {"user", "code"})
    user = _address(msg, "user")
    code = msg.get("code")
    if not isinstance(code, str) or not REFERRAL_CODE.match(code):
        raise ControlError(f"code: expected 1-20 letters, digits, _ or -, got {code!r}")
    net.exchange.register_referral_code(user, code)
    return {"user": user, "code": code}


HANDLERS: dict[str, Callable[[ControlTarget, Mapping[str, Any]], dict[str, Any]]] = {
    "fund": _fund,
    "setMids": _set_mids,
    "fault": _fault,
    "stats": _stats,
    "reset": _reset,
    "createVault": _create_vault,
    "priceWalk": _price_walk,
    "advance": _advance,
    "referralCode": _referral_code,
}


def apply_control(net: ControlTarget, msg: Any) -> dict[str, Any]:
    """Apply one control message; the answer is `{"status": "ok", ...}`."""
    if not isinstance(msg, dict) or msg.get("type") not in HANDLERS:
        got = msg.get("type") if isinstance(msg, dict) else msg
        raise ControlError(f"type: expected one of {', '.join(HANDLERS)}, got {got!r}")
    try:
        return {"status": "ok", **HANDLERS[msg["type"]](net, msg)}
    except (ValueError, KeyError) as exc:  # the core refused a value the checks above let through
        raise ControlError(f"{msg['type']}: {exc}") from None
