"""Nonce rules per signer: no reuse, above the smallest kept nonce, inside the time window."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.localnet.nonces import WINDOW_AFTER_MS, WINDOW_BEFORE_MS, NonceBook, NonceError

NOW = 1_700_000_000_000
ALICE = "0x" + "a1" * 20
BOB = "0x" + "b2" * 20


def admit(book: NonceBook, signer: str, nonce: int) -> None:
    book.check(signer, nonce, NOW)
    book.commit(signer, nonce)


def test_reuse_is_refused_with_the_venues_wording() -> None:
    book = NonceBook()
    admit(book, ALICE, NOW)
    with pytest.raises(NonceError, match=f"^Invalid nonce: duplicate nonce {NOW}$"):
        book.check(ALICE, NOW, NOW)


def test_nonces_are_per_signer_and_case_insensitive() -> None:
    book = NonceBook()
    admit(book, ALICE, NOW)
    admit(book, BOB, NOW)  # another signer may use the same number
    with pytest.raises(NonceError, match="duplicate"):
        book.check(ALICE.upper().replace("0X", "0x"), NOW, NOW)


def test_out_of_order_nonces_are_fine_until_the_set_is_full() -> None:
    book = NonceBook(kept=3)
    for nonce in (NOW + 5, NOW + 1, NOW + 3):
        admit(book, ALICE, nonce)
    # the set {1, 3, 5} is full: a new nonce must exceed its smallest
    with pytest.raises(NonceError, match=rf"^Invalid nonce: nonce too low {NOW} < {NOW + 1}$"):
        book.check(ALICE, NOW, NOW)
    admit(book, ALICE, NOW + 2)  # evicts NOW + 1
    with pytest.raises(NonceError, match="nonce too low"):
        book.check(ALICE, NOW + 2 - 1, NOW)


def test_time_window_two_days_back_one_day_ahead() -> None:
    book = NonceBook()
    admit(book, ALICE, NOW - WINDOW_BEFORE_MS + 1)
    admit(book, ALICE, NOW + WINDOW_AFTER_MS - 1)
    low = NOW - WINDOW_BEFORE_MS
    with pytest.raises(NonceError, match=rf"^Invalid nonce: nonce too low {low} < {low}$"):
        book.check(BOB, low, NOW)
    high = NOW + WINDOW_AFTER_MS
    with pytest.raises(NonceError, match=rf"^Invalid nonce: nonce too high {high} > {high}$"):
        book.check(BOB, high, NOW)


def test_clear_forgets_everything() -> None:
    book = NonceBook()
    admit(book, ALICE, NOW)
    book.clear()
    admit(book, ALICE, NOW)


@given(st.lists(st.integers(min_value=0, max_value=40), max_size=80), st.integers(min_value=1, max_value=6))
def test_matches_the_documented_rule(offsets: list[int], kept: int) -> None:
    """Accepted iff never used and (fewer than `kept` used, or above the smallest of the highest `kept`)."""
    book = NonceBook(kept=kept)
    used: list[int] = []
    for offset in offsets:
        nonce = NOW + offset
        highest = sorted(used)[-kept:]
        expected = nonce not in used and (len(highest) < kept or nonce > highest[0])
        try:
            book.check(ALICE, nonce, NOW)
        except NonceError:
            accepted = False
        else:
            accepted = True
            book.commit(ALICE, nonce)
            used.append(nonce)
        assert accepted == expected
