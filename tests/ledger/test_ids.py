"""Deterministic decision ids and cloids."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.ledger.ids import cloid_for, instruction_id

CLOID = re.compile(r"^0x[0-9a-f]{32}$")
ADDRESSES = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
KEYS = st.tuples(
    ADDRESSES | st.text(min_size=1, max_size=20),
    st.text(min_size=1, max_size=10),
    st.text(min_size=1, max_size=40),
    st.integers(min_value=0, max_value=2**31),
)


@given(KEYS)
def test_same_key_same_id_and_cloid(key: tuple[str, str, str, int]) -> None:
    first = instruction_id(*key)
    assert first == instruction_id(*key)
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert CLOID.match(cloid_for(first))
    assert cloid_for(first) == cloid_for(instruction_id(*key))


@given(KEYS, st.integers(min_value=0, max_value=3), st.data())
def test_any_field_changed_gives_another_id(
    key: tuple[str, str, str, int], field: int, data: st.DataObject
) -> None:
    changed = list(key)
    if field == 3:
        changed[3] = data.draw(st.integers(min_value=0, max_value=2**31).filter(lambda r: r != key[3]))
    else:
        original = str(key[field])
        changed[field] = data.draw(
            st.text(min_size=1, max_size=40).filter(lambda s: s != original and s.lower() != original.lower())
        )
    other = instruction_id(*changed)  # type: ignore[arg-type]
    assert other != instruction_id(*key)
    assert cloid_for(other) != cloid_for(instruction_id(*key))


def test_field_boundaries_cannot_be_shifted() -> None:
    # With a naive "a|b|c" encoding these two keys would collide.
    assert instruction_id("0xf", "ETH|x", "e", 0) != instruction_id("0xf", "ETH", "x|e", 0)


@given(ADDRESSES)
def test_evm_addresses_are_case_insensitive(address: str) -> None:
    mixed = "0x" + address[2:].upper()
    assert instruction_id(mixed, "ETH", "fills:ETH:1:2", 0) == instruction_id(
        address, "ETH", "fills:ETH:1:2", 0
    )


def test_id_is_the_documented_sha256() -> None:
    # Changing the encoding would re-place every decision recorded before an upgrade: pin it.
    key = ["mirrorbot/copy-instruction/v1", "0x" + "ab" * 20, "ETH", "fills:ETH:7:1700000000000", 2]
    expected = hashlib.sha256(json.dumps(key).encode()).hexdigest()
    assert instruction_id("0x" + "AB" * 20, "ETH", "fills:ETH:7:1700000000000", 2) == expected
    assert cloid_for(expected) == "0x" + expected[:32]


@pytest.mark.parametrize(
    ("follower", "coin", "event", "revision", "message"),
    [
        ("0xf", "", "e", 0, "coin"),
        ("0xf", "ETH", "", 0, "source_event_id"),
        ("0xf", "ETH", "e", -1, "revision"),
        ("0xf", "ETH", "e", True, "revision"),
    ],
)
def test_bad_keys_are_refused(follower: str, coin: str, event: str, revision: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        instruction_id(follower, coin, event, revision)


def test_cloid_needs_an_instruction_id() -> None:
    with pytest.raises(ValueError, match="64 lower-case hex"):
        cloid_for("0x1234")
