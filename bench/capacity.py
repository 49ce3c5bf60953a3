"""Watch capacity within Hyperliquid's 1,200 weight/minute, and peak RSS of 100 sources × 1,000 followers.

    .venv/bin/python -m bench.capacity [--sources 100] [--followers 1000]

Capacity is computed from the adapter's own weights (`adapters.hyperliquid.constants.info_weight`, the
poller's per-source requests) and capabilities (`max_ws_users`): a polled source costs one
`clearinghouseState` + one `spotClearinghouseState` per round, so at staleness S seconds one process
keeps ⌊(budget − reserve) × S / 60 / cost⌋ sources fresh; websocket sources cost no weight. Memory: the
engines (`strategies.engine.Follower`, one per follower, each following one of the sources with every
market's pair tracked) built in this process; ru_maxrss before and after.
"""

from __future__ import annotations

import argparse
import resource
import sys
from decimal import Decimal

from adapters.hyperliquid.constants import REST_WEIGHT_PER_MINUTE, info_weight
from adapters.hyperliquid.venue import POLLER_RESERVE, HyperliquidVenue
from adapters.localnet.instruments import DEFAULT_INSTRUMENTS
from bench.rig import machine
from strategies.config import FollowConfig
from strategies.engine import Follower
from strategies.model import Market

POLL_COST = info_weight("clearinghouseState") + info_weight("spotClearinghouseState")
STALENESS_S = (1, 2, 5, 10, 30, 60)


def polled_sources(staleness_s: float, budget_per_minute: int = REST_WEIGHT_PER_MINUTE) -> int:
    """Sources one process can poll every `staleness_s` seconds, leaving the poller's reserve."""
    per_minute = budget_per_minute - POLLER_RESERVE
    return int(per_minute * staleness_s / 60 // POLL_COST)


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def engines(sources: int, followers: int) -> list[Follower]:
    markets = {s.coin: Market(s.coin, s.sz_decimals, s.max_leverage) for s in DEFAULT_INSTRUMENTS}
    built: list[Follower] = []
    for number in range(followers):
        engine = Follower(markets, equity=Decimal(10_000))
        source = f"0x{number % sources:040x}"
        engine.follow(source, FollowConfig())
        for spec in DEFAULT_INSTRUMENTS:
            engine.set_mid(spec.coin, spec.start_mid)
            engine.observe_source(source, spec.coin, size=Decimal(0))
        built.append(engine)
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity", description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=100)
    parser.add_argument("--followers", type=int, default=1000)
    args = parser.parse_args(argv)
    ws = HyperliquidVenue.capabilities.max_ws_users
    print(f"machine: {machine()}")
    print(
        f"budget {REST_WEIGHT_PER_MINUTE}/min, poller reserve {POLLER_RESERVE}, poll cost {POLL_COST}/source"
    )
    print(f"{'staleness s':>12}{'polled only':>14}{f'with {ws} on ws':>18}")
    for staleness in STALENESS_S:
        polled = polled_sources(staleness)
        print(f"{staleness:>12}{polled:>14}{polled + ws:>18}")
    before = rss_mib()
    built = engines(max(args.sources, 1), max(args.followers, 0))
    after = rss_mib()
    print(
        f"peak RSS: {before:.1f} MiB before, {after:.1f} MiB with {len(built)} engines",
        f"over {args.sources} sources",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
