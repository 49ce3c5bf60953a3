"""The real 500-fill leader history (2023, 15 coins, self-trades, one venue inconsistency) replayed."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from decimal import Decimal

import pytest

from adapters.hyperliquid.parsing import load_fills_file
from bot.domain import SourceChange, SourceFill
from bot.normalise import FillCoalescer, changes_from_fills, changes_from_snapshots
from strategies.num import add, div, mul
from tests.hyperliquid.recorded import USER_FILLS

D = Decimal
FLIP_DIRS = {"Long > Short", "Short > Long"}


@pytest.fixture(scope="module")
def fills() -> list[SourceFill]:
    return load_fills_file(USER_FILLS)


def _blocks(fills: list[SourceFill]) -> dict[tuple[str, int], list[SourceFill]]:
    blocks: dict[tuple[str, int], list[SourceFill]] = defaultdict(list)
    for fill in fills:
        blocks[(fill.coin, fill.time_ms)].append(fill)
    return blocks


def _has_self_trade(block: list[SourceFill]) -> bool:
    buys = {(f.start_position, f.sz) for f in block if f.signed_sz > 0}
    return any((f.start_position, f.sz) in buys for f in block if f.signed_sz < 0)


def test_one_change_per_block_that_moves_the_position(fills: list[SourceFill]) -> None:
    blocks = _blocks(fills)
    moving = [key for key, block in blocks.items() if sum(f.signed_sz for f in block) != 0]
    changes = changes_from_fills("leader", fills)
    assert len(blocks) == 333 and len(changes) == len(moving) == 288
    assert sorted((c.coin, c.time_ms) for c in changes) == sorted(moving)
    assert len({c.event_id for c in changes}) == len(changes)


def test_the_one_inconsistent_start_position_is_reported_and_jumped(fills: list[SourceFill]) -> None:
    coalescer = FillCoalescer("leader")
    coalescer.add_all(fills)
    changes = coalescer.flush()
    (gap,) = coalescer.gaps
    # The venue says SUI was -1839.2 before the fill at ...556146; the fill before it left -1734.8.
    assert (gap.coin, gap.time_ms, gap.expected, gap.reported) == (
        "SUI",
        1683245556146,
        D("-1734.8"),
        D("-1839.2"),
    )
    jumped = next(c for c in changes if c.event_id == gap.event_id)
    assert (jumped.old, jumped.new) == (D("-1734.8"), D("-1714.8"))  # not -1610.4: the venue's size wins


def test_changes_chain_and_end_where_the_venue_says(fills: list[SourceFill]) -> None:
    coalescer = FillCoalescer("leader")
    coalescer.add_all(fills)
    changes = coalescer.flush()
    by_coin: dict[str, list[SourceChange]] = defaultdict(list)
    for change in changes:
        by_coin[change.coin].append(change)
    gap_jump: dict[str, Decimal] = defaultdict(Decimal)
    for gap in coalescer.gaps:
        gap_jump[gap.coin] += gap.reported - gap.expected
    assert len(by_coin) == 15
    for coin, coin_changes in by_coin.items():
        coin_fills = sorted((f for f in fills if f.coin == coin), key=lambda f: f.time_ms)
        for before, after in itertools.pairwise(coin_changes):
            assert after.old == before.new, coin
        final = coin_changes[-1].new
        # the sum of signed fills from the first fill's startPosition, plus any reported jump
        assert final == coin_fills[0].start_position + sum(f.signed_sz for f in coin_fills) + gap_jump[coin]
        # ...and the end of the newest block's startPosition chain (every coin is closed at the end)
        newest = [f for f in coin_fills if f.time_ms == coin_fills[-1].time_ms]
        chain_end = Counter(f.start_position + f.signed_sz for f in newest) - Counter(
            f.start_position for f in newest
        )
        assert list(chain_end) == [final] == [0], coin
        assert coalescer.position(coin) == final


def test_flips_are_single_changes(fills: list[SourceFill]) -> None:
    changes = changes_from_fills("leader", fills)
    at = {(c.coin, c.time_ms): c for c in changes}
    flip_fills = [f for f in fills if f.dir in FLIP_DIRS]
    assert len(flip_fills) == 22
    # Never close-then-open: at most one change per coin and time, and none that stops at 0 only to
    # be followed by another change at the same time.
    assert len(at) == len(changes)
    flips = [c for c in changes if c.old * c.new < 0]
    assert len(flips) == 15
    blocks = _blocks(fills)
    for fill in flip_fills:
        change = at.get((fill.coin, fill.time_ms))
        if change is not None and change.old * change.new < 0:
            continue
        # The other 7 flip fills sit in blocks whose net move is not a flip: a self-trade (both sides
        # at one start, net zero) or two flips in one block (long → short → long).
        block = blocks[(fill.coin, fill.time_ms)]
        assert _has_self_trade(block) or sum(f.dir in FLIP_DIRS for f in block) >= 2, fill
    for flip in flips:
        assert any(f.dir in FLIP_DIRS for f in blocks[(flip.coin, flip.time_ms)]), flip


def test_avg_px_is_volume_weighted(fills: list[SourceFill]) -> None:
    changes = changes_from_fills("leader", fills)
    close = next(c for c in changes if c.event_id == "fill:SUI:189324432:1683245884863")
    # three fills of one order: 142.7 @ 1.3189, 3749.1 @ 1.3167, 731.7 @ 1.3093
    notional = add(mul(D("142.7"), D("1.3189")), mul(D("3749.1"), D("1.3167")), mul(D("731.7"), D("1.3093")))
    expected = div(notional, D("4623.5"))  # in the one 60-digit context (strategies/num.py)
    assert (close.old, close.new, close.avg_px) == (D("4623.5"), D(0), expected)


def test_window_merges_only_continuations_and_keeps_the_chain(fills: list[SourceFill]) -> None:
    exact = changes_from_fills("leader", fills)
    merged = changes_from_fills("leader", fills, window_ms=60_000)
    assert len(merged) < len(exact)
    for coin in {c.coin for c in exact}:
        ours = [c for c in merged if c.coin == coin]
        assert all(b.old == a.new for a, b in itertools.pairwise(ours))
        assert ours[-1].new == [c for c in exact if c.coin == coin][-1].new


def test_snapshot_diffs_equal_fill_changes_on_the_real_history(fills: list[SourceFill]) -> None:
    # Without its one inconsistent fill the history chains exactly; snapshot the true positions (the
    # running sums of signed fills) after every timestamp and diff them.
    phantom = min((f for f in fills if f.coin == "SUI"), key=lambda f: f.time_ms)
    history = sorted((f for f in fills if f is not phantom), key=lambda f: f.time_ms)
    initial: dict[str, Decimal] = {}
    for fill in history:
        initial.setdefault(fill.coin, fill.start_position)
    snapshots: list[tuple[int, dict[str, Decimal]]] = []
    positions = dict(initial)
    for fill in history:
        positions[fill.coin] += fill.signed_sz
        if snapshots and snapshots[-1][0] == fill.time_ms:
            snapshots[-1] = (fill.time_ms, dict(positions))
        else:
            snapshots.append((fill.time_ms, dict(positions)))
    from_snapshots: list[SourceChange] = []
    previous = initial
    for time_ms, current in snapshots:
        from_snapshots += changes_from_snapshots("leader", previous, current, time_ms=time_ms, event_id="s")
        previous = current

    coalescer = FillCoalescer("leader", initial=initial)
    coalescer.add_all(reversed(history))
    from_fills = coalescer.flush()
    assert coalescer.gaps == []

    def project(changes: list[SourceChange]) -> list[tuple[str, Decimal, Decimal, int]]:
        return [(c.coin, c.old, c.new, c.time_ms) for c in changes]

    assert project(from_fills) == project(from_snapshots)
    assert len(from_fills) == 287
