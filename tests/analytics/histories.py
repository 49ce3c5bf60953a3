"""Small hand-written histories for the analytics tests (their expected figures are worked out by hand
in the tests, from the definitions in docs/analytics.md)."""

from __future__ import annotations

from decimal import Decimal

from bot.domain import Side, SourceFill

T0 = 1_700_000_000_000  # ms
SOURCE = "0x" + "ab" * 20


def fill(
    coin: str,
    seconds: str,
    side: str,
    sz: str,
    px: str,
    start: str,
    *,
    pnl: str = "0",
    fee: str = "0",
    oid: int,
) -> SourceFill:
    return SourceFill(
        coin=coin,
        px=Decimal(px),
        sz=Decimal(sz),
        side=Side.BUY if side == "B" else Side.SELL,
        time_ms=T0 + int(Decimal(seconds) * 1000),
        oid=oid,
        tid=oid,
        start_position=Decimal(start),
        hash=f"0x{oid:064x}",
        closed_pnl=Decimal(pnl),
        fee=Decimal(fee),
    )


# ETH: long 1 → 2 → 1, flip to −2, close. BTC: held long 0.2 before the window, halved, closed.
HAND_FILLS = [
    fill("ETH", "0", "B", "1.0", "2000", "0", fee="0.9", oid=1),
    fill("BTC", "30", "A", "0.1", "30000", "0.2", pnl="-20", fee="1.35", oid=2),
    fill("ETH", "60", "B", "1.0", "2100", "1.0", fee="0.945", oid=3),
    fill("ETH", "120", "A", "1.0", "2200", "2.0", pnl="150", fee="0.99", oid=4),
    fill("ETH", "180", "A", "3.0", "2000", "1.0", pnl="-50", fee="2.7", oid=5),
    fill("BTC", "240", "A", "0.1", "29000", "0.1", pnl="-120", fee="1.305", oid=6),
    fill("ETH", "300", "B", "2.0", "1900", "-2.0", pnl="200", fee="1.71", oid=7),
]

# One coin: open 10, add 5 half a second later at a higher price, close 15 five seconds after the open.
SIMPLE_FILLS = [
    fill("ETH", "0", "B", "10", "2000", "0", oid=11),
    fill("ETH", "0.5", "B", "5", "2010", "10", oid=12),
    fill("ETH", "5", "A", "15", "2100", "15", pnl="1450", oid=13),
]
