"""Two synthetic sources for the ranking tests, written as the venue's `userFills` JSON (what `--fills`
reads). Their figures are worked out by hand in tests/analytics/test_rank_hand.py from the definitions
(docs/analytics.md, "rank"). Times: T0 + hours."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

T0 = 1_700_000_000_000  # ms
HOUR = 3_600_000
STEADY = "0x" + "11" * 20  # ETH, equity 10,000: two one-day trips, small sizes (one copy deferred at E 1000)
SWINGY = "0x" + "22" * 20  # BTC, equity 500: a 5.8 % drop within 12 hours
STEADY_EQUITY = "10000"
SWINGY_EQUITY = "500"


def _fill(
    coin: str,
    hours: int,
    side: str,
    sz: str,
    px: str,
    start: str,
    pnl: str,
    fee: str,
    crossed: bool,
    oid: int,
) -> dict[str, Any]:
    return {
        "coin": coin,
        "px": px,
        "sz": sz,
        "side": side,
        "time": T0 + hours * HOUR,
        "startPosition": start,
        "dir": "Open Long" if side == "B" else "Close Long",
        "closedPnl": pnl,
        "hash": f"0x{oid:064x}",
        "oid": oid,
        "crossed": crossed,
        "fee": fee,
        "tid": oid,
        "feeToken": "USDC",
    }


STEADY_FILLS = [
    _fill("ETH", 0, "B", "0.045", "2000", "0", "0", "0.05", True, 101),
    _fill("ETH", 24, "A", "0.045", "2100", "0.045", "4.5", "0.05", False, 102),
    _fill("ETH", 72, "B", "0.1", "2000", "0", "0", "0.05", True, 103),
    _fill("ETH", 96, "A", "0.1", "1950", "0.1", "-5", "0.05", True, 104),
]
SWINGY_FILLS = [
    _fill("BTC", 0, "B", "0.01", "30000", "0", "0", "0.15", True, 201),
    _fill("BTC", 2, "A", "0.01", "27000", "0.01", "-30", "0.135", True, 202),
    _fill("BTC", 6, "B", "0.01", "28000", "0", "0", "0.14", True, 203),
    _fill("BTC", 12, "A", "0.01", "29000", "0.01", "10", "0.145", True, 204),
]


def write(folder: Path) -> tuple[Path, Path]:
    """The two recordings as JSON files in `folder`: (steady, swingy)."""
    steady, swingy = folder / "steady.json", folder / "swingy.json"
    steady.write_text(json.dumps(STEADY_FILLS))
    swingy.write_text(json.dumps(SWINGY_FILLS))
    return steady, swingy
