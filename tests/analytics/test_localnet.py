"""`inspect` and `backtest` online, against the localnet, on a leader history scripted through the
unmodified hyperliquid SDK. The localnet has no funding (`userFunding` is refused): counted as 0."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from typer.testing import CliRunner

import adapters.localnet.info as localnet_info
from adapters.hyperliquid.venue import HyperliquidVenue
from adapters.localnet.server import LocalnetThread, wall_clock_ms
from bot.analytics import inspect_source
from bot.cli import app
from tests.analytics.support import assert_png

# (coin, is_buy, size, mid before the order): long ETH 1 → 1.5 → 0.8, flip to −1, close; SOL 20, close
SCRIPT: list[tuple[str, bool, str, str]] = [
    ("ETH", True, "1", "3000"),
    ("SOL", True, "20", "150"),
    ("ETH", True, "0.5", "3030"),
    ("ETH", False, "0.7", "3060"),
    ("SOL", False, "20", "156"),
    ("ETH", False, "1.8", "2990"),
    ("ETH", True, "1", "2950"),
]


@dataclass(frozen=True)
class Venue:
    url: str
    leader: str
    fills: list[dict[str, Any]]  # the leader's fills as the SDK reads them
    equity: Decimal


def _control(url: str, message: dict[str, Any]) -> None:
    response = requests.post(f"{url}/_localnet", json=message, timeout=10)
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def venue() -> Iterator[Venue]:
    lock, last = threading.Lock(), [0]

    def unique_nonce() -> int:  # the SDK's nonces are wall-clock ms; keep them unique when quick
        with lock:
            last[0] = max(wall_clock_ms(), last[0] + 1)
            return last[0]

    with LocalnetThread(seed=9) as net, pytest.MonkeyPatch.context() as patch:
        patch.setattr("hyperliquid.exchange.get_timestamp_ms", unique_nonce)
        leader: LocalAccount = Account.from_key(keccak(text="mirrorbot-analytics-leader"))
        _control(net.url, {"type": "fund", "user": leader.address, "usdc": "100000"})
        exchange = Exchange(leader, base_url=net.url)
        for coin, is_buy, size, mid in SCRIPT:
            _control(net.url, {"type": "setMids", "mids": {coin: mid}})
            answer = exchange.market_open(coin, is_buy, float(size))  # the SDK's API takes floats
            assert "filled" in answer["response"]["data"]["statuses"][0], answer
        info = Info(net.url, skip_ws=True)
        fills = info.user_fills(leader.address)
        equity = Decimal(info.user_state(leader.address)["marginSummary"]["accountValue"])
        exchange.session.close()
        info.session.close()
        yield Venue(net.url, leader.address, fills, equity)


async def test_inspect_pages_the_fills_and_agrees_with_the_venue(venue: Venue) -> None:
    assert len(venue.fills) >= len(SCRIPT)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(localnet_info, "MAX_FILLS", 3)  # the venue's page of 2,000, made small
        reads = HyperliquidVenue(venue.url, data_dir=None, fills_page_limit=3)
        try:
            report = await inspect_source(venue.leader, days=1, venue=reads, api_url=venue.url)
            pages = [c for c in reads.info.calls if c.request_type == "userFillsByTime"]
        finally:
            await reads.close()
    s = report.stats
    assert len(pages) >= len(venue.fills) // 3 and s.fills == len(venue.fills)
    assert s.realised_pnl == sum((Decimal(f["closedPnl"]) for f in venue.fills), Decimal(0))
    assert s.fees == sum((Decimal(f["fee"]) for f in venue.fills), Decimal(0)) > 0
    assert s.funding == 0 and "userFunding" in s.funding_note
    assert s.net_pnl == s.realised_pnl - s.fees
    # ETH: a long, then the short the flip opened; SOL: one long. All opened and closed in the window.
    assert (s.round_trips, s.complete_round_trips) == (3, 3)
    assert [c.coin for c in s.coins] == ["ETH", "SOL"] and s.end_positions == ()
    assert s.equity == venue.equity and s.positions == ()
    assert s.max_leverage is not None and s.avg_leverage is not None and 0 < s.avg_leverage <= s.max_leverage
    assert s.avg_holding_ms is not None and s.avg_holding_ms > 0


def _cli(venue: Venue, *args: str) -> Any:
    result = CliRunner().invoke(app, list(args), env={"MIRROR_HL_API_URL": venue.url})
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_the_commands_online(venue: Venue, tmp_path: Path) -> None:
    window = (venue.leader, "--days", "1", "--json")
    inspected = _cli(venue, "inspect", *window, "--chart", str(tmp_path / "i.png"))
    assert inspected["stats"]["fills"] == len(venue.fills)
    assert inspected["origin"] == f"venue {venue.url}" and Decimal(inspected["equity"]) == venue.equity
    assert_png(tmp_path / "i.png")

    chart = tmp_path / "b.png"
    tested = _cli(venue, "backtest", *window, "--equity", "2000", "--chart", str(chart))
    assert Decimal(tested["params"]["source_equity"]) == venue.equity  # read from the venue
    assert set(tested["params"]["per_coin_depth"]) == {"ETH", "SOL"}  # today's books
    decisions = tested["decisions"]
    assert decisions["total"] == sum(decisions[k] for k in ("sent", "deferred", "skipped", "unchanged"))
    assert decisions["skipped"] == 0 and decisions["sent"] > 0
    assert tested["follower"]["end_positions"] == {}  # the leader ends flat, so does the copy
    assert Decimal(tested["follower"]["fees"]) > 0
    assert_png(chart)
