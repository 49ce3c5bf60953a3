"""Issue 16 item 3 (a): the localnet can list a recorded public `meta` universe, with its szDecimals,
max leverage, order (asset ids) and recorded mids, and the unmodified SDK trades its markets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from eth_account import Account
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info

from adapters.localnet.instruments import DEFAULT_INSTRUMENTS
from adapters.localnet.rules import price_tick
from adapters.localnet.server import LocalnetThread
from adapters.localnet.universe import RECORDED_META, RECORDED_MIDS, instruments_for, recorded_universe
from tests.localnet.conftest import only_status, post_control

META = json.loads(Path(RECORDED_META).read_text())["universe"]
MIDS = json.loads(Path(RECORDED_MIDS).read_text())


@pytest.fixture
def recorded_url() -> Iterator[str]:
    with LocalnetThread(seed=1, universe="recorded") as net:
        yield net.url


def test_the_recorded_universe_is_the_recordings() -> None:
    specs = recorded_universe()
    assert [(s.coin, s.sz_decimals, s.max_leverage) for s in specs] == [
        (a["name"], a["szDecimals"], a["maxLeverage"]) for a in META
    ]
    assert all(s.start_mid == Decimal(MIDS[s.coin]) for s in specs)
    assert instruments_for("default") == DEFAULT_INSTRUMENTS
    with pytest.raises(ValueError, match="universe: expected one of default, recorded"):
        instruments_for("everything")


def test_the_sdk_sees_and_trades_the_recorded_universe(recorded_url: str) -> None:
    info = Info(recorded_url, skip_ws=True)
    try:
        assert [a["name"] for a in info.meta()["universe"]] == [a["name"] for a in META]
        assert info.name_to_asset("APT") == [a["name"] for a in META].index("APT")
        mids = info.all_mids()
        for asset in META:  # each starts at its recorded mid, rounded to a valid price
            name = asset["name"]
            recorded = Decimal(MIDS[name])
            assert abs(Decimal(mids[name]) - recorded) <= price_tick(recorded, asset["szDecimals"])
        wallet = Account.create()
        assert post_control(recorded_url, {"type": "fund", "user": wallet.address, "usdc": "1000"}).ok
        ex = Exchange(wallet, base_url=recorded_url)
        filled = only_status(ex.market_open("kPEPE", True, 10000))["filled"]
        assert Decimal(filled["totalSz"]) == 10000
        refused = only_status(ex.market_open("kPEPE", True, 10000.5))  # szDecimals 0: whole units only
        assert refused == {"error": "Order has invalid size."}
        ex.session.close()
        ex.info.session.close()
    finally:
        info.session.close()
