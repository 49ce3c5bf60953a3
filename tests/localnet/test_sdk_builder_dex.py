"""Issue 16 item 3: a builder-deployed perp dex (HIP-3) on the localnet, through the unmodified SDK
(`Info`/`Exchange` with `perp_dexs`): `perpDexs`, asset ids 110000 + index, `dex:COIN` names, a
clearinghouse (collateral, positions, orders) of its own per user, an isolated-only market."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
import websocket
from eth_account.signers.local import LocalAccount
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from hyperliquid.utils.error import ClientError

from tests.localnet.conftest import Control, MakeWallet, only_status

DEXES = ["", "test"]


@pytest.fixture
def dex_info(url: str) -> Iterator[Info]:
    client = Info(url, skip_ws=True, perp_dexs=DEXES)
    yield client
    client.session.close()


MakeDexExchange = Callable[[LocalAccount], Exchange]


@pytest.fixture
def dex_exchange(url: str) -> Iterator[MakeDexExchange]:
    """The SDK's Exchange knowing the builder dex's markets (`perp_dexs`), its only change."""
    made: list[Exchange] = []

    def make(wallet: LocalAccount) -> Exchange:
        made.append(Exchange(wallet, base_url=url, perp_dexs=DEXES))
        return made[-1]

    yield make
    for ex in made:
        ex.session.close()
        ex.info.session.close()


def funded(
    wallet: MakeWallet, control: Control, usdc: str = "10000", usdh: str | None = "1000"
) -> LocalAccount:
    user = wallet(usdc)
    if usdh is not None:
        control({"type": "fund", "user": user.address, "usdc": usdh, "dex": "test"})
    return user


def positions(info: Info, user: str, dex: str = "") -> dict[str, Decimal]:
    return {
        p["position"]["coin"]: Decimal(p["position"]["szi"])
        for p in info.user_state(user, dex)["assetPositions"]
    }


def test_perp_dexs_names_the_builder_dex(info: Info) -> None:
    dexes = info.perp_dexs()
    assert dexes[0] is None
    assert [d["name"] for d in dexes[1:]] == ["test"]
    assert {"fullName", "deployer", "oracleUpdater", "feeRecipient", "assetToStreamingOiCap"} <= dexes[
        1
    ].keys()


def test_builder_dex_meta_names_and_asset_ids(dex_info: Info) -> None:
    meta = dex_info.meta(dex="test")
    names = [a["name"] for a in meta["universe"]]
    assert names and all(name.startswith("test:") for name in names)
    assert meta["collateralToken"] != 0  # not USDC
    tokens = {t["index"]: t["name"] for t in dex_info.spot_meta()["tokens"]}
    assert tokens[meta["collateralToken"]] == "USDH"
    assert [a["name"] for a in meta["universe"] if a.get("onlyIsolated")] == ["test:MOON"]
    assert [dex_info.name_to_asset(name) for name in names] == [110_000 + i for i in range(len(names))]
    assert dex_info.name_to_asset("BTC") == 0
    assert set(dex_info.all_mids("test")) == set(names)
    assert not set(dex_info.all_mids()) & set(names)  # the default dex's mids stay its own
    _, ctxs = dex_info.post("/info", {"type": "metaAndAssetCtxs", "dex": "test"})
    assert [c["markPx"] for c in ctxs] == [dex_info.all_mids("test")[n] for n in names]


def test_unknown_dex_is_refused(info: Info) -> None:
    with pytest.raises(ClientError) as refused:
        info.meta(dex="nope")
    assert refused.value.status_code == 422
    assert "'dex'" in str(refused.value.error_message)


def test_a_builder_dex_position_lives_in_its_own_clearinghouse(
    wallet: MakeWallet, control: Control, dex_exchange: MakeDexExchange, dex_info: Info
) -> None:
    user = funded(wallet, control)
    ex = dex_exchange(user)
    filled = only_status(ex.market_open("test:GOLD", True, 0.1))["filled"]
    assert Decimal(filled["totalSz"]) == Decimal("0.1")
    assert positions(dex_info, user.address, "test") == {"test:GOLD": Decimal("0.1")}
    assert positions(dex_info, user.address) == {}  # nothing on the default dex
    default = dex_info.user_state(user.address)["marginSummary"]["accountValue"]
    assert Decimal(default) == Decimal(10000)  # the builder dex's fee came out of its own collateral
    loc_value = Decimal(dex_info.user_state(user.address, "test")["marginSummary"]["accountValue"])
    assert Decimal(990) < loc_value < Decimal(1000)
    (fill,) = dex_info.user_fills(user.address)
    assert fill["coin"] == "test:GOLD"
    # flip, then close, on the builder dex
    only_status(ex.market_open("test:GOLD", False, 0.3))
    assert positions(dex_info, user.address, "test") == {"test:GOLD": Decimal("-0.2")}
    only_status(ex.market_close("test:GOLD"))
    assert positions(dex_info, user.address, "test") == {}
    assert [f["dir"] for f in dex_info.user_fills(user.address)][::-1] == [
        "Open Long",
        "Long > Short",
        "Close Short",
    ]


def test_builder_dex_orders_are_listed_and_cancelled_per_dex(
    wallet: MakeWallet, control: Control, dex_exchange: MakeDexExchange, dex_info: Info
) -> None:
    user = funded(wallet, control)
    ex = dex_exchange(user)
    px = float(f"{Decimal(dex_info.all_mids('test')['test:ABC']) * Decimal('0.9'):.5g}")
    oid = only_status(ex.order("test:ABC", True, 2, px, {"limit": {"tif": "Gtc"}}))["resting"]["oid"]
    assert [o["oid"] for o in dex_info.open_orders(user.address, "test")] == [oid]
    assert [o["coin"] for o in dex_info.frontend_open_orders(user.address, "test")] == ["test:ABC"]
    assert dex_info.open_orders(user.address) == []
    assert dex_info.query_order_by_oid(user.address, oid)["order"]["order"]["coin"] == "test:ABC"
    assert only_status(ex.cancel("test:ABC", oid)) == "success"
    assert dex_info.open_orders(user.address, "test") == []


def test_no_collateral_on_the_builder_dex_means_no_order_there(
    wallet: MakeWallet, control: Control, dex_exchange: MakeDexExchange, dex_info: Info
) -> None:
    user = funded(wallet, control, usdh=None)  # 10000 USDC on the default dex only
    answer = only_status(dex_exchange(user).market_open("test:GOLD", True, 0.1))
    assert "error" in answer and "margin" in answer["error"].lower()
    assert positions(dex_info, user.address, "test") == {}
    assert Decimal(dex_info.user_state(user.address)["marginSummary"]["accountValue"]) == Decimal(10000)


def test_isolated_only_market(
    wallet: MakeWallet, control: Control, dex_exchange: MakeDexExchange, dex_info: Info
) -> None:
    user = funded(wallet, control)
    ex = dex_exchange(user)
    refused = ex.update_leverage(2, "test:MOON", is_cross=True)
    assert refused["status"] == "err"
    assert ex.update_leverage(2, "test:MOON", is_cross=False)["status"] == "ok"
    only_status(ex.market_open("test:MOON", True, 1000))
    (position,) = dex_info.user_state(user.address, "test")["assetPositions"]
    assert position["position"]["leverage"]["type"] == "isolated"
    assert position["position"]["leverage"]["value"] == 2


def test_isolated_only_market_defaults_to_isolated(
    wallet: MakeWallet, control: Control, dex_exchange: MakeDexExchange, dex_info: Info
) -> None:
    user = funded(wallet, control)
    only_status(dex_exchange(user).market_open("test:MOON", True, 1000))
    (position,) = dex_info.user_state(user.address, "test")["assetPositions"]
    assert position["position"]["leverage"]["type"] == "isolated"


def test_all_mids_stream_per_dex(url: str, control: Control) -> None:
    """The websocket's allMids takes `dex` as /info does: each dex's stream carries its own mids."""
    conn = websocket.create_connection("ws" + url[len("http") :] + "/ws", timeout=10)
    try:
        assert conn.recv() == "Websocket connection established."
        conn.send(json.dumps({"method": "subscribe", "subscription": {"type": "allMids", "dex": "test"}}))
        assert json.loads(conn.recv())["channel"] == "subscriptionResponse"
        snapshot = json.loads(conn.recv())["data"]["mids"]
        assert set(snapshot) == {"test:ABC", "test:GOLD", "test:MOON"}
        control({"type": "setMids", "mids": {"BTC": "61000"}})  # another dex: nothing here
        control({"type": "setMids", "mids": {"test:GOLD": "2500"}})
        assert json.loads(conn.recv())["data"]["mids"]["test:GOLD"] == "2500.0"
        conn.send(json.dumps({"method": "subscribe", "subscription": {"type": "allMids", "dex": "nope"}}))
        refused = json.loads(conn.recv())
        assert refused["channel"] == "error" and "nope" in refused["data"]
    finally:
        conn.close()
