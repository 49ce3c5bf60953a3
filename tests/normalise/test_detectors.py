"""Fill coalescing and snapshot diffing on small, hand-made histories."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.domain import Side, SourceChange, SourceFill
from bot.normalise import FillCoalescer, block_starts, changes_from_fills, changes_from_snapshots

D = Decimal
T = 1_700_000_000_000


def fill(
    sz: str,
    start: str,
    *,
    side: Side = Side.BUY,
    coin: str = "ETH",
    px: str = "100",
    time: int = T,
    oid: int = 1,
    tid: int | None = None,
) -> SourceFill:
    return SourceFill(coin, D(px), D(sz), side, time, oid, tid, D(start), hash=f"0x{oid}")


def sell(sz: str, start: str, **kw: object) -> SourceFill:
    return fill(sz, start, side=Side.SELL, **kw)  # type: ignore[arg-type]


def moves(changes: list[SourceChange]) -> list[tuple[str, Decimal, Decimal]]:
    return [(c.coin, c.old, c.new) for c in changes]


def test_partial_fills_of_one_order_are_one_change_with_vwap() -> None:
    fills = [fill("1", "0", px="100", tid=1), fill("3", "1", px="104", tid=2)]
    (change,) = changes_from_fills("src", reversed(fills), initial={"ETH": D(0)})
    assert change == SourceChange("src", "ETH", D(0), D(4), T, f"fill:ETH:1:{T}", D(103))


def test_a_flip_is_one_change_never_close_then_open() -> None:
    fills = [sell("1", "1", tid=1), sell("2.5", "0", tid=2, px="99")]  # +1 → 0 → -2.5 in one order
    assert moves(changes_from_fills("src", fills, initial={"ETH": D(1)})) == [("ETH", D(1), D("-2.5"))]


def test_tid_deduplicates_but_keeps_both_sides_of_a_self_trade() -> None:
    # A self-trade: one trade id, two orders of ours, both reporting the same start; net zero.
    self_trade = [fill("2", "5", oid=7, tid=99), sell("2", "5", oid=8, tid=99)]
    real = fill("1", "5", oid=9, tid=100, time=T + 1)
    coalescer = FillCoalescer("src", initial={"ETH": D(5)})
    assert coalescer.add_all([*self_trade, real, real, self_trade[0]]) == 3
    assert moves(coalescer.flush()) == [("ETH", D(5), D(6))]
    assert coalescer.gaps == []


def test_without_tid_the_start_position_tells_equal_partial_fills_apart() -> None:
    twins = [fill("1", "0"), fill("1", "1")]  # one order, two makers at one price and size
    assert moves(changes_from_fills("src", twins + twins, initial={"ETH": D(0)})) == [("ETH", D(0), D(2))]


def test_orders_at_one_timestamp_are_one_block() -> None:
    fills = [fill("1", "0", oid=5), sell("3", "1", oid=6), fill("1", "0", coin="BTC", oid=4)]
    changes = changes_from_fills("src", fills, initial={})
    assert moves(changes) == [("BTC", D(0), D(1)), ("ETH", D(0), D(-2))]
    assert [c.event_id for c in changes] == [f"fill:BTC:4:{T}", f"fill:ETH:5:{T}"]


def test_unknown_start_uses_the_venue_start_position_known_start_reports_a_gap() -> None:
    fills = [fill("1", "3")]
    assert moves(changes_from_fills("src", fills)) == [("ETH", D(3), D(4))]
    assert moves(changes_from_fills("src", fills, initial={"BTC": D(1)})) == [("ETH", D(3), D(4))]
    coalescer = FillCoalescer("src", initial={"ETH": D(0)})  # known flat, but the venue says 3
    coalescer.add(fills[0])
    assert moves(coalescer.flush()) == [("ETH", D(0), D(4))]
    (gap,) = coalescer.gaps
    assert (gap.coin, gap.expected, gap.reported, gap.time_ms) == ("ETH", D(0), D(3), T)


def test_a_gap_that_hides_a_flip_is_still_one_change() -> None:
    # We knew +2; a missed sell took it to -1; now a sell of 1 from -1. One change +2 → -2.
    coalescer = FillCoalescer("src", initial={"ETH": D(2)})
    coalescer.add(sell("1", "-1"))
    assert moves(coalescer.flush()) == [("ETH", D(2), D(-2))]
    assert [(g.expected, g.reported) for g in coalescer.gaps] == [(D(2), D(-1))]


def test_block_starts_replays_self_trades_and_sees_ambiguity() -> None:
    # A chain 0 → 1 → 3 with a self-trade at 1 listed first (the venue's order is not chronological).
    block = [fill("5", "1", oid=1), sell("5", "1", oid=2), fill("2", "1", oid=3), fill("1", "0", oid=4)]
    assert block_starts(block) == [D(0)]
    # Buy 1 then sell 1 replays from either end: the venue's data cannot say which.
    assert block_starts([fill("1", "0"), sell("1", "1")]) == [D(0), D(1)]
    assert block_starts([fill("1", "0"), fill("1", "5")]) == []  # contradictory


def test_window_joins_later_fills_of_the_same_order_only() -> None:
    resting = [fill("1", "0", time=T), fill("1", "1", time=T + 50), fill("1", "2", time=T + 120)]
    assert moves(changes_from_fills("src", resting, window_ms=0)) == [
        ("ETH", D(0), D(1)),
        ("ETH", D(1), D(2)),
        ("ETH", D(2), D(3)),
    ]
    assert moves(changes_from_fills("src", resting, window_ms=100)) == [
        ("ETH", D(0), D(2)),
        ("ETH", D(2), D(3)),
    ]
    assert moves(changes_from_fills("src", resting, window_ms=200)) == [("ETH", D(0), D(3))]
    # Another order in between ends the group: changes stay consecutive observations.
    other = sell("5", "1", oid=2, time=T + 20)
    interleaved = [resting[0], other, fill("1", "-4", time=T + 50)]
    assert moves(changes_from_fills("src", interleaved, window_ms=200)) == [
        ("ETH", D(0), D(1)),
        ("ETH", D(1), D(-4)),
        ("ETH", D(-4), D(-3)),
    ]


def test_flush_waits_for_the_window_and_the_lateness() -> None:
    coalescer = FillCoalescer("src", initial={"ETH": D(0)}, window_ms=100, lateness_ms=30)
    coalescer.add(fill("1", "0", time=T))
    assert coalescer.flush(T + 130) == []  # a fill of T+100 could still arrive until T+130
    coalescer.add(fill("1", "1", time=T + 100))
    assert moves(coalescer.flush(T + 131)) == [("ETH", D(0), D(2))]
    assert coalescer.position("ETH") == D(2)


def test_a_late_fill_is_not_lost() -> None:
    coalescer = FillCoalescer("src", initial={"ETH": D(0)})
    coalescer.add(fill("1", "0", oid=1, tid=1))
    assert moves(coalescer.flush(T + 1)) == [("ETH", D(0), D(1))]
    straggler = fill("2", "1", oid=1, tid=2)  # same block, arrives after it was flushed
    coalescer.add(straggler)
    (late,) = coalescer.flush(T + 5)
    assert (late.old, late.new, late.event_id) == (D(1), D(3), f"late:ETH:1:{T}:t2b")
    assert coalescer.late_fills == [straggler]


def test_forget_before_bounds_memory_and_ignores_old_redeliveries() -> None:
    coalescer = FillCoalescer("src", initial={"ETH": D(0)})
    old = fill("1", "0", tid=1)
    coalescer.add(old)
    coalescer.flush()
    coalescer.forget_before(T + 1)
    assert coalescer.add(old) is False
    assert coalescer.flush() == []


def test_negative_window_is_refused() -> None:
    with pytest.raises(ValueError, match="window_ms and lateness_ms must be >= 0"):
        FillCoalescer("src", window_ms=-1)


def test_snapshot_diff() -> None:
    previous = {"ETH": D("1.5"), "BTC": D("0.1"), "SOL": D(3)}
    current = {"ETH": D("1.50"), "BTC": D("-0.2"), "DOGE": D(100)}
    changes = changes_from_snapshots("src", previous, current, time_ms=T, event_id="snap:1")
    assert changes == [
        SourceChange("src", "BTC", D("0.1"), D("-0.2"), T, "snap:1:BTC"),  # a flip: one change
        SourceChange("src", "DOGE", D(0), D(100), T, "snap:1:DOGE"),
        SourceChange("src", "SOL", D(3), D(0), T, "snap:1:SOL"),
    ]
    assert changes_from_snapshots("src", previous, previous, time_ms=T, event_id="x") == []
