"""A source change as a stream entry and back, exactly: every field a string, Decimals in their own
digits (`Decimal("1.50")` stays `1.50`), None as an absent field. The entry names the venue the change
was observed on, since the ledger keys leader events by (venue, source, event id)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bot.domain import SourceChange

VERSION = "1"  # the entry's layout; a consumer refuses a layout it does not know


class EntryError(ValueError):
    """A stream entry that is not a source change this code can read; the message names the field."""


@dataclass(frozen=True, slots=True)
class BusChange:
    """What travels on the bus: a normalised source change and the venue it was observed on."""

    venue: str
    change: SourceChange


def encode(item: BusChange) -> dict[str, str]:
    c = item.change
    fields = {
        "v": VERSION,
        "venue": item.venue,
        "source": c.source,
        "coin": c.coin,
        "old": str(c.old),
        "new": str(c.new),
        "time_ms": str(c.time_ms),
        "event_id": c.event_id,
    }
    if c.avg_px is not None:
        fields["avg_px"] = str(c.avg_px)
    return fields


def _text(fields: dict[str, str], name: str) -> str:
    value = fields.get(name)
    if value is None or value == "":
        raise EntryError(f"stream entry: field {name!r} is missing")
    return value


def _decimal(fields: dict[str, str], name: str) -> Decimal:
    text = _text(fields, name)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise EntryError(f"stream entry: field {name!r} is not a decimal (got {text[:40]!r})") from None
    if not value.is_finite():
        raise EntryError(f"stream entry: field {name!r} must be finite (got {text[:40]!r})")
    return value


def decode(raw: dict[str, str] | dict[bytes, bytes]) -> BusChange:
    """The entry's change; `EntryError` naming the field when it is not one."""
    fields = {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in raw.items()
    }
    if fields.get("v") != VERSION:
        raise EntryError(f"stream entry: layout {fields.get('v')!r} is not known (accepted: {VERSION!r})")
    time_text = _text(fields, "time_ms")
    if not time_text.isdigit():
        raise EntryError(f"stream entry: field 'time_ms' is not a whole number (got {time_text[:40]!r})")
    change = SourceChange(
        source=_text(fields, "source"),
        coin=_text(fields, "coin"),
        old=_decimal(fields, "old"),
        new=_decimal(fields, "new"),
        time_ms=int(time_text),
        event_id=_text(fields, "event_id"),
        avg_px=_decimal(fields, "avg_px") if fields.get("avg_px") else None,
    )
    return BusChange(venue=_text(fields, "venue"), change=change)
