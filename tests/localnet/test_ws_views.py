"""Issue 16 item 3: the websocket subscriptions beyond the core flow (`bbo`, `candle`, `activeAssetCtx`,
`activeAssetData`, `webData2`, `userFundings`, `userNonFundingLedgerUpdates`) and `/info candleSnapshot`,
read through the unmodified SDK's own `Info` (its routing drops a message whose shape it cannot key)."""

from __future__ import annotations

from decimal import Decimal

from hyperliquid.info import Info

from tests.localnet.conftest import Control, MakeExchange, MakeWallet, only_status
from tests.localnet.test_ws_feeds import TIMEOUT, next_matching, subscribe, ws_info

__all__ = ["ws_info"]  # the fixture, shared


def test_bbo_snapshot_then_each_change(ws_info: Info, control: Control) -> None:
    book = ws_info.l2_snapshot("ETH")
    messages = subscribe(ws_info, {"type": "bbo", "coin": "ETH"})
    first = messages.get(timeout=TIMEOUT)
    assert first["channel"] == "bbo"
    bid, ask = first["data"]["bbo"]
    assert (bid, ask) == (book["levels"][0][0], book["levels"][1][0])
    control({"type": "setMids", "mids": {"ETH": "3300"}})
    moved = messages.get(timeout=TIMEOUT)
    bid, ask = moved["data"]["bbo"]
    assert Decimal(bid["px"]) < Decimal(3300) < Decimal(ask["px"])


def test_candle_follows_trades_and_mid_moves(
    ws_info: Info, control: Control, wallet: MakeWallet, exchange: MakeExchange
) -> None:
    messages = subscribe(ws_info, {"type": "candle", "coin": "ETH", "interval": "1m"})
    first = messages.get(timeout=TIMEOUT)["data"]
    assert (first["s"], first["i"], first["T"] - first["t"]) == ("ETH", "1m", 59_999)
    control({"type": "setMids", "mids": {"ETH": "3500"}})
    assert Decimal(next_matching(messages, lambda m: m["data"]["c"] == "3500.0")["data"]["h"]) >= 3500
    user = wallet()
    only_status(exchange(user).market_open("ETH", True, 0.2))
    traded = next_matching(messages, lambda m: m["data"]["n"] > first["n"])["data"]
    assert Decimal(traded["v"]) >= Decimal("0.2")
    now = traded["t"] + 1
    snapshot = ws_info.candles_snapshot("ETH", "1m", now - 3_600_000, now + 60_000)
    assert snapshot[-1]["t"] == traded["t"]
    assert Decimal(snapshot[-1]["v"]) >= Decimal("0.2")
    hourly = ws_info.candles_snapshot("ETH", "1h", 0, now + 60_000)
    assert hourly[-1]["T"] - hourly[-1]["t"] == 3_599_999


def test_active_asset_ctx_moves_with_the_mid(ws_info: Info, control: Control) -> None:
    messages = subscribe(ws_info, {"type": "activeAssetCtx", "coin": "SOL"})
    first = messages.get(timeout=TIMEOUT)
    assert first["channel"] == "activeAssetCtx" and first["data"]["coin"] == "SOL"
    assert first["data"]["ctx"]["markPx"] == ws_info.all_mids()["SOL"]
    control({"type": "setMids", "mids": {"SOL": "170"}})
    moved = next_matching(messages, lambda m: m["data"]["ctx"]["markPx"] == "170.0")
    assert moved["data"]["ctx"]["midPx"] == "170.0"


def test_active_asset_data_follows_the_users_leverage_and_margin(
    ws_info: Info, wallet: MakeWallet, exchange: MakeExchange
) -> None:
    user = wallet("1000")
    ex = exchange(user)
    messages = subscribe(ws_info, {"type": "activeAssetData", "user": user.address, "coin": "ETH"})
    first = messages.get(timeout=TIMEOUT)["data"]
    assert (first["user"], first["coin"]) == (user.address.lower(), "ETH")
    assert first["leverage"] == {"type": "cross", "value": 20}
    assert Decimal(first["availableToTrade"][0]) == Decimal(20_000)  # 1000 USDC at 20x
    ex.update_leverage(5, "ETH", is_cross=False)
    only_status(ex.market_open("ETH", True, 0.5))
    after = next_matching(messages, lambda m: m["data"]["leverage"]["value"] == 5)["data"]
    assert after["leverage"]["type"] == "isolated"
    assert Decimal(after["availableToTrade"][0]) < Decimal(5_000)


def test_web_data2_carries_the_users_state(ws_info: Info, wallet: MakeWallet, exchange: MakeExchange) -> None:
    user = wallet("1000")
    messages = subscribe(ws_info, {"type": "webData2", "user": user.address})
    first = messages.get(timeout=TIMEOUT)["data"]
    assert first["user"] == user.address.lower()
    assert first["clearinghouseState"]["marginSummary"]["accountValue"] == "1000.0"
    assert [a["name"] for a in first["meta"]["universe"]] == [a["name"] for a in ws_info.meta()["universe"]]
    only_status(exchange(user).market_open("ETH", True, 0.1))
    after = next_matching(messages, lambda m: bool(m["data"]["clearinghouseState"]["assetPositions"]))
    (position,) = after["data"]["clearinghouseState"]["assetPositions"]
    assert position["position"]["coin"] == "ETH"


def test_user_fundings_snapshot_is_empty(ws_info: Info, wallet: MakeWallet) -> None:
    user = wallet()
    messages = subscribe(ws_info, {"type": "userFundings", "user": user.address})
    first = messages.get(timeout=TIMEOUT)
    assert first["data"] == {"isSnapshot": True, "user": user.address.lower(), "fundings": []}


def test_ledger_updates_snapshot_then_live(ws_info: Info, wallet: MakeWallet, exchange: MakeExchange) -> None:
    user, friend = wallet("1000"), wallet(None)
    ex = exchange(user)
    ex.usd_transfer(10, friend.address)
    messages = subscribe(ws_info, {"type": "userNonFundingLedgerUpdates", "user": user.address})
    snapshot = messages.get(timeout=TIMEOUT)["data"]
    assert snapshot["isSnapshot"] is True
    assert [u["delta"]["type"] for u in snapshot["nonFundingLedgerUpdates"]] == ["send"]
    ex.withdraw_from_bridge(20, user.address)
    live = messages.get(timeout=TIMEOUT)["data"]
    assert live["isSnapshot"] is False
    assert [u["delta"]["type"] for u in live["nonFundingLedgerUpdates"]] == ["withdraw"]
