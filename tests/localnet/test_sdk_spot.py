"""Issue 16 item 3: spot basics through the unmodified SDK: `spotMeta` with the venue's pairs
(`PURR/USDC`, `@1`), spot balances (`spotClearinghouseState`), spot `Ioc` and `Gtc` orders."""

from __future__ import annotations

from decimal import Decimal

from hyperliquid.info import Info

from tests.localnet.conftest import Control, MakeExchange, MakeWallet, only_status


def spot_balances(info: Info, user: str) -> dict[str, tuple[Decimal, Decimal]]:
    return {
        b["coin"]: (Decimal(b["total"]), Decimal(b["hold"])) for b in info.spot_user_state(user)["balances"]
    }


def test_spot_meta_lists_the_venues_pairs(info: Info) -> None:
    assert info.name_to_asset("PURR/USDC") == 10_000
    assert info.name_to_asset("@1") == 10_001
    assert info.name_to_coin["HFUN/USDC"] == "@1"  # a non-canonical pair is named @index
    meta, ctxs = info.spot_meta_and_asset_ctxs()
    assert [c["coin"] for c in ctxs] == [p["name"] for p in meta["universe"]]
    assert {"PURR/USDC", "@1"} <= set(info.all_mids())


def test_spot_ioc_buy_then_sell(wallet: MakeWallet, exchange: MakeExchange, info: Info) -> None:
    user = wallet("1000")
    ex = exchange(user)
    ex.usd_class_transfer(100, False)
    filled = only_status(ex.market_open("PURR/USDC", True, 200))["filled"]
    assert Decimal(filled["totalSz"]) == 200
    balances = spot_balances(info, user.address)
    assert balances["PURR"] == (Decimal(200), Decimal(0))
    (fill,) = info.user_fills(user.address)
    cost = Decimal(fill["px"]) * Decimal(fill["sz"]) + Decimal(fill["fee"])
    assert balances["USDC"][0] == Decimal(100) - cost
    assert (fill["coin"], fill["dir"], fill["startPosition"]) == ("PURR/USDC", "Buy", "0.0")
    assert info.user_state(user.address)["assetPositions"] == []  # spot is not a perp position
    only_status(ex.market_open("PURR/USDC", False, 200))
    assert "PURR" not in spot_balances(info, user.address)
    assert info.user_fills(user.address)[0]["dir"] == "Sell"


def test_spot_gtc_rests_holding_its_quote_then_fills_when_the_mid_crosses(
    wallet: MakeWallet, exchange: MakeExchange, info: Info, control: Control
) -> None:
    user = wallet("1000")
    ex = exchange(user)
    ex.usd_class_transfer(30, False)
    oid = only_status(ex.order("PURR/USDC", True, 100, 0.19, {"limit": {"tif": "Gtc"}}))["resting"]["oid"]
    assert [o["coin"] for o in info.open_orders(user.address)] == ["PURR/USDC"]
    total, hold = spot_balances(info, user.address)["USDC"]
    assert (total, hold) == (Decimal(30), Decimal("19.00855"))  # 19 and the most fee it can pay
    assert ex.usd_class_transfer(11, True)["status"] == "err"  # held USDC cannot leave
    control({"type": "setMids", "mids": {"PURR/USDC": "0.18"}})
    assert info.query_order_by_oid(user.address, oid)["order"]["status"] == "filled"
    assert spot_balances(info, user.address)["PURR"] == (Decimal(100), Decimal(0))
    (fill,) = info.user_fills(user.address)
    assert (fill["px"], fill["crossed"]) == ("0.19", False)


def test_spot_gtc_cancel_releases_the_hold(wallet: MakeWallet, exchange: MakeExchange, info: Info) -> None:
    user = wallet("1000")
    ex = exchange(user)
    ex.usd_class_transfer(30, False)
    oid = only_status(ex.order("@1", True, 4, 2.5, {"limit": {"tif": "Gtc"}}))["resting"]["oid"]
    assert spot_balances(info, user.address)["USDC"][1] > 0
    assert only_status(ex.cancel("@1", oid)) == "success"
    assert spot_balances(info, user.address)["USDC"] == (Decimal(30), Decimal(0))


def test_spot_order_without_balance_is_refused_and_changes_nothing(
    wallet: MakeWallet, exchange: MakeExchange, info: Info
) -> None:
    user = wallet("1000")  # perp USDC only
    answer = only_status(exchange(user).market_open("PURR/USDC", True, 100))
    assert answer == {"error": "Insufficient spot balance asset=10000"}
    assert info.spot_user_state(user.address)["balances"] == []
    assert info.open_orders(user.address) == []


def test_selling_more_than_held_is_refused(wallet: MakeWallet, exchange: MakeExchange, info: Info) -> None:
    user = wallet("1000")
    ex = exchange(user)
    ex.usd_class_transfer(100, False)
    only_status(ex.market_open("PURR/USDC", True, 100))
    answer = only_status(ex.market_open("PURR/USDC", False, 101))
    assert answer == {"error": "Insufficient spot balance asset=10000"}
    assert spot_balances(info, user.address)["PURR"][0] == Decimal(100)
