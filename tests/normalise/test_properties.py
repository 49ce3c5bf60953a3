"""Properties of change detection over generated venue histories (see histories.py)."""

from __future__ import annotations

import itertools
from decimal import Decimal

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.domain import SourceChange, SourceFill
from bot.normalise import FillCoalescer, block_starts, changes_from_fills, changes_from_snapshots
from tests.normalise.histories import History, histories

Projected = list[tuple[str, Decimal, Decimal, int]]
FAST = settings(max_examples=150)


def _project(changes: list[SourceChange]) -> Projected:
    return [(c.coin, c.old, c.new, c.time_ms) for c in changes]


def _snapshot_changes(history: History) -> list[SourceChange]:
    changes: list[SourceChange] = []
    previous = history.initial
    for time_ms, current in history.snapshots:
        changes += changes_from_snapshots("s", previous, current, time_ms=time_ms, event_id=f"snap:{time_ms}")
        previous = current
    return changes


@FAST
@given(histories())
def test_fill_detection_equals_snapshot_diffing(history: History) -> None:
    coalescer = FillCoalescer("s", initial=history.initial)
    coalescer.add_all(history.fills)
    assert _project(coalescer.flush()) == _project(_snapshot_changes(history))
    assert coalescer.gaps == []
    for coin, size in history.snapshots[-1][1].items():
        assert coalescer.position(coin) == size


@FAST
@given(histories(), st.data())
def test_duplicates_and_reordering_change_nothing(history: History, data: st.DataObject) -> None:
    expected = changes_from_fills("s", history.fills, initial=history.initial)
    extra = data.draw(st.lists(st.sampled_from(history.fills), max_size=len(history.fills)))
    delivered = data.draw(st.permutations(history.fills + extra))
    assert changes_from_fills("s", delivered, initial=history.initial) == expected


@FAST
@given(histories(), st.integers(0, 5), st.integers(0, 5), st.data())
def test_incremental_equals_batch_for_any_arrival_within_the_bound(
    history: History, window_ms: int, lateness_ms: int, data: st.DataObject
) -> None:
    batch = changes_from_fills("s", history.fills, initial=history.initial, window_ms=window_ms)
    # Each copy of a fill arrives 0..lateness_ms after its venue time; the stream is ordered by arrival.
    copies = history.fills + data.draw(st.lists(st.sampled_from(history.fills), max_size=5))
    delays = data.draw(st.lists(st.integers(0, lateness_ms), min_size=len(copies), max_size=len(copies)))
    arrivals = sorted(
        zip((f.time_ms + d for f, d in zip(copies, delays, strict=True)), range(len(copies)), strict=True)
    )
    coalescer = FillCoalescer("s", initial=history.initial, window_ms=window_ms, lateness_ms=lateness_ms)
    streamed: list[SourceChange] = []
    for arrival, index in arrivals:
        if data.draw(st.booleans()):
            streamed += coalescer.flush(arrival)  # the clock may tick before every arrival
        coalescer.add(copies[index])
    streamed += coalescer.flush()
    assert streamed == batch
    assert coalescer.late_fills == []


@FAST
@given(histories(with_tid=True), st.data())
def test_a_missed_block_becomes_a_jump_not_a_loss(history: History, data: st.DataObject) -> None:
    blocks = sorted({(f.coin, f.time_ms) for f in history.fills}, key=lambda k: (k[1], k[0]))

    def fills_of(key: tuple[str, int]) -> list[SourceFill]:
        return [f for f in history.fills if (f.coin, f.time_ms) == key]

    # Miss one block that moved the position and is followed by another block of the same coin.
    candidates = [
        k
        for k in blocks
        if sum(f.signed_sz for f in fills_of(k)) and any(b[0] == k[0] and b[1] > k[1] for b in blocks)
    ]
    assume(candidates)
    missed = data.draw(st.sampled_from(candidates))
    coalescer = FillCoalescer("s", initial=history.initial)
    coalescer.add_all(f for f in history.fills if (f.coin, f.time_ms) != missed)
    changes = coalescer.flush()

    coin = missed[0]
    ours = [c for c in changes if c.coin == coin]
    assert all(b.old == a.new for a, b in itertools.pairwise(ours))  # one continuous path
    believed = _position_at(history, coin, missed[1] - 1)  # what we still believe after the miss
    nxt = min(b[1] for b in blocks if b[0] == coin and b[1] > missed[1])
    # Where the next block starts is the venue's word, unless its fills return to an earlier size
    # (buy 1, sell 1), which no one can tell apart; then only continuity is promised.
    if block_starts(fills_of((coin, nxt))) == [_position_at(history, coin, nxt - 1)]:
        assert [(g.coin, g.time_ms, g.expected) for g in coalescer.gaps] == [(coin, nxt, believed)]
        upto_next = [c for c in ours if c.time_ms <= nxt]  # none if the miss and the next block cancel out
        assert (upto_next[-1].new if upto_next else history.initial[coin]) == _position_at(history, coin, nxt)
    assert all(g.coin == coin for g in coalescer.gaps)


def _position_at(history: History, coin: str, time_ms: int) -> Decimal:
    """The true size after every block up to `time_ms`."""
    size = history.initial[coin]
    for snap_time, positions in history.snapshots:
        if snap_time <= time_ms:
            size = positions[coin]
    return size
