"""The guard book a follower at a time (bot/risk/book.py), as the ledger keeps it for the copy workers: a
follower's part read into another book is the same state (its peak, day start, trips, dropped follows,
the control carried out), leaves the other followers' parts alone, and the book names what changed
since its last write."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bot.risk.book import RiskBook
from bot.risk.guards import RiskLimits, RiskReason

DAY_MS = 1_796_688_000_000  # 2026-12-07 00:00 UTC
A, B = "0x" + "a1" * 20, "0x" + "b2" * 20
AB = A + "b2"  # an address that starts with A's: A's keys must not take its state
SOURCE = "0x" + "5e" * 20
LIMITS = RiskLimits(max_drawdown=Decimal("0.1"), daily_loss_limit=Decimal("0.5"))


def busy_book() -> RiskBook:
    book = RiskBook()
    for follower, equity in ((A, 1000), (B, 2000), (AB, 3000)):
        book.observe_follower(follower, Decimal(equity), DAY_MS, LIMITS)
    book.observe_follower(A, Decimal(850), DAY_MS + 1, LIMITS)  # A: 15 % down, stopped
    book.drop(A, SOURCE, 3, RiskReason.SOURCE_LEVERAGE_CAP)
    book.drop(AB, SOURCE, 1, RiskReason.SOURCE_DRAWDOWN)
    book.note_inactive(A, SOURCE, 3, True)
    book.set_control_applied(A, 41)
    book.observe_source(SOURCE, Decimal(5000))
    return book


def test_a_followers_part_read_into_another_book_is_the_same_state() -> None:
    book = busy_book()
    assert book.account(A).stopped
    other = RiskBook()
    other.observe_follower(B, Decimal(7), DAY_MS, LIMITS)
    other.absorb(A, book.follower_doc(A))
    assert other.account(A) == book.account(A)
    assert other.drop_reason(A, SOURCE, 3) is RiskReason.SOURCE_LEVERAGE_CAP
    assert other.control_applied(A) == 41
    assert other.follower_doc(A) == book.follower_doc(A)
    assert other.account(B).peak_equity == Decimal(7)  # B's own state is not A's to replace
    assert not other.is_dropped(AB, SOURCE, 1)  # nor is the look-alike address's
    assert other.block(A, DAY_MS + 2, reduce_only=False) is RiskReason.MAX_DRAWDOWN


def test_absorbing_replaces_and_forgetting_drops_one_follower_only() -> None:
    book = busy_book()
    book.absorb(A, None)  # nothing stored for A: it starts clean
    assert book.account(A) == RiskBook().account(A) and not book.is_dropped(A, SOURCE, 3)
    assert book.control_applied(A) is None and book.follower_doc(A)["inactive"] == []
    assert book.is_dropped(AB, SOURCE, 1) and book.account(B).peak_equity == Decimal(2000)
    book.forget(AB)
    assert not book.is_dropped(AB, SOURCE, 1) and AB not in book.accounts


@dataclass
class Recording:
    """A store that keeps, for each write, the changes the book handed it."""

    writes: list[tuple[set[str], set[str]]] = field(default_factory=list)

    def load(self) -> dict[str, Any]:
        return {}

    def write(self, book: RiskBook) -> None:
        self.writes.append(book.take_changes())

    async def adopt(self, book: RiskBook, followers: Collection[str]) -> None:
        return None

    def let_go(self, book: RiskBook, followers: Collection[str]) -> None:
        return None


def test_each_write_is_handed_the_followers_and_sources_changed_since_the_last() -> None:
    store = Recording()
    book = RiskBook(store)
    with book.deferred():  # a pass: one write at its end, with everything it changed
        book.observe_follower(A, Decimal(1000), DAY_MS, LIMITS)
        book.observe_follower(B, Decimal(2000), DAY_MS, LIMITS)
        book.observe_source(SOURCE, Decimal(5000))
    assert store.writes == [({A, B}, {SOURCE})]
    book.observe_follower(B, Decimal(2000), DAY_MS + 5, LIMITS)  # the same equity: nothing changed
    book.observe_source(SOURCE, Decimal(4000))  # below the peak: nothing
    book.absorb(B, None)  # read from a store: not a change to write back
    assert len(store.writes) == 1
    book.observe_follower(A, Decimal(850), DAY_MS + 6, LIMITS)  # a trip: written at once
    assert store.writes[1:] == [({A}, set())]
    book.set_control_applied(B, 7)
    assert store.writes[2:] == [({B}, set())]


def test_peaks_from_elsewhere_are_kept_only_where_higher() -> None:
    book = busy_book()
    other = "0x" + "77" * 20
    book.absorb_peaks({SOURCE: Decimal(4000), other: Decimal(10)})
    assert book.source_peaks[SOURCE] == Decimal(5000) and book.source_peaks[other] == Decimal(10)
    book.absorb_peaks({SOURCE: Decimal("5000.01")})
    assert book.source_peaks[SOURCE] == Decimal("5000.01")
