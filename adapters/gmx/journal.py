"""cloid → the transaction that carries it (hash, nonce, sender), written BEFORE the transaction is sent.

GMX has no client order id. The journal gives `order_status(cloid)` something to look up after a lost
answer, and makes a resend safe: the same cloid is re-signed with the SAME nonce, so of all the versions
of one order at most one can ever execute. With a `path` it survives a restart (JSON, atomic rename).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class JournalEntry:
    tx_hash: str
    nonce: int
    sender: str


class OrderJournal:
    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._entries: dict[str, JournalEntry] = {}
        if path is not None and path.exists():
            raw = json.loads(path.read_text(encoding="utf-8"))
            self._entries = {cloid: JournalEntry(**entry) for cloid, entry in raw.items()}

    def get(self, cloid: str) -> JournalEntry | None:
        return self._entries.get(cloid.lower())

    def record(self, cloid: str, entry: JournalEntry) -> None:
        self._entries[cloid.lower()] = entry
        if self._path is not None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._path.with_suffix(".tmp")
            tmp.write_text(json.dumps({k: asdict(v) for k, v in self._entries.items()}), encoding="utf-8")
            os.replace(tmp, self._path)
