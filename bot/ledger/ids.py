"""Deterministic identities: the same decision always has the same id and the same venue cloid.

A retry or a restart recomputes the id from the decision's key, finds the row (or the order on the
venue, by cloid) and never places the decision twice.
"""

from __future__ import annotations

import hashlib
import json
import re

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_DOMAIN = "mirrorbot/copy-instruction/v1"


def normalise_account(account: str) -> str:
    """EVM addresses are case-insensitive: one spelling (lower case) for keys and lookups."""
    account = account.strip()
    return account.lower() if _ADDRESS.match(account) else account


def instruction_id(follower: str, coin: str, source_event_id: str, revision: int) -> str:
    """sha256 (hex) of the decision's key (follower, coin, source event id, revision).

    The key is encoded as a JSON array, so no choice of field contents can make two different keys
    encode alike (a separator inside a field is escaped, not confused with the next field).
    """
    if not coin:
        raise ValueError("coin must not be empty")
    if not source_event_id:
        raise ValueError("source_event_id must not be empty")
    if isinstance(revision, bool) or not isinstance(revision, int) or revision < 0:
        raise ValueError(f"revision must be an integer >= 0, got {revision!r}")
    key = json.dumps([_DOMAIN, normalise_account(follower), coin, source_event_id, revision])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def cloid_for(instruction_id: str) -> str:
    """The venue client order id of a decision: Hyperliquid's 16 bytes, "0x" + 32 hex characters.

    It is the first half of the instruction id, so a cloid seen on the venue leads straight back to its
    decision (and the ledger's unique constraint on cloid catches the impossible collision).
    """
    if not _HEX64.match(instruction_id):
        raise ValueError("instruction_id must be 64 lower-case hex characters (a sha256 hex digest)")
    return "0x" + instruction_id[:32]
