"""Which perp markets the localnet's default dex lists: `default` (the six markets the tests and
benchmarks use) or `recorded` (every perp of a recorded public `meta` response, at the mids of the
`allMids` response recorded with it).

The recording is hyperliquid-python-sdk's test cassettes tests/cassettes/info_test/test_get_info.yaml
and test_get_all_mids.yaml (mainnet, 2023-07-17, MIT licence), response bodies kept verbatim in
adapters/localnet/data/. A larger recording dropped in beside them is read the same way.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from adapters.localnet.instruments import DEFAULT_INSTRUMENTS, InstrumentSpec

DATA = Path(__file__).parent / "data"
RECORDED_META = DATA / "meta_2023-07-17.json"
RECORDED_MIDS = DATA / "allmids_2023-07-17.json"
UNIVERSES = ("default", "recorded")


def recorded_universe(
    meta_path: Path = RECORDED_META, mids_path: Path = RECORDED_MIDS
) -> tuple[InstrumentSpec, ...]:
    """Every perp of the recorded `meta`, in its order (so asset ids are the recording's), with its
    `szDecimals`, `maxLeverage` and `onlyIsolated`, starting at its recorded mid."""
    meta = json.loads(meta_path.read_text())
    mids = json.loads(mids_path.read_text())
    missing = [asset["name"] for asset in meta["universe"] if asset["name"] not in mids]
    if missing:
        raise ValueError(f"{mids_path.name} has no mid for {', '.join(missing)}")
    return tuple(
        InstrumentSpec(
            asset["name"],
            int(asset["szDecimals"]),
            int(asset["maxLeverage"]),
            Decimal(mids[asset["name"]]),
            only_isolated=bool(asset.get("onlyIsolated", False)),
        )
        for asset in meta["universe"]
    )


def instruments_for(universe: str) -> tuple[InstrumentSpec, ...]:
    if universe == "default":
        return DEFAULT_INSTRUMENTS
    if universe == "recorded":
        return recorded_universe()
    raise ValueError(f"universe: expected one of {', '.join(UNIVERSES)}, got {universe!r}")
