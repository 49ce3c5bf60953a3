"""Reading command arguments. Values are checked by the service layer (ranges, venue listing); here
only the shape of a command line: positionals, `key=value` options, percentages, token lists with
per-token scaling (`ETH:50,BTC:200`)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from bot.service import InvalidInput, inputs
from bot.service.inputs import scaling, shown
from strategies.config import ALL_TOKENS

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)%?$")
ON_OFF = {"on": True, "yes": True, "true": True, "off": False, "no": False, "false": False}


def split_options(args: list[str]) -> tuple[list[str], dict[str, str]]:
    """Positional words and `key=value` options (keys lower-cased)."""
    positional: list[str] = []
    options: dict[str, str] = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if sep and key and not key.startswith("0x"):
            options[key.strip().lower()] = value.strip()
        else:
            positional.append(arg)
    return positional, options


def arguments(
    args: list[str], most: int, options: tuple[str, ...] | None = (), form: str = "see the usage below"
) -> tuple[list[str], dict[str, str]]:
    """`split_options`, refusing what a command does not take: more than `most` positional words, or an
    option not in `options` (None: the command checks its options itself). Nothing is applied when a
    word is left over."""
    positional, named = split_options(args)
    if len(positional) > most:
        raise InvalidInput("arguments", f"unexpected {shown(positional[most])}", form)
    unknown = [key for key in named if options is not None and key not in options]
    if unknown:
        accepted = ", ".join(f"{k}=…" for k in options or ()) or "none"
        key = unknown[0]
        raise InvalidInput(
            "option", f"unknown {key if key.isidentifier() and len(key) <= 40 else shown(key)}", accepted
        )
    return positional, named


def is_number(text: str) -> bool:
    return bool(_NUMBER.match(text.strip()))


def percent(text: str, field: str) -> str:
    """`150`, `150%` → the number as text; out of the service's range (`-5`, `5000`) is refused."""
    value = text.strip().removesuffix("%")
    if not is_number(value):
        raise InvalidInput(field, f"not a percentage: {shown(text)}", "a number such as 50 or 150%")
    scaling(value, field)  # the service's range, checked before any confirmation is asked
    return value


def token_spec(text: str) -> tuple[list[str] | None, dict[str, str]]:
    """`*` → every token; `ETH,BTC` → those; `ETH:50,BTC:200` → those with their own scaling; a builder
    dex's coin is `dex:COIN` (`test:GOLD`, `test:GOLD:50`)."""
    if text.strip() in (ALL_TOKENS, "all"):
        return None, {}
    tokens: list[str] = []
    scale: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        coin, sep, k = part.rpartition(":")
        if not sep or not is_number(k.removesuffix("%")):  # `test:GOLD` is a builder dex's coin, no scale
            coin, sep, k = part, "", ""
        tokens.append(coin)
        if sep:
            scale[coin] = percent(k, f"scale.{coin}")
    if not tokens:
        raise InvalidInput("tokens", "empty list of coins", "e.g. ETH,BTC or ETH:50,BTC:200 or *")
    return tokens, scale


def on_off(text: str, field: str) -> bool:
    value = ON_OFF.get(text.strip().lower())
    if value is None:
        raise InvalidInput(field, f"expected on or off, got {shown(text)}", "on, off")
    return value


def count(text: str, field: str, high: int) -> int:
    return inputs.whole_text(text, field, 1, high)


def exceeds_100(values: list[str]) -> bool:
    """Whether any scaling asks for more than the source's own risk proportion (needs a confirmation)."""
    out = False
    for value in values:
        try:
            out = out or Decimal(value) > 100
        except InvalidOperation:
            continue  # not a number: the service refuses it with its own message
    return out
