"""What the chat shows, in Telegram's HTML (parse_mode HTML): markup helpers that escape what they wrap,
and numbers a person reads (sizes to the lot, USD to the cent, short ids).

The rule that keeps hostile strings (a coin name, a label, a username, a venue's error text) from
injecting markup: a reply is either `Html` — built only by these helpers, which escape every value they
are given — or a plain `str`, which `as_html` escapes whole when it is sent. Nothing else is markup.
"""

from __future__ import annotations

import html as _html
import re
from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Decimal

# One short form of an address, in replies and chart titles alike (re-exported for the chat's helpers).
from bot.analytics.render import short_address as short_address

DEFAULT_DECIMALS = 6  # sizes of a coin whose lot is not known: enough for any listed market's lot
_TAG = re.compile(r"<[^>]*>")  # escaped text never holds a raw "<": only our tags match
SHORT_ID = 12  # hex digits of a decision id in replies; `/why` takes any unique prefix of 8 or more
# (bot/service/inputs.py, decision_prefix)


class Html(str):
    """Text that is already Telegram HTML (made by the helpers below): sent as it is."""

    __slots__ = ()


def esc(value: object) -> str:
    """`value` as text with Telegram's three special characters escaped (`<`, `>`, `&`)."""
    return _html.escape(str(value), quote=False)


def as_html(text: str) -> Html:
    """What is sent: `Html` as it is, any other text escaped whole (so it shows exactly as written)."""
    return text if isinstance(text, Html) else Html(esc(text))


def _inner(value: object) -> str:
    return value if isinstance(value, Html) else esc(value)


def _tag(name: str, value: object) -> Html:
    """`value` in a tag, line by line: markup never spans a line break, so a long reply can be cut at
    any line (send.chunks) and each piece stays well-formed."""
    return Html("\n".join(f"<{name}>{line}</{name}>" for line in _inner(value).split("\n")))


def b(value: object) -> Html:
    return _tag("b", value)


def i(value: object) -> Html:
    return _tag("i", value)


def code(value: object) -> Html:
    """Monospace, and tap-to-copy in Telegram: for ids, addresses and commands to paste back."""
    return _tag("code", value)


def join(parts: Iterable[object], sep: str = "\n") -> Html:
    """Join pieces: `Html` as they are, anything else escaped."""
    return Html(esc(sep).join(_inner(p) for p in parts))


def fmt(template: str, *values: object) -> Html:
    """`template` (trusted markup written in the code, `{}` placeholders) with each value escaped
    unless it is `Html`."""
    return Html(template.format(*(_inner(v) for v in values)))


def plain(text: str) -> str:
    """What a person sees of `text` once Telegram has rendered it (tags dropped, entities resolved);
    plain text as it is."""
    if not isinstance(text, Html):
        return text
    return _html.unescape(_TAG.sub("", text))


# ---- numbers -----------------------------------------------------------------------------------


def _trim(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def size(value: Decimal | None, decimals: int | None = None, *, signed: bool = False) -> str:
    """A size at the market's lot precision (`decimals`: the venue's size decimals; unknown: 6),
    trailing zeros dropped; `?` when unknown. Rounded half-even: a display, never an order size."""
    if value is None:
        return "?"
    places = DEFAULT_DECIMALS if decimals is None else max(0, decimals)
    text = _trim(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN))
    return f"+{text}" if signed and not text.startswith("-") and text != "0" else text


def price(value: Decimal | None) -> str:
    """A price with five significant digits at most (as the venue quotes them), at least whole units."""
    if value is None:
        return "?"
    exponent = value.adjusted() if value else 0
    places = max(0, 4 - exponent)
    return _trim(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN))


def usd(value: Decimal | None, *, signed: bool = False) -> str:
    """`$1,234.57`, `-$3.20` (to the cent); `+$3.20` when `signed`; `?` when unknown."""
    if value is None:
        return "?"
    rounded = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    if rounded < 0:
        return f"-${-rounded:,}"
    return f"{'+' if signed and rounded > 0 else ''}${rounded:,}"


def percent(value: Decimal | None, *, signed: bool = False) -> str:
    """A percentage to two decimals at most: `12.5 %`."""
    if value is None:
        return "?"
    text = _trim(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))
    return f"{'+' if signed and value > 0 and text != '0' else ''}{text} %"


def short_id(value: str | None) -> str:
    """A decision (instruction) id as replies show it: its first hex digits, which `/why` accepts;
    other references (trade ids, cloids) as they are."""
    if not value:
        return "-"
    text = value.strip()
    if len(text) == 64 and all(c in "0123456789abcdef" for c in text):
        return text[:SHORT_ID]
    return text
