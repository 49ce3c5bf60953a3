"""Issue 2 acceptance: the unmodified hyperliquid SDK trades on the localnet by `base_url`."""

from __future__ import annotations

from decimal import Decimal

from eth_account import Account
from hyperliquid.info import Info
from hyperliquid.utils.types import Cloid

from tests.localnet.conftest import (
    Control,
    MakeExchange,
    MakeWallet,
    SteppedClock,
    only_status,
)


def position_size(info: Info, user: str, coin: str) -> Decimal:
    for item in info.user_state(user)["assetPositions"]:
        if item["position"]["coin"] == coin:
            return Decimal(item["position"]["szi"])
    return Decimal(0)


def below_mid(info: Info, coin: str, fraction: str = "0.9") -> float:
    """A resting buy price: well under the mid, on the tick grid (5 significant figures)."""
    mid = Decimal(info.all_mids()[coin])
    return float(f"{mid * Decimal(fraction):.5g}")


def test_market_open_then_close(wallet: MakeWallet, exchange: MakeExchange, info: Info) -> None:
    user = wallet()
    ex = exchange(user)
    filled = only_status(ex.market_open("ETH", True, 0.1))["filled"]
    assert Decimal(filled["totalSz"]) == Decimal("0.1")
    assert position_size(info, user.address, "ETH") == Decimal("0.1")
    closed = only_status(ex.market_close("ETH"))["filled"]
    assert Decimal(closed["totalSz"]) == Decimal("0.1")
    assert position_size(info, user.address, "ETH") == 0


def test_limit_order_rests_then_cancels(wallet: MakeWallet, exchange: MakeExchange, info: Info) -> None:
    user = wallet()
    ex = exchange(user)
    oid = only_status(ex.order("ETH", True, 0.1, below_mid(info, "ETH"), {"limit": {"tif": "Gtc"}}))[
        "resting"
    ]["oid"]
    assert [o["oid"] for o in info.open_orders(user.address)] == [oid]
    assert only_status(ex.cancel("ETH", oid)) == "success"
    assert info.open_orders(user.address) == []


def test_cancel_and_query_by_cloid(wallet: MakeWallet, exchange: MakeExchange, info: Info) -> None:
    user = wallet()
    ex = exchange(user)
    cloid = Cloid.from_str("0x0000000000000000000000000000abcd")
    px = below_mid(info, "SOL")
    oid = only_status(ex.order("SOL", True, 1, px, {"limit": {"tif": "Gtc"}}, cloid=cloid))["resting"]["oid"]
    by_cloid = info.query_order_by_cloid(user.address, cloid)
    assert by_cloid["status"] == "order"
    assert by_cloid["order"]["order"]["oid"] == oid
    assert by_cloid["order"]["order"]["cloid"] == cloid.to_raw()
    assert by_cloid["order"]["status"] == "open"
    assert only_status(ex.cancel_by_cloid("SOL", cloid)) == "success"
    assert info.query_order_by_cloid(user.address, cloid)["order"]["status"] == "canceled"
    assert info.query_order_by_oid(user.address, oid)["order"]["status"] == "canceled"


def test_update_leverage_applies_to_the_next_position(
    wallet: MakeWallet, exchange: MakeExchange, info: Info
) -> None:
    user = wallet()
    ex = exchange(user)
    assert ex.update_leverage(7, "ETH")["status"] == "ok"
    ex.market_open("ETH", True, 0.1)
    (position,) = info.user_state(user.address)["assetPositions"]
    assert position["position"]["leverage"] == {"type": "cross", "value": 7}
    refused = ex.update_leverage(26, "ETH")  # ETH's maximum is 25
    assert refused["status"] == "err"


def test_schedule_cancel_cancels_open_orders_when_due(
    wallet: MakeWallet, exchange: MakeExchange, info: Info, clock: SteppedClock
) -> None:
    user = wallet()
    ex = exchange(user)
    ex.order("ETH", True, 0.1, below_mid(info, "ETH"), {"limit": {"tif": "Gtc"}})
    assert ex.schedule_cancel(clock() + 1_000)["status"] == "err"  # under 5 s ahead: refused
    assert ex.schedule_cancel(clock() + 10_000)["status"] == "ok"
    assert len(info.open_orders(user.address)) == 1
    clock.offset_ms += 11_000  # the localnet's time passes the deadline
    assert info.open_orders(user.address) == []
    assert ex.schedule_cancel(None)["status"] == "ok"  # unsetting is always accepted


def test_agent_trades_for_its_master(wallet: MakeWallet, exchange: MakeExchange, info: Info) -> None:
    master = wallet()
    approval, agent_key = exchange(master).approve_agent("copier")
    assert approval["status"] == "ok", approval
    agent = Account.from_key(agent_key)
    agent_exchange = exchange(agent, account_address=master.address)
    assert only_status(agent_exchange.market_open("ETH", False, 0.05))["filled"]["totalSz"] == "0.05"
    assert position_size(info, master.address, "ETH") == Decimal("-0.05")
    assert info.user_state(agent.address)["assetPositions"] == []
    assert info.user_role(agent.address)["role"] == "agent"


def test_vault_order(wallet: MakeWallet, exchange: MakeExchange, info: Info, control: Control) -> None:
    leader = wallet()
    vault = control({"type": "createVault", "leader": leader.address, "usdc": "50000"})["vault"]
    ex = exchange(leader, vault_address=vault)
    assert "filled" in only_status(ex.market_open("BTC", True, 0.01))
    assert position_size(info, vault, "BTC") == Decimal("0.01")
    assert position_size(info, leader.address, "BTC") == 0


def test_sub_account_order(wallet: MakeWallet, exchange: MakeExchange, info: Info, control: Control) -> None:
    master = wallet()
    created = exchange(master).create_sub_account("desk-1")
    assert created["status"] == "ok", created
    sub = created["response"]["data"]
    control({"type": "fund", "user": sub, "usdc": "5000"})
    ex = exchange(master, vault_address=sub)
    assert "filled" in only_status(ex.market_open("SOL", True, 2))
    assert position_size(info, sub, "SOL") == 2
    assert position_size(info, master.address, "SOL") == 0


def venue_error(text: str, asset: int) -> set[str]:
    """The venue appends ` asset=N` to some order errors (e.g. the $10 minimum); accept either form."""
    return {text, f"{text} asset={asset}"}


def test_order_errors_worded_as_the_venue(wallet: MakeWallet, exchange: MakeExchange, info: Info) -> None:
    ex = exchange(wallet())
    eth = 1  # ETH's asset index in meta.universe
    mid = float(info.all_mids()["ETH"])
    gtc = {"limit": {"tif": "Gtc"}}
    cases = [
        (0.00001, below_mid(info, "ETH"), False, "Order has invalid size."),  # ETH lots are 0.0001
        (0.1, 2999.123, False, "Order has invalid price."),  # 7 significant figures
        (0.001, below_mid(info, "ETH"), False, "Order must have minimum value of $10."),
        (0.1, below_mid(info, "ETH"), True, "Reduce only order would increase position."),
    ]
    for size, px, reduce_only, text in cases:
        status = only_status(ex.order("ETH", True, size, px, gtc, reduce_only=reduce_only))
        assert status["error"] in venue_error(text, eth)
    poor = exchange(wallet("100"))
    refused = only_status(poor.order("ETH", True, 1.0, float(f"{mid * 0.99:.5g}"), gtc))
    assert refused["error"] in venue_error("Insufficient margin to place order.", eth)


def test_unknown_signer_is_refused(wallet: MakeWallet, exchange: MakeExchange) -> None:
    stranger = wallet(usdc=None)
    answer = exchange(stranger).market_open("ETH", True, 0.1)
    assert answer == {
        "status": "err",
        "response": f"User or API Wallet {stranger.address.lower()} does not exist.",
    }


def test_modify_moves_a_resting_order(wallet: MakeWallet, exchange: MakeExchange, info: Info) -> None:
    user = wallet()
    ex = exchange(user)
    gtc = {"limit": {"tif": "Gtc"}}
    oid = only_status(ex.order("ETH", True, 0.1, below_mid(info, "ETH"), gtc))["resting"]["oid"]
    new_px = below_mid(info, "ETH", "0.8")
    assert ex.modify_order(oid, "ETH", True, 0.2, new_px, gtc)["status"] == "ok"
    (order,) = info.open_orders(user.address)
    assert (Decimal(order["limitPx"]), Decimal(order["sz"])) == (Decimal(str(new_px)), Decimal("0.2"))


def test_stop_loss_fires_when_the_mid_crosses_it(
    wallet: MakeWallet, exchange: MakeExchange, info: Info, control: Control
) -> None:
    user = wallet()
    ex = exchange(user)
    control({"type": "setMids", "mids": {"SOL": "150"}})
    ex.market_open("SOL", True, 2)
    stop = {"trigger": {"triggerPx": 140.0, "isMarket": True, "tpsl": "sl"}}
    assert "resting" in only_status(ex.order("SOL", False, 2, 133.0, stop, reduce_only=True))
    control({"type": "setMids", "mids": {"SOL": "145"}})
    assert position_size(info, user.address, "SOL") == 2
    control({"type": "setMids", "mids": {"SOL": "139"}})
    assert position_size(info, user.address, "SOL") == 0
