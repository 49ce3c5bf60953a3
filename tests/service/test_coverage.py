"""Token coverage algebra (one source per follower and token) against brute force over a universe."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.service.coverage import Coverage

COINS = ("BTC", "ETH", "SOL", "DOGE", "kPEPE")
UNLISTED = ("ZZZ1", "ZZZ2")  # tokens no list mentions: "every token" must cover them too
UNIVERSE = frozenset(COINS + UNLISTED)

coin_sets = st.frozensets(st.sampled_from(COINS))
coverages = st.builds(Coverage, st.none() | coin_sets, coin_sets)


def covered(c: Coverage) -> frozenset[str]:
    return frozenset(coin for coin in UNIVERSE if c.covers(coin))


@given(coverages, coverages)
def test_overlap_is_the_intersection(a: Coverage, b: Coverage) -> None:
    both = a.overlap(b)
    assert covered(both) == covered(a) & covered(b)
    assert both.is_empty == (not covered(both))


@given(coverages, coverages)
def test_minus_is_the_difference(a: Coverage, b: Coverage) -> None:
    rest = a.minus(b)
    assert covered(rest) == covered(a) - covered(b)
    assert rest.is_empty == (not covered(rest))
    assert rest.overlap(b).is_empty  # after a re-assignment no token has two sources


@given(coverages, coverages)
def test_contains_is_the_superset(a: Coverage, b: Coverage) -> None:
    assert a.contains(b) == (covered(a) >= covered(b))


def test_descriptions() -> None:
    assert Coverage(None).describe() == "every token"
    assert Coverage(None, frozenset({"SOL", "BTC"})).describe() == "every token except BTC, SOL"
    assert Coverage(frozenset({"ETH", "BTC"}), frozenset({"ETH"})).describe() == "BTC"
    assert Coverage(frozenset()).describe() == "no token"
