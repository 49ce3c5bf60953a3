"""A copy worker's guard book in the ledger (bot/cluster/guard_state.py), on SQLite and PostgreSQL:
what the book changes reaches the ledger behind the event loop, in batches, under the epochs of the
followers it owns; another worker adopting a follower reads the same state; a write whose follower moved
on is refused and counted."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from bot.cluster.guard_state import BATCH, LedgerBookStore
from bot.ledger import Ledger
from bot.ledger.ownership import TTL_S
from bot.risk.book import RiskBook
from bot.risk.guards import RiskLimits
from tests.ledger.conftest import _pg_database, _sqlite_template, db_url, ledger
from tests.ledger.test_ownership import Clock, worker

__all__ = ["_pg_database", "_sqlite_template", "db_url", "ledger"]

DAY_MS = 1_796_688_000_000  # 2026-12-07 00:00 UTC
LIMITS = RiskLimits(max_drawdown=Decimal("0.1"))
SOURCE = "0x" + "5e" * 20
MANY = [f"0x{n:040x}" for n in range(1, BATCH * 2 + 51)]  # three batches


async def test_a_books_changes_reach_the_ledger_and_another_worker_adopts_them(ledger: Ledger) -> None:
    clock = Clock()
    a = worker(ledger, clock, "a")
    await a.acquire(MANY)
    store = LedgerBookStore(ledger, lambda: a.held)
    book = RiskBook(store)
    with book.deferred():
        for n, follower in enumerate(MANY):
            book.observe_follower(follower, Decimal(1000 + n), DAY_MS, LIMITS)
        book.observe_source(SOURCE, Decimal(5000))
    book.observe_follower(MANY[0], Decimal(800), DAY_MS + 1, LIMITS)  # a trip: stopped
    stranger = "0x" + "99" * 20  # not a follower this worker owns: its owner writes it
    book.observe_follower(stranger, Decimal(1), DAY_MS, LIMITS)
    await store.drain()
    stored = await ledger.guard_states([*MANY, stranger])
    assert set(stored) == set(MANY)
    assert all(stored[f] == book.follower_doc(f) for f in MANY)
    assert await ledger.source_peaks() == {SOURCE: Decimal(5000)}

    other = RiskBook(LedgerBookStore(ledger, dict))
    await other.store.adopt(other, MANY[:2])
    assert other.account(MANY[0]).stopped and other.account(MANY[0]) == book.account(MANY[0])
    assert other.account(MANY[1]).peak_equity == Decimal(1001)
    assert other.source_peaks == {SOURCE: Decimal(5000)}
    other.store.let_go(other, MANY[:1])
    assert MANY[0] not in other.accounts


async def test_a_write_after_the_follower_moved_on_is_refused(ledger: Ledger) -> None:
    clock = Clock()
    a, b = worker(ledger, clock, "a"), worker(ledger, clock, "b")
    await a.acquire(MANY[:2])
    epochs = dict(a.held)
    store = LedgerBookStore(ledger, lambda: epochs)  # what a last knew: it froze past its lease
    book = RiskBook(store)
    book.observe_follower(MANY[0], Decimal(1000), DAY_MS, LIMITS)
    await store.drain()
    clock.now += timedelta(seconds=TTL_S * 2)
    await b.acquire(MANY[:1])
    book.observe_follower(MANY[0], Decimal(2000), DAY_MS + 1, LIMITS)
    book.observe_follower(MANY[1], Decimal(3000), DAY_MS + 1, LIMITS)
    await store.drain()
    assert store.refused == 1
    stored = await ledger.guard_states(MANY[:2])
    assert stored[MANY[0]]["account"]["peak_equity"] == "1000"  # b's follower: a's write refused
    assert stored[MANY[1]]["account"]["peak_equity"] == "3000"
