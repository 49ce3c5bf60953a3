"""Watch capacity within Hyperliquid's 1,200 weight/minute, and peak RSS of 100 sources × 1,000 followers.

    .venv/bin/python -m bench.capacity [--sources 100] [--followers 1000]

Capacity is computed from the adapter's own weights (`adapters.hyperliquid.constants.info_weight`, the
poller's per-source requests) and capabilities (`max_ws_users`): a polled source costs one
`clearinghouseState` per perp dex the venue lists (HIP-3: each builder dex adds one) + one
`spotClearinghouseState` per round (`adapters.hyperliquid.poller.poll_weight`), so at staleness S
seconds one process keeps ⌊(budget − reserve − orders' weight) × S / 60 / cost⌋ sources fresh;
websocket sources cost no weight. Orders' weight: until issue #7 every order was followed by a fills
read-back (`userFillsByTime`) and an account read (`clearinghouseState` + `spotClearinghouseState`); now
the answer moves the position and each follower's fills come in one batched read per
`FillReaderOptions.min_interval_s` at most (`bot/pipeline/fills.py`), plus one weight per 20 fills in
the answer. Memory: the engines (`strategies.engine.Follower`, one per follower, each following one of
the sources with every market's pair tracked) built in this process; ru_maxrss before and after.
"""

from __future__ import annotations

import argparse
import resource
import sys
from decimal import Decimal

from adapters.hyperliquid.constants import REST_WEIGHT_PER_MINUTE, info_weight
from adapters.hyperliquid.poller import poll_weight
from adapters.hyperliquid.venue import POLLER_RESERVE, HyperliquidVenue
from adapters.hyperliquid.venue import polled_sources as polled_sources  # the tests read it here
from adapters.localnet.instruments import DEFAULT_INSTRUMENTS
from bench.rig import machine
from bot.pipeline.fills import FillReaderOptions
from strategies.config import FollowConfig
from strategies.engine import Follower
from strategies.model import Market

POLL_COST = poll_weight(1)  # the default dex only
DEX_COUNTS = (1, 2, 4, 8)  # perp dexes listed: the default + builder dexes (HIP-3)
STALENESS_S = (1, 2, 5, 10, 30, 60)
FILLS_READ = info_weight("userFillsByTime")
READBACK_PER_ORDER = FILLS_READ + POLL_COST  # what each order cost before issue #7: 20 + 4
ORDER_LOADS = ((10, 1), (40, 1), (40, 10), (120, 10), (300, 10), (300, 100))  # (orders/min, followers)


def orders_weight_before(orders_per_minute: int) -> int:
    """Weight a minute the orders' read-backs cost before issue #7 (a fills and an account read each)."""
    return orders_per_minute * READBACK_PER_ORDER


def orders_weight_now(
    orders_per_minute: int, followers: int, options: FillReaderOptions | None = None, fills_per_order: int = 1
) -> int:
    """Weight a minute the batched fills reads cost, orders spread evenly over `followers`: a follower
    is read once per order while its orders are sparser than the interval, else once per interval;
    each read's answer holds the fills since just before its oldest awaited order (the interval plus
    the look-back), one extra weight per 20 of them."""
    options = options or FillReaderOptions()
    if orders_per_minute <= 0 or followers <= 0:
        return 0
    rate = Decimal(orders_per_minute) / followers  # per follower a minute
    cap = Decimal(60) / Decimal(str(options.min_interval_s)) if options.min_interval_s > 0 else rate
    reads = min(rate, cap)
    window_s = Decimal(60) / reads + Decimal(options.lookback_ms) / 1000  # covered by one read
    items = int(rate * fills_per_order * window_s / 60)
    return int(followers * reads * info_weight("userFillsByTime", items))


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
    print("perp dexes listed (HIP-3): poll cost and sources polled (without websockets)")
    print(f"{'dexes':>6}{'cost':>6}" + "".join(f"{f'@{s}s':>7}" for s in STALENESS_S))
    for dexes in DEX_COUNTS:
        row = "".join(f"{polled_sources(s, dexes=dexes):>7}" for s in STALENESS_S)
        print(f"{dexes:>6}{poll_weight(dexes):>6}{row}")
    interval = FillReaderOptions().min_interval_s
    print(
        f"orders' weight/min: before {READBACK_PER_ORDER} per order; now one fills read "
        f"({FILLS_READ}+) per follower per order, at most one per {interval:g} s"
    )
    print(
        f"{'orders/min':>11}{'followers':>10}{'weight before':>15}{'weight now':>12}"
        f"{'polled @1s before':>19}{'now':>5}{'polled @5s before':>19}{'now':>5}"
    )
    for orders, followers in ORDER_LOADS:
        old, new = orders_weight_before(orders), orders_weight_now(orders, followers)
        print(
            f"{orders:>11}{followers:>10}{old:>15}{new:>12}"
            f"{polled_sources(1, orders_weight=old):>19}{polled_sources(1, orders_weight=new):>5}"
            f"{polled_sources(5, orders_weight=old):>19}{polled_sources(5, orders_weight=new):>5}"
        )
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
