"""Hypothesis strategy: a source's trading history as the venue would report it, with the truth.

Each step is one order of one coin (1–3 partial fills) or a self-trade (two fills, same start, net
zero), at a time 0–3 ms after the previous step, so several orders often share a block. Start positions
are chained exactly as the venue does; `snapshots` are the true positions after each timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hypothesis import strategies as st

from bot.domain import Side, SourceFill

COINS = ("BTC", "ETH", "SOL")
T0 = 1_700_000_000_000


@dataclass(frozen=True)
class History:
    initial: dict[str, Decimal]
    fills: list[SourceFill]  # venue time order
    snapshots: list[tuple[int, dict[str, Decimal]]]  # (time, every coin's true size after that time)


def _size(n: int) -> Decimal:
    return Decimal(n).scaleb(-1)  # 0.1 .. 2.0: exact, with a lot-like exponent


@st.composite
def histories(draw: st.DrawFn, *, with_tid: bool | None = None, max_steps: int = 25) -> History:
    tids = draw(st.booleans()) if with_tid is None else with_tid
    initial = {coin: _size(draw(st.integers(-20, 20))) for coin in COINS}
    positions = dict(initial)
    fills: list[SourceFill] = []
    snapshots: list[tuple[int, dict[str, Decimal]]] = []
    time, oid, tid = T0, 1000, 1
    for _ in range(draw(st.integers(1, max_steps))):
        step = draw(st.integers(0, 3))
        if step and fills:
            snapshots.append((time, dict(positions)))
        time += step
        coin = draw(st.sampled_from(COINS))
        start = positions[coin]
        if draw(st.integers(0, 5)) == 0:  # a self-trade: both sides report the same start
            size, px = _size(draw(st.integers(1, 20))), Decimal(draw(st.integers(90, 110)))
            for side in (Side.BUY, Side.SELL):
                oid += 1
                fills.append(
                    _fill(coin, px, size, side, time, oid, tid if tids else None, start, f"0xs{oid}")
                )
            tid += 1
            continue
        oid += 1
        side = draw(st.sampled_from((Side.BUY, Side.SELL)))
        for n in draw(st.lists(st.integers(1, 20), min_size=1, max_size=3)):
            size, px = _size(n), Decimal(draw(st.integers(90, 110)))
            fill = _fill(coin, px, size, side, time, oid, tid if tids else None, positions[coin], f"0x{oid}")
            fills.append(fill)
            positions[coin] += fill.signed_sz
            tid += 1
    snapshots.append((time, dict(positions)))
    return History(initial, fills, snapshots)


def _fill(
    coin: str,
    px: Decimal,
    sz: Decimal,
    side: Side,
    time: int,
    oid: int,
    tid: int | None,
    start: Decimal,
    tx_hash: str,
) -> SourceFill:
    return SourceFill(
        coin=coin, px=px, sz=sz, side=side, time_ms=time, oid=oid, tid=tid, start_position=start, hash=tx_hash
    )
