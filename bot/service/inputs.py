"""Reading user input (CLI flags, Telegram arguments, settings JSON) into exact values.

Every refusal names the field and what it accepts. A value that looks like a private key is never
echoed back, whatever field it was typed into.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from bot.ledger.types import decimal_text
from bot.service.errors import InvalidInput

ADDRESS_FORMAT = "0x followed by 40 hex digits"
MAX_SCALING = Decimal(1000)  # percent: 10x the source's risk proportion is the most a follow may ask
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_KEY_LIKE = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:@/_.-]{0,31}$")
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def shown(value: object) -> str:
    """`repr` of a rejected value for an error message, unless it could be a secret."""
    if isinstance(value, str) and _KEY_LIKE.match(value.strip()):
        return "a value that looks like a private key (not shown)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def address(value: object, field: str) -> str:
    """An EVM address, lower-cased (addresses are case-insensitive; the ledger keys on lower case)."""
    if not isinstance(value, str) or not _ADDRESS.match(value.strip()):
        raise InvalidInput(field, f"not an address: {shown(value)}", ADDRESS_FORMAT)
    return value.strip().lower()


def decimal(value: object, field: str) -> Decimal:
    """An exact decimal from a string, an int or a Decimal; floats are refused (they are not exact)."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        kind = "a float (inexact)" if isinstance(value, float) else type(value).__name__
        raise InvalidInput(field, f"expected a decimal number, got {kind}", 'a decimal such as "0.5"')
    try:
        out = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise InvalidInput(field, f"not a number: {shown(value)}", 'a decimal such as "0.5"') from None
    if not out.is_finite():
        raise InvalidInput(field, f"must be a finite number, got {shown(value)}")
    return out


def bounded(
    value: object, field: str, *, low: Decimal, high: Decimal | None = None, open_low: bool
) -> Decimal:
    """A decimal in `(low, high]` (or `[low, high]` when `open_low` is false)."""
    out = decimal(value, field)
    too_low = out <= low if open_low else out < low
    if too_low or (high is not None and out > high):
        left = "(" if open_low else "["
        right = f"{decimal_text(high)}]" if high is not None else "∞)"
        raise InvalidInput(field, f"out of range: {decimal_text(out)}", f"{left}{decimal_text(low)}, {right}")
    return out


def scaling(value: object, field: str) -> Decimal:
    """A scaling percentage k: more than 0, at most MAX_SCALING (to skip a token, exclude it)."""
    return bounded(value, field, low=Decimal(0), high=MAX_SCALING, open_low=True)


def flag(value: object, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise InvalidInput(field, f"expected true or false, got {shown(value)}", "true, false")


def choice(value: object, field: str, accepted: Iterable[str]) -> str:
    options = tuple(accepted)
    if not isinstance(value, str) or value not in options:
        raise InvalidInput(field, f"unknown value {shown(value)}", ", ".join(options))
    return value


def token(value: object, field: str) -> str:
    """A perp coin name. Typed in one case (`eth`) it is upper-cased; mixed case is kept as the venue
    spells some coins that way (`kPEPE`). Against a venue, `venue_tokens` fixes the spelling."""
    if not isinstance(value, str) or not _TOKEN.match(value.strip()):
        raise InvalidInput(field, f"not a token name: {shown(value)}", "a coin such as ETH, BTC, kPEPE")
    text = value.strip()
    return text.upper() if text.islower() or text.isupper() else text


def tokens(value: object, field: str) -> tuple[str, ...]:
    """A list of coins: a list, or a comma-separated string (`"ETH,BTC"`). Duplicates are dropped."""
    items: list[object]
    if isinstance(value, str):
        items = [part for part in (p.strip() for p in value.split(",")) if part]
    elif isinstance(value, list | tuple | frozenset | set):
        items = sorted(value) if isinstance(value, set | frozenset) else list(value)
    else:
        raise InvalidInput(field, f"expected a list of coins, got {shown(value)}", "e.g. ETH,BTC")
    out = [token(item, f"{field}[{i}]") for i, item in enumerate(items)]
    if not out:
        raise InvalidInput(field, "empty list of coins", "e.g. ETH,BTC")
    return tuple(dict.fromkeys(out))


def venue_tokens(coins: Iterable[str], listed: Iterable[str], field: str) -> tuple[str, ...]:
    """`coins` in the venue's spelling; a coin the venue does not list is refused, naming a few it does."""
    by_upper = {coin.upper(): coin for coin in listed}
    out: list[str] = []
    for coin in coins:
        found = by_upper.get(coin.upper())
        if found is None:
            sample = ", ".join(sorted(by_upper.values())[:12])
            more = ", …" if len(by_upper) > 12 else ""
            raise InvalidInput(field, f"{coin} is not listed by the venue", f"{sample}{more}")
        out.append(found)
    return tuple(dict.fromkeys(out))
