"""Candles built from the kept base series (1m, 1h, 1d) equal the candles aggregated directly from the
price points, for every interval."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.localnet.candles import INTERVALS, Candles, bucket

START = 1_700_000_000_000
DAY = 86_400_000

points = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=40 * DAY),  # time offset
        st.integers(min_value=1, max_value=10_000),  # price in cents
        st.one_of(st.none(), st.integers(min_value=1, max_value=500)),  # trade size, or a mid move
    ),
    min_size=1,
    max_size=60,
)


def direct(rows: list[tuple[int, Decimal, Decimal | None]], interval: str) -> list[dict[str, Any]]:
    by_start: dict[int, list[tuple[int, Decimal, Decimal | None]]] = {}
    for row in rows:
        by_start.setdefault(bucket(interval, row[0])[0], []).append(row)
    out = []
    for start, group in sorted(by_start.items()):
        pxs = [px for _, px, _ in group]
        sizes = [sz for _, _, sz in group if sz is not None]
        out.append(
            {
                "t": start,
                "T": bucket(interval, start)[1],
                "o": pxs[0],
                "c": pxs[-1],
                "h": max(pxs),
                "l": min(pxs),
                "v": sum(sizes, Decimal(0)),
                "n": len(sizes),
            }
        )
    return out


@settings(max_examples=60, deadline=None)
@given(points, st.integers(min_value=0, max_value=40 * DAY))
def test_every_interval_matches_direct_aggregation(raw: list[tuple[int, int, int | None]], cut: int) -> None:
    rows = sorted(
        (
            (START + dt, Decimal(px).scaleb(-2), None if sz is None else Decimal(sz).scaleb(-1))
            for dt, px, sz in raw
        ),
        key=lambda row: row[0],
    )
    candles = Candles()
    for now, px, sz in rows:
        candles.add("ETH", px, now, sz)
    for interval in INTERVALS:
        got = [
            {
                **c,
                "o": Decimal(c["o"]),
                "c": Decimal(c["c"]),
                "h": Decimal(c["h"]),
                "l": Decimal(c["l"]),
                "v": Decimal(c["v"]),
            }
            for c in candles.between("ETH", interval, 0, START + 50 * DAY)
        ]
        expected = direct(rows, interval)
        assert [{k: c[k] for k in expected[0]} for c in got] == expected, interval
        window = candles.between("ETH", interval, START + cut, START + 50 * DAY)
        assert [c["t"] for c in window] == [c["t"] for c in expected if c["t"] >= START + cut], interval
        latest = candles.latest("ETH", interval)
        assert (
            latest is not None
            and latest["t"] == expected[-1]["t"]
            and Decimal(latest["h"]) == expected[-1]["h"]
        )
