"""The guard book's state file (bot/risk/book.py) inside a pass: equity bookkeeping for many followers is
written once, when the pass ends — a pass over 10,000 followers rewrote the whole file once per follower
(O(n²), on the event loop) — while a guard that trips is on disk before the pass goes on."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.risk.book import RiskBook, RiskStore
from bot.risk.guards import RiskLimits

DAY_MS = 1_796_688_000_000  # 2026-12-07 00:00 UTC
FOLLOWERS = [f"0x{n:040x}" for n in range(1, 51)]


@dataclass(frozen=True, slots=True)
class CountingStore(RiskStore):
    writes: list[int] = field(default_factory=list)

    @property
    def saves(self) -> int:
        return len(self.writes)

    def save(self, doc: dict[str, Any]) -> None:
        self.writes.append(1)
        RiskStore.save(self, doc)


def on_disk(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def test_a_pass_over_many_followers_writes_the_book_once_at_its_end(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "risk.json")
    book = RiskBook(store)
    with book.deferred():
        for n, follower in enumerate(FOLLOWERS):
            book.observe_follower(follower, Decimal(1000 + n), DAY_MS, RiskLimits())
            book.observe_source("0x" + "ab" * 20, Decimal(5000 + n))
        with book.deferred():  # a pass inside another (an accounts read during a reconciliation)
            book.observe_follower(FOLLOWERS[0], Decimal(2000), DAY_MS, RiskLimits())
        assert store.saves == 0
    assert store.saves == 1
    assert store.path is not None
    doc = on_disk(store.path)
    assert set(doc["accounts"]) == set(FOLLOWERS)
    assert doc["accounts"][FOLLOWERS[0]]["peak_equity"] == "2000"
    assert doc["source_peaks"] == {"0x" + "ab" * 20: "5049"}
    # Reopened, nothing of the pass is lost.
    again = RiskBook.open(RiskStore(store.path))
    assert again.account(FOLLOWERS[-1]).peak_equity == Decimal(1049)


def test_a_guard_that_trips_inside_a_pass_is_saved_at_once(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "risk.json")
    book = RiskBook(store)
    limits = RiskLimits(max_drawdown=Decimal("0.1"))
    with book.deferred():
        book.observe_follower(FOLLOWERS[0], Decimal(1000), DAY_MS, limits)
        tripped = book.observe_follower(FOLLOWERS[0], Decimal(850), DAY_MS + 1, limits)
        assert tripped and store.saves == 1
        assert store.path is not None and on_disk(store.path)["accounts"][FOLLOWERS[0]]["stopped"] is True
