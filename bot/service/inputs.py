"""Reading user input (CLI flags, Telegram arguments, settings JSON, scenario and fills files) into exact
values: the one input boundary.

Every refusal names the field and what it accepts. A value that looks like a private key is never
echoed back, whatever field it was typed into.

Numbers: every decimal that enters lies in one domain, checked on its text or its exponent BEFORE any
arithmetic (so `1e999999999` costs nothing): zero, or `|x| < 10^15` with at most 18 decimals and at most
20 significant digits. A product of three such values has at most 60 significant digits, so it is exact
in `strategies.num.CTX`. Keys with a narrower meaning have their own range (`Range`, the table in
bot/service/settings.py and docs/inputs.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from bot.ledger.types import decimal_text
from bot.service.errors import InvalidInput

ADDRESS_FORMAT = "0x followed by 40 hex digits"
ZERO_ADDRESS = "0x" + "0" * 40
MAX_INTEGER_DIGITS = 15  # |x| < 10^15: a trillion USD, or 10^15 coins of the cheapest token, fit
MAX_DECIMALS = 18  # the finest unit any venue value carries (an ERC-20 wei)
MAX_SIGNIFICANT = 20
MAX_NUMBER_TEXT = 64  # characters of a number's text: longer is refused before it is parsed
NUMBER_FORMAT = (
    f'a decimal such as "0.5": |x| < 1e{MAX_INTEGER_DIGITS}, at most {MAX_DECIMALS} decimals and '
    f"{MAX_SIGNIFICANT} significant digits"
)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,9})?")
_SPECIAL = re.compile(r"[+-]?(?:inf|infinity|s?nan)", re.IGNORECASE)
_LIMIT = Decimal(10) ** MAX_INTEGER_DIGITS
_ZERO = Decimal(0)
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
# A run of exactly 64 hex digits anywhere in a text (`label=0x…`, `/follow0x…`, `tid:…`), with its 0x.
_KEY_IN_TEXT = re.compile(r"(?:0x)?(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])")
MAX_WHOLE_DIGITS = 20  # a whole number typed as text: bounded before int() (which refuses > 4300)
MAX_TOKENS = 512  # coins in one list: Hyperliquid lists ~200 perps; more is not a real list
_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:@/_.-]{0,31}$")
_DEX = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,15}$")  # a builder dex's name (the part before `:`)
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def key_in(text: str) -> str | None:
    """The first thing in `text` shaped like a private key (64 hex digits, optional 0x), if any."""
    found = _KEY_IN_TEXT.search(text)
    return found.group(0) if found else None


def looks_like_key(text: str) -> bool:
    """Whether `text` contains something shaped like a private key: such text is never echoed, logged
    or recorded."""
    return key_in(text) is not None


def shown(value: object) -> str:
    """`repr` of a rejected value for an error message, unless it could hold a secret."""
    if isinstance(value, str) and looks_like_key(value):
        return "a value that looks like a private key (not shown)"
    if isinstance(value, str) and len(value) > 60:
        value = value[:40]  # never build the repr of a huge string
        return repr(value)[:-1] + "…'"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_NAME = re.compile(r"[A-Za-z0-9_.*:@/\[\]-]{1,40}")


def name(key: object) -> str:
    """A key as the user typed it, for an error message's field: as is when it is a plain name, else
    quoted (a newline or a control character never breaks the one-line message)."""
    return key if isinstance(key, str) and _NAME.fullmatch(key) else shown(key)


def _shown_number(value: int | Decimal, raw: object) -> str:
    """A number for an error message: written out when short, else as it was given (cut)."""
    number = Decimal(value) if isinstance(value, int) and value.bit_length() < 100 else value
    if isinstance(number, Decimal) and -30 < number.adjusted() < 30:
        return decimal_text(number)
    return shown(raw)


def address(value: object, field: str) -> str:
    """An EVM address, lower-cased (addresses are case-insensitive; the ledger keys on lower case).

    EIP-55: all-lowercase or all-uppercase hex carries no checksum and is accepted; mixed case must
    match its checksum (a mistyped letter is caught). The zero address is nobody's wallet: refused."""
    if not isinstance(value, str) or not _ADDRESS.match(value.strip()):
        raise InvalidInput(field, f"not an address: {shown(value)}", ADDRESS_FORMAT)
    text = value.strip()
    digits = text[2:]
    if digits != digits.lower() and digits != digits.upper():
        from eth_utils.address import to_checksum_address

        if to_checksum_address(text) != text:
            raise InvalidInput(
                field,
                f"wrong EIP-55 checksum (mixed case, a typo?): {shown(value)}",
                "the address checksummed, or all in lower case",
            )
    if text.lower() == ZERO_ADDRESS:
        raise InvalidInput(field, "the zero address is nobody's wallet", "a wallet's address")
    return text.lower()


# A follow's leader commission (SPEC §14), in tenths of a basis point of each fill's notional: at most
# Hyperliquid's builder-fee cap on perps, 0.1 %. 0 is no commission: turn it off instead.
COMMISSION_TENTHS_BP = (1, 100)


def commission_rate(value: object, field: str) -> int:
    """A builder fee in tenths of a basis point (10 = 1 bp = 0.01 %), typed or stored."""
    low, high = COMMISSION_TENTHS_BP
    accepted = f"a whole number of tenths of a basis point from {low} to {high} (10 = 0.01 %), or off"
    if isinstance(value, Decimal):
        return whole(value, field, low, high)
    return whole_text(value, field, low, high, accepted)


RANK_SOURCES = (2, 10)  # `rank`: sources side by side; more than 10 is no longer a readable table


def addresses(values: object, field: str, *, low: int, high: int) -> tuple[str, ...]:
    """A list of `low`..`high` distinct addresses (each checked as `address` does), in the order given.
    The count is checked before any address is read."""
    accepted = f"{low} to {high} distinct addresses ({ADDRESS_FORMAT})"
    if isinstance(values, str) or not isinstance(values, list | tuple):
        raise InvalidInput(field, f"expected a list of addresses, got {shown(values)}", accepted)
    if not low <= len(values) <= high:
        raise InvalidInput(field, f"{len(values)} given", accepted)
    out: list[str] = []
    for value in values:
        checked = address(value, field)
        if checked in out:
            raise InvalidInput(field, f"{checked} given twice", accepted)
        out.append(checked)
    return tuple(out)


ADDRESS_REF = "an address (0x + 40 hex digits), its first 6+ characters, or its short form 0x1234…abcd"
_ADDRESS_REF = re.compile(r"^(0x[0-9a-f]{4,40})(?:(?:…|\.\.\.)([0-9a-f]{4,36}))?$")


def address_ref(value: object, field: str) -> tuple[str, str]:
    """A reference to an address the caller already knows (a follow, an account): the full address,
    a prefix of it (0x and 4+ hex digits) or the short form replies show (`0x1234…abcd`, also with
    `...`). Returns (head, tail), lower-cased: an address matches when it starts with head and ends
    with tail (`refers_to`). A full address is checked as `address` does (its checksum too)."""
    if isinstance(value, str) and _ADDRESS.match(value.strip()):
        return address(value, field), ""
    text = value.strip().lower() if isinstance(value, str) else ""
    found = _ADDRESS_REF.match(text)
    if found is None:
        raise InvalidInput(field, f"not an address: {shown(value)}", ADDRESS_REF)
    return found.group(1), found.group(2) or ""


def refers_to(ref: tuple[str, str], address_: str) -> bool:
    head, tail = ref
    return len(address_) >= len(head) + len(tail) and address_.startswith(head) and address_.endswith(tail)


_SUFFIXES = {"k": 3, "m": 6, "b": 9}  # thousand, million, billion: the decimal point moved, exactly


def suffixed(value: object, field: str) -> object:
    """`10k` → 10000, `1.5m` → 1500000, `2b` (exact Decimals: the number is checked first, then its
    decimal point moved); any other value is returned unchanged for the reader that follows."""
    if not isinstance(value, str) or len(value.strip()) < 2:
        return value
    text = value.strip()
    shift = _SUFFIXES.get(text[-1].lower())
    if shift is None:
        return value
    number = in_domain(_number(text[:-1], field), field)
    return Decimal(format(in_domain(number.scaleb(shift), field), "f"))  # 1.5E+6 → 1500000


def _number(value: object, field: str) -> Decimal:
    """A finite Decimal from a string, an int or a Decimal, by its syntax only (no arithmetic, no range:
    `in_domain` or a `Range` checks that). Floats are refused (they are not exact)."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        kind = "a float (inexact)" if isinstance(value, float) else type(value).__name__
        raise InvalidInput(field, f"expected a decimal number, got {kind}", NUMBER_FORMAT)
    if isinstance(value, Decimal):
        out = value
    elif isinstance(value, int):
        if value.bit_length() > 128:  # before it is turned into digits
            raise InvalidInput(field, "out of range: a number that large", NUMBER_FORMAT)
        out = Decimal(value)
    else:
        text = value.strip()
        if len(text) > MAX_NUMBER_TEXT:
            raise InvalidInput(field, f"not a number or too long: {shown(value)}", NUMBER_FORMAT)
        if _SPECIAL.fullmatch(text):
            raise InvalidInput(field, f"must be a finite number, got {shown(value)}", NUMBER_FORMAT)
        if not _NUMBER.fullmatch(text):
            raise InvalidInput(field, f"not a number: {shown(value)}", NUMBER_FORMAT)
        out = Decimal(text)
    if not out.is_finite():
        raise InvalidInput(field, f"must be a finite number, got {shown(value)}", NUMBER_FORMAT)
    return out


def in_domain(value: Decimal, field: str, accepted: str = NUMBER_FORMAT) -> Decimal:
    """`value` if it lies in the domain of every number (module doc), else a refusal naming `accepted`.
    Looks only at the exponent and the digits: O(digits), never arithmetic."""
    if value.is_zero():
        return Decimal(0)
    if value.adjusted() >= MAX_INTEGER_DIGITS:
        raise InvalidInput(field, "out of range: too large", accepted)
    if value.adjusted() < -MAX_DECIMALS:
        raise InvalidInput(field, f"out of range: more than {MAX_DECIMALS} decimals", accepted)
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    trailing = len(digits) - len(bytes(digits).rstrip(b"\0"))
    significant, decimals = len(digits) - trailing, -(exponent + trailing)
    if decimals > MAX_DECIMALS:
        raise InvalidInput(field, f"more than {MAX_DECIMALS} decimals", accepted)
    if significant > MAX_SIGNIFICANT:
        raise InvalidInput(field, f"more than {MAX_SIGNIFICANT} significant digits", accepted)
    return value


def decimal(value: object, field: str) -> Decimal:
    """An exact decimal in the domain of every number (module doc); floats are refused."""
    return in_domain(_number(value, field), field)


@dataclass(frozen=True, slots=True)
class Range:
    """An interval of accepted values: `[low, high]`, each end open or closed; `unit` for the docs."""

    low: Decimal
    high: Decimal
    unit: str
    open_low: bool = False
    open_high: bool = False

    def text(self) -> str:
        left, right = "(" if self.open_low else "[", ")" if self.open_high else "]"
        return f"{left}{decimal_text(self.low)}, {decimal_text(self.high)}{right}"

    def read(self, value: object, field: str, accepted: str | None = None) -> Decimal:
        """The value, or a refusal naming this range (or `accepted`): compared before anything else is
        done with it."""
        accepted = accepted or self.text()
        out = _number(value, field)
        too_low = out <= self.low if self.open_low else out < self.low
        too_high = out >= self.high if self.open_high else out > self.high
        if too_low or too_high:
            raise InvalidInput(field, f"out of range: {_shown_number(out, value)}", accepted)
        return in_domain(out, field, accepted)


def bounded(
    value: object, field: str, *, low: Decimal, high: Decimal | None = None, open_low: bool
) -> Decimal:
    """A decimal in `(low, high]` (or `[low, high]` when `open_low` is false); no `high`: the domain's."""
    if high is None:
        return Range(low, _LIMIT, "", open_low=open_low, open_high=True).read(value, field)
    return Range(low, high, "", open_low=open_low).read(value, field)


SCALING = Range(Decimal(0), Decimal(1000), "percent", open_low=True)
MAX_SCALING = SCALING.high  # 10x the source's risk proportion is the most a follow may ask


def scaling(value: object, field: str) -> Decimal:
    """A scaling percentage k in SCALING: more than 0 (to skip a token, exclude it), at most 1000."""
    return SCALING.read(value, field)


def positive(value: object, field: str) -> Decimal:
    """A decimal > 0 in the domain of every number."""
    return Range(_ZERO, _LIMIT, "", open_low=True, open_high=True).read(value, field)


def whole(value: object, field: str, low: int, high: int) -> int:
    """A whole number in `[low, high]`: an int, or a Decimal without a fraction (a JSON number)."""
    accepted = f"a whole number from {low} to {high}"
    finite = isinstance(value, int) or (isinstance(value, Decimal) and value.is_finite())
    if isinstance(value, bool) or not finite:
        raise InvalidInput(field, f"expected a whole number, got {shown(value)}", accepted)
    assert isinstance(value, int | Decimal)
    if not low <= value <= high:  # a comparison only: a huge value is never converted
        raise InvalidInput(field, f"out of range: {_shown_number(value, value)}", accepted)
    if isinstance(value, Decimal) and value != value.to_integral_value():
        raise InvalidInput(field, f"expected a whole number, got {shown(value)}", accepted)
    return int(value)


def whole_text(value: object, field: str, low: int, high: int, accepted: str | None = None) -> int:
    """A whole number typed as text (ASCII digits, an optional leading `-`) or an int, in `[low, high]`.
    The text's length is bounded before `int()` sees it; "²" is a digit to `str.isdigit`, not to us."""
    accepted = accepted or f"a whole number from {low} to {high}"
    if isinstance(value, str):
        text = value.strip()
        digits = text.removeprefix("-")
        if not (digits.isascii() and digits.isdigit() and len(digits) <= MAX_WHOLE_DIGITS):
            raise InvalidInput(field, f"not a whole number: {shown(value)}", accepted)
        value = int(text)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, f"expected a whole number, got {shown(value)}", accepted)
    if not low <= value <= high:
        raise InvalidInput(field, f"out of range: {_shown_number(value, value)}", accepted)
    return value


UTC_TIME = "an ISO-8601 date or time such as 2026-12-01 or 2026-12-01T09:30:00Z (UTC when no offset)"
MAX_TIME_TEXT = 40


def utc_time(value: object, field: str) -> datetime:
    """A point in time typed as ISO-8601 text; without an offset it is UTC."""
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > MAX_TIME_TEXT or not text.isascii():
        raise InvalidInput(field, f"not a date or time: {shown(value)}", UTC_TIME)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(field, f"not a date or time: {shown(value)}", UTC_TIME) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# /daily, /weekly, /monthly: (default, most) periods one reply lists (freqtrade's defaults: 7, 8, 6).
PERIOD_COUNTS = {"day": (7, 90), "week": (8, 52), "month": (6, 24)}


def period_count(value: object | None, period: str) -> int:
    """How many UTC periods (`day`, `week`, `month`) to list: the period's default when not given."""
    default, most = PERIOD_COUNTS[choice(period, "period", tuple(PERIOD_COUNTS))]
    return default if value is None else whole_text(value, "count", 1, most)


TELEGRAM_ID = "a numeric Telegram user id"


def telegram_user(value: object, field: str) -> int:
    """A Telegram user id: a non-zero whole number below 2^53 (the Bot API's bound)."""
    out = whole_text(value, field, -(2**53) + 1, 2**53 - 1, TELEGRAM_ID)
    if out == 0:
        raise InvalidInput(field, "not a user id: 0", TELEGRAM_ID)
    return out


# --- files -------------------------------------------------------------------------------------------

MAX_FILE_BYTES = 32 * 1024 * 1024  # a scenario or a fills history; a year of a busy wallet's fills fits
MAX_NESTING = 32  # JSON/YAML depth: every document read here is a few levels deep


def read_text(path: Path, field: str, *, what: str | None = None, limit: int = MAX_FILE_BYTES) -> str:
    """A UTF-8 text file of at most `limit` bytes; reads at most `limit + 1` (a device never ends)."""
    what = what or shown(path.name)[1:-1]
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise InvalidInput(field, f"cannot read {what}: {exc.strerror or exc}") from None
    if len(data) > limit:
        size = f"{limit >> 20} MiB" if limit % (1 << 20) == 0 else f"{limit} bytes"
        raise InvalidInput(field, f"{what} is too large", f"at most {size}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(field, f"{what} is not UTF-8 text") from None


def json_number(text: str) -> Decimal:
    """`parse_float` / `parse_int` for json.loads: the literal's length is bounded before it is parsed
    (the domain check comes where the value is read, naming its field)."""
    if len(text) > MAX_NUMBER_TEXT:
        raise InvalidInput("number", f"{shown(text)} is too long", NUMBER_FORMAT)
    return Decimal(text)


_BRACKETS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def text_nesting(text: str, field: str, *, limit: int = MAX_NESTING) -> str:
    """`text` if its brackets (outside double-quoted strings) nest at most `limit` deep: checked on the
    text BEFORE a parser sees it, as the C JSON scanner can overflow the C stack on deep input (a
    segfault, not a RecursionError) when the recursion limit has been raised."""
    depth = 0
    for match in _BRACKETS.finditer(text):
        char = text[match.start()]
        if char in "[{":
            depth += 1
            if depth > limit:
                raise InvalidInput(field, f"nested more than {limit} levels deep")
        elif char in "]}":
            depth -= 1
    return text


def nesting(doc: object, field: str, *, limit: int = MAX_NESTING) -> object:
    """`doc` if its lists and objects nest at most `limit` deep (checked without recursion)."""
    stack: list[tuple[object, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        children: Iterable[object]
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        if depth > limit:
            raise InvalidInput(field, f"nested more than {limit} levels deep")
        stack.extend((child, depth + 1) for child in children)
    return doc


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


DECISION_PREFIX = 8  # hex digits of a decision id `/why` takes as a prefix (replies show more)


def decision_prefix(value: str) -> str | None:
    """A decision id shortened as replies show it (8 to 63 hex digits), lower-cased; None for any other
    reference (a trade id, an order id, a cloid, a whole id), which the lineage lookup reads as it is."""
    text = value.strip().lower()
    ok = DECISION_PREFIX <= len(text) < 64 and all(c in "0123456789abcdef" for c in text)
    return text if ok else None


def token(value: object, field: str) -> str:
    """A perp coin name. Typed in one case (`eth`) it is upper-cased; mixed case is kept as the venue
    spells some coins that way (`kPEPE`). A builder dex's coin (HIP-3) is `dex:COIN`: the dex name in
    lower case, as the venue names dexes (`TEST:gold` → `test:GOLD`). Against a venue, `venue_tokens`
    fixes the spelling."""
    accepted = "a coin such as ETH, BTC, kPEPE, or dex:COIN on a builder dex (test:GOLD)"
    if not isinstance(value, str) or not _TOKEN.match(value.strip()):
        raise InvalidInput(field, f"not a token name: {shown(value)}", accepted)
    dex, sep, coin = value.strip().rpartition(":")
    if sep and (not _DEX.match(dex) or not coin):
        raise InvalidInput(field, f"not a dex:COIN name: {shown(value)}", accepted)
    spelled = coin.upper() if coin.islower() or coin.isupper() else coin
    return f"{dex.lower()}:{spelled}" if sep else spelled


def tokens(value: object, field: str) -> tuple[str, ...]:
    """A list of coins: a list, or a comma-separated string (`"ETH,BTC"`). Duplicates are dropped."""
    items: list[object]
    if isinstance(value, str):
        items = [part for part in (p.strip() for p in value.split(",")) if part]
    elif isinstance(value, list | tuple | frozenset | set):
        items = sorted(value) if isinstance(value, set | frozenset) else list(value)
    else:
        raise InvalidInput(field, f"expected a list of coins, got {shown(value)}", "e.g. ETH,BTC")
    if len(items) > MAX_TOKENS:
        raise InvalidInput(field, f"{len(items)} coins", f"at most {MAX_TOKENS} (a venue lists fewer)")
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
