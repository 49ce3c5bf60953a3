"""Column types that keep the ledger exact: Decimal without loss, UTC-only timestamps, JSON as text.

`ExactDecimal` is NUMERIC on PostgreSQL (exact, arbitrary precision, usable in SQL sums) and TEXT
elsewhere: SQLite's NUMERIC affinity would turn "0.1" into a binary float, TEXT keeps every digit.
Values are canonicalised on the way in and out (plain notation, no trailing zeros, no negative zero)
so both databases hand back the same `Decimal` for the same value.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Numeric, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def canonical_decimal(value: Decimal) -> Decimal:
    """The same value in one spelling: plain notation, no trailing fractional zeros, `0` not `-0`.

    Done on the string form, never with context arithmetic (`normalize()` would round to 28 digits).
    """
    if not isinstance(value, Decimal):
        raise TypeError(f"expected Decimal, got {type(value).__name__} (floats are never stored)")
    if not value.is_finite():
        raise ValueError(f"the ledger stores finite decimals only, got {value}")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return Decimal(text)


def decimal_text(value: Decimal) -> str:
    """Canonical text of a decimal (what SQLite stores and what the lineage prints)."""
    return format(canonical_decimal(value), "f")


def from_ms(ms: int) -> datetime:
    """A venue's epoch milliseconds as an aware UTC datetime (integer arithmetic, exact)."""
    return EPOCH + timedelta(milliseconds=ms)


def to_ms(moment: datetime) -> int:
    delta = as_utc(moment) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: the ledger stores timezone-aware UTC only")
    return moment.astimezone(UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """Decimal stored losslessly: NUMERIC on PostgreSQL, canonical TEXT on SQLite (and any other)."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(asdecimal=True))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        exact = canonical_decimal(value)
        return exact if dialect.name == "postgresql" else format(exact, "f")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return canonical_decimal(value if isinstance(value, Decimal) else Decimal(str(value)))

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out; a naive datetime is refused, never guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = as_utc(value)
        # SQLite has no time zones: it stores the UTC wall time and we re-attach UTC on the way out.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @property
    def python_type(self) -> type[datetime]:
        return datetime


def _json_default(value: object) -> str:
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable for the ledger")


def dump_json(value: Any) -> str:
    """JSON text as the ledger stores it: Decimals as exact strings, key order kept, no floats added."""
    return json.dumps(value, default=_json_default, ensure_ascii=False, separators=(",", ":"))


def load_json(text: str) -> Any:
    # A JSON number with a fraction becomes a Decimal, never a float.
    return json.loads(text, parse_float=Decimal)


class JSONText(TypeDecorator[Any]):
    """JSON kept as TEXT on every database: the exact text is stored, no float coercion on the way."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else dump_json(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else load_json(value)
