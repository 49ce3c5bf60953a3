"""The per-pair state machine (SPEC §2 table, Copy Current off) and the three sizings."""

from __future__ import annotations

from decimal import Decimal

import pytest

from strategies.fixed_notional import FixedNotionalSizing
from strategies.fixed_ratio import FixedRatioSizing
from strategies.mirror import Growth, MirrorSizing, advance, classify, join, skip
from strategies.model import Event, PairState, Reason, Status
from strategies.sizing import SizingInputs

D = Decimal
MIRROR = MirrorSizing()


def inputs(
    fe: str = "1000", se: str | None = "100000", k: str = "100", mid: str | None = "3000"
) -> SizingInputs:
    return SizingInputs(D(fe), None if se is None else D(se), D(k), None if mid is None else D(mid))


def tracking(size: str, target: str, ratio: str = "0.01") -> PairState:
    return PairState("ETH", "src", Status.TRACKING, D(ratio), D(size), D(target))


@pytest.mark.parametrize(
    ("old", "new", "event"),
    [
        ("0", "10", Event.OPEN),
        ("0", "-1", Event.OPEN),
        ("10", "15", Event.INCREASE),
        ("-10", "-15", Event.INCREASE),
        ("10", "5", Event.DECREASE),
        ("-10", "-5", Event.DECREASE),
        ("10", "0", Event.CLOSE),
        ("10", "-1", Event.FLIP),
        ("-3", "2", Event.FLIP),
        ("4", "4", Event.UNCHANGED),
    ],
)
def test_classify_is_the_spec_table(old: str, new: str, event: Event) -> None:
    assert classify(D(old), D(new)) is event


def test_open_locks_todays_ratio() -> None:
    tr = advance(PairState("ETH", "src"), D(10), MIRROR, inputs())
    assert (tr.event, tr.growth, tr.state.status) == (Event.OPEN, Growth.OPENING, Status.TRACKING)
    assert (tr.state.ratio, tr.state.target) == (D("0.01"), D("0.1"))


def test_increase_uses_the_locked_ratio_not_todays() -> None:
    tr = advance(tracking("15", "0.15"), D(20), MIRROR, inputs(se="200000", k="10"))
    assert (tr.event, tr.growth) == (Event.INCREASE, Growth.INCREASE)
    assert (tr.state.ratio, tr.state.target) == (D("0.01"), D("0.2"))


def test_decrease_cuts_the_same_percentage() -> None:
    tr = advance(tracking("20", "0.23"), D(16), MIRROR, inputs())
    assert tr.state.target == D("0.184")  # −20 % of a target that is not ratio × size (e.g. capped)
    assert tr.growth is Growth.NONE


def test_close_goes_flat() -> None:
    tr = advance(tracking("16", "0.16"), D(0), MIRROR, inputs())
    assert tr.state == PairState("ETH", "src", Status.FLAT, None, D(0), D(0))


def test_flip_relocks_the_ratio_at_todays_numbers() -> None:
    tr = advance(tracking("3", "0.3", "0.1"), D(-1), MIRROR, inputs(fe="5000", se="50000", k="50"))
    assert (tr.event, tr.growth, tr.state.ratio, tr.state.target) == (
        Event.FLIP,
        Growth.OPENING,
        D("0.05"),
        D("-0.05"),
    )


def test_untracked_ignores_increases_and_decreases_and_closes_to_flat() -> None:
    pair = PairState("SOL", "src", Status.UNTRACKED, source_size=D(-40))
    inc = advance(pair, D(-50), MIRROR, inputs())
    dec = advance(inc.state, D(-20), MIRROR, inputs())
    assert (inc.reason, dec.reason) == (Reason.UNTRACKED, Reason.UNTRACKED)
    assert dec.state == PairState("SOL", "src", Status.UNTRACKED, source_size=D(-20))
    close = advance(dec.state, D(0), MIRROR, inputs())
    assert (close.state.status, close.reason) == (Status.FLAT, Reason.UNTRACKED)


def test_untracked_flip_counts_as_an_open_of_the_new_side() -> None:
    pair = PairState("SOL", "src", Status.UNTRACKED, source_size=D(-40))
    tr = advance(pair, D(10), MIRROR, inputs(fe="2000", se="20000", k="150"))
    assert (tr.event, tr.growth, tr.state.status, tr.state.target) == (
        Event.FLIP,
        Growth.OPENING,
        Status.TRACKING,
        D("1.5"),
    )


def test_copy_increase_as_open_tracks_only_the_increment() -> None:
    pair = PairState("SOL", "src", Status.UNTRACKED, source_size=D(-40))
    tr = advance(pair, D(-50), MIRROR, inputs(fe="2000", se="20000"), copy_increase_as_open=True)
    assert (tr.state.status, tr.state.ratio, tr.state.target) == (Status.TRACKING, D("0.1"), D("-1"))
    later = advance(tr.state, D(-25), MIRROR, inputs())
    assert later.state.target == D("-0.5")  # the source halved: so does the tracked part


def test_join_is_copy_current() -> None:
    tr = join(PairState("SOL", "src"), D(-40), MIRROR, inputs(fe="2000", se="20000", k="150"))
    assert (tr.event, tr.state.status, tr.state.ratio, tr.state.target) == (
        Event.COPY_CURRENT,
        Status.TRACKING,
        D("0.15"),
        D("-6"),
    )


def test_no_source_equity_leaves_the_open_untracked_with_a_reason() -> None:
    tr = advance(PairState("ETH", "src"), D(10), MIRROR, inputs(se=None))
    assert (tr.state.status, tr.reason, tr.state.source_size) == (
        Status.UNTRACKED,
        Reason.NO_SOURCE_EQUITY,
        D(10),
    )


def test_skip_keeps_the_target_of_an_increase_and_untracks_an_opening() -> None:
    inc = advance(tracking("10", "0.1"), D(15), MIRROR, inputs())
    skipped = skip(inc, Reason.PAUSED)
    assert (skipped.state.target, skipped.state.source_size, skipped.reason) == (
        D("0.1"),
        D(15),
        Reason.PAUSED,
    )
    flip = advance(tracking("10", "0.1"), D(-5), MIRROR, inputs())
    skipped = skip(flip, Reason.LONG_ONLY)
    assert (skipped.state.status, skipped.state.target, skipped.state.source_size) == (
        Status.UNTRACKED,
        D(0),
        D(-5),
    )


def test_fixed_ratio_ignores_equities_and_applies_k() -> None:
    sizing = FixedRatioSizing(D("0.02"))
    tr = advance(PairState("ETH", "src"), D(10), sizing, inputs(se=None, k="50"))
    assert (tr.state.ratio, tr.state.target) == (D("0.01"), D("0.1"))
    inc = advance(tr.state, D(30), sizing, inputs(k="100"))
    assert inc.state.target == D("0.3")


def test_fixed_notional_copies_a_usd_amount_per_open_and_increase() -> None:
    sizing = FixedNotionalSizing(D(300))
    tr = advance(PairState("ETH", "src"), D(-10), sizing, inputs(mid="3000"))
    assert tr.state.target == D("-0.1")
    inc = advance(tr.state, D(-12), sizing, inputs(mid="1500"))
    assert inc.state.target == D("-0.3")  # + $300 at 1500
    dec = advance(inc.state, D(-6), sizing, inputs(mid="1"))
    assert dec.state.target == D("-0.15")  # decreases by percentage, whatever the price
    assert advance(PairState("ETH", "src"), D(1), sizing, inputs(mid=None)).reason is Reason.NO_MID
