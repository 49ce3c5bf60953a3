"""The ledger's checks on what it is asked to record: exact decimals (never floats), choices, aware UTC
times, encrypted keystores; the error it refuses with, and what a recording call returns."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Generic, TypeVar

from bot.domain import SourceFill
from bot.ledger.models import LedgerModel, utcnow
from bot.ledger.types import as_utc, canonical_decimal

T = TypeVar("T", bound=LedgerModel)

TIME_IN_FORCE = ("Ioc", "Gtc", "Alo")  # Hyperliquid's spelling, kept venue-wide


class LedgerError(Exception):
    """A request the ledger refuses (unknown reference, inconsistent data); the message says which."""


@dataclass(frozen=True, slots=True)
class Recorded(Generic[T]):
    """The row as stored, and whether this call created it (False: it was already there)."""

    row: T
    created: bool


def decimal_field(field: str, value: Decimal | int) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise LedgerError(f"{field} must be a Decimal (never a float), got {type(value).__name__}")
    try:
        return canonical_decimal(Decimal(value))
    except ValueError as exc:
        raise LedgerError(f"{field}: {exc}") from None


def optional_decimal_field(field: str, value: Decimal | int | None) -> Decimal | None:
    return None if value is None else decimal_field(field, value)


def choice_field(field: str, value: str, accepted: Iterable[str]) -> str:
    options = tuple(accepted)
    if value not in options:
        raise LedgerError(f"{field} must be one of {', '.join(options)}, got {value!r}")
    return value


def time_field(field: str, value: datetime | None) -> datetime:
    if value is None:
        return utcnow()
    try:
        return as_utc(value)
    except ValueError as exc:
        raise LedgerError(f"{field}: {exc}") from None


def fill_trade_id(fill: SourceFill) -> str:
    """A fill's trade id; old recordings have none, and then hash + oid + size identify the fill."""
    if fill.tid is not None:
        return str(fill.tid)
    return f"{fill.hash}:{fill.oid}:{canonical_decimal(fill.sz)}"


def check_keystore(keystore_json: str) -> None:
    """Accept only an encrypted eth-account v3 keystore. The input is never echoed (it may be a key)."""
    try:
        doc = json.loads(keystore_json)
    except ValueError:
        doc = None
    crypto = doc.get("crypto", doc.get("Crypto")) if isinstance(doc, dict) else None
    if not (isinstance(doc, dict) and doc.get("version") == 3 and isinstance(crypto, dict)):
        raise LedgerError(
            "keystore_json must be an encrypted eth-account v3 keystore (JSON with version 3 and a "
            "crypto section); private keys are never stored in clear"
        )
    if not {"ciphertext", "kdf", "cipher"} <= crypto.keys():
        raise LedgerError("keystore_json: the crypto section needs ciphertext, cipher and kdf")
