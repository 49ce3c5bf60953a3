"""Accounts: margin, leverage, positions, fees, scheduleCancel, agents, sub-accounts, vaults, events."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hyperliquid.utils.signing import order_wires_to_order_action
from hyperliquid.utils.types import Cloid

from adapters.localnet.types import ExchangeError, InfoError
from tests.localnet.core_helpers import ALICE, BOB, CAROL, Net, error_of, limit_wire, oid_of

OK = {"status": "ok", "response": {"type": "default"}}


@pytest.fixture
def net() -> Net:
    net = Net()
    net.ex.fund(ALICE, Decimal(10_000))
    return net


def test_margin_is_checked_against_leverage(net: Net) -> None:
    # 20x cross by default: $10,000 carries at most $200,000 of ETH
    assert (
        error_of(net.order(ALICE, "ETH", True, 70, 3100, "Ioc"))
        == "Insufficient margin to place order. asset=1"
    )
    assert net.act(ALICE, {"type": "updateLeverage", "asset": 1, "isCross": True, "leverage": 25}) == OK
    assert "filled" in net.order(ALICE, "ETH", True, 70, 3100, "Ioc")
    pos = net.position(ALICE, "ETH")
    assert pos is not None and pos["leverage"] == {"type": "cross", "value": 25} and pos["maxLeverage"] == 25


def test_resting_orders_reserve_margin(net: Net) -> None:
    assert "resting" in net.order(ALICE, "ETH", True, 60, 2990, "Gtc")  # reserves about $8,970 at 20x
    assert error_of(net.order(ALICE, "ETH", True, 10, 2990, "Gtc")).startswith("Insufficient margin")
    assert Decimal(net.state(ALICE)["withdrawable"]) < 1100


def test_leverage_above_the_market_maximum_and_type_switches_are_refused(net: Net) -> None:
    too_high = {"type": "updateLeverage", "asset": 0, "isCross": True, "leverage": 41}
    assert net.act(ALICE, too_high) == {"status": "err", "response": "Invalid leverage value."}
    assert net.act(ALICE, {"type": "updateLeverage", "asset": 0, "isCross": True, "leverage": 40}) == OK
    assert (
        "Unknown asset 17"
        in net.act(ALICE, {"type": "updateLeverage", "asset": 17, "isCross": True, "leverage": 2})["response"]
    )
    net.order(ALICE, "BTC", True, 0.01, 61000, "Ioc")
    switch = {"type": "updateLeverage", "asset": 0, "isCross": False, "leverage": 10}
    assert net.act(ALICE, switch) == {
        "status": "err",
        "response": "Cannot switch leverage type with open position.",
    }


def test_default_leverage_is_twenty_cross_capped_at_the_market_max(net: Net) -> None:
    net.order(ALICE, "ETH", True, 1, 3100, "Ioc")
    net.order(ALICE, "ARB", True, 100, 0.85, "Ioc")
    assert net.held(ALICE, "ETH")["leverage"] == {"type": "cross", "value": 20}
    assert net.held(ALICE, "ARB")["leverage"] == {"type": "cross", "value": 10}


def test_isolated_position_and_margin_updates(net: Net) -> None:
    assert net.act(ALICE, {"type": "updateLeverage", "asset": 1, "isCross": False, "leverage": 10}) == OK
    net.order(ALICE, "ETH", True, 1, 3100, "Ioc")
    pos = net.position(ALICE, "ETH")
    assert pos is not None and pos["leverage"]["type"] == "isolated" and "rawUsd" in pos["leverage"]
    assert Decimal(pos["marginUsed"]) == pytest.approx(Decimal("300.02"), abs=Decimal("0.5"))
    state = net.state(ALICE)
    assert state["crossMarginSummary"]["totalNtlPos"] == "0.0"
    assert Decimal(state["marginSummary"]["totalMarginUsed"]) == Decimal(pos["marginUsed"])
    add = {"type": "updateIsolatedMargin", "asset": 1, "isBuy": True, "ntli": 100_000_000}  # $100
    assert net.act(ALICE, add) == OK
    assert Decimal(net.held(ALICE, "ETH")["marginUsed"]) == Decimal(pos["marginUsed"]) + 100
    remove_too_much = {"type": "updateIsolatedMargin", "asset": 1, "isBuy": True, "ntli": -350_000_000}
    assert net.act(ALICE, remove_too_much)["status"] == "err"
    on_cross = {"type": "updateIsolatedMargin", "asset": 0, "isBuy": True, "ntli": 1_000_000}
    assert net.act(ALICE, on_cross) == {"status": "err", "response": "Position does not use isolated margin."}


def test_position_fields_and_account_value_move_with_the_mid(net: Net) -> None:
    status = net.order(ALICE, "ETH", True, 2, 3100, "Ioc")
    entry = Decimal(status["filled"]["avgPx"])
    fee = Decimal(net.info({"type": "userFills", "user": ALICE})[0]["fee"])
    assert fee == (2 * entry * Decimal("0.00045")).quantize(Decimal("0.000001"))  # taker fee
    net.ex.set_mids({"ETH": Decimal(3100)})
    pos = net.position(ALICE, "ETH")
    assert pos is not None
    assert Decimal(pos["szi"]) == 2 and Decimal(pos["entryPx"]) == entry
    assert Decimal(pos["positionValue"]) == 6200
    assert Decimal(pos["unrealizedPnl"]) == 2 * (3100 - entry)
    assert Decimal(pos["marginUsed"]) == 310
    assert Decimal(pos["returnOnEquity"]) == pytest.approx(
        2 * (3100 - entry) / (2 * entry / 20), rel=Decimal("1e-6")
    )
    assert pos["cumFunding"] == {"allTime": "0.0", "sinceOpen": "0.0", "sinceChange": "0.0"}
    state = net.state(ALICE)
    value = Decimal(state["marginSummary"]["accountValue"])
    assert value == 10_000 - fee + 2 * (3100 - entry)
    assert state["marginSummary"] == state["crossMarginSummary"]
    assert Decimal(state["marginSummary"]["totalRawUsd"]) == value - 6200
    assert Decimal(state["crossMaintenanceMarginUsed"]) == 6200 / Decimal(50)
    assert state["time"] == net.clock.now
    net.ex.set_mids({"ETH": Decimal(2900)})
    assert Decimal(net.state(ALICE)["marginSummary"]["accountValue"]) == value - 400


def test_liquidation_price_of_a_leveraged_position(net: Net) -> None:
    net.act(ALICE, {"type": "updateLeverage", "asset": 1, "isCross": True, "leverage": 25})
    net.order(ALICE, "ETH", True, 60, 3100, "Ioc")
    pos = net.position(ALICE, "ETH")
    assert pos is not None and pos["liquidationPx"] is not None
    liq = Decimal(pos["liquidationPx"])
    assert 2800 < liq < 3000  # about $10,000 of equity over 60 ETH, less maintenance margin
    net.order(ALICE, "ETH", False, 60, 2900, "Ioc")
    net.order(ALICE, "ETH", True, 0.1, 3100, "Ioc")  # tiny position: no liquidation price
    assert net.held(ALICE, "ETH")["liquidationPx"] is None


def test_close_and_flip_report_direction_and_closed_pnl(net: Net) -> None:
    net.order(ALICE, "SOL", True, 10, 160, "Ioc")
    net.ex.set_mids({"SOL": Decimal(155)})
    net.order(ALICE, "SOL", False, 25, 140, "Ioc")  # closes 10, opens 15 short
    flip, opened = (
        net.info({"type": "userFills", "user": ALICE})[0],
        net.info({"type": "userFills", "user": ALICE})[-1],
    )
    assert opened["dir"] == "Open Long" and flip["dir"] == "Long > Short"
    assert flip["startPosition"] == "10.0"
    entry = Decimal(opened["px"])
    assert Decimal(flip["closedPnl"]) == 10 * (Decimal(flip["px"]) - entry)
    assert net.szi(ALICE, "SOL") == -15
    net.order(ALICE, "SOL", True, 15, 170, "Ioc")
    assert net.info({"type": "userFills", "user": ALICE})[0]["dir"] == "Close Short"


def test_schedule_cancel_refuses_less_than_five_seconds_and_cancels_all_when_due(net: Net) -> None:
    now = net.clock.now
    too_early = net.act(ALICE, {"type": "scheduleCancel", "time": now + 4_999})
    assert too_early == {
        "status": "err",
        "response": "Scheduled cancel time too early, must be at least 5 seconds from now.",
    }
    assert net.act(ALICE, {"type": "scheduleCancel", "time": now + 5_000}) == OK
    a = oid_of(net.order(ALICE, "ETH", True, 1, 2900, "Gtc"))
    b = oid_of(net.trigger(ALICE, "ETH", False, 1, 2700, 2800, "sl", market=True))
    net.ex.scheduled_cancel_due(now + 4_999)
    assert len(net.info({"type": "openOrders", "user": ALICE})) == 2
    net.ex.scheduled_cancel_due(now + 5_000)
    assert net.info({"type": "openOrders", "user": ALICE}) == []
    for oid in (a, b):
        assert (
            net.info({"type": "orderStatus", "user": ALICE, "oid": oid})["order"]["status"]
            == "scheduledCancel"
        )


def test_schedule_cancel_is_checked_lazily_and_can_be_unset(net: Net) -> None:
    net.act(ALICE, {"type": "scheduleCancel", "time": net.clock.now + 10_000})
    net.order(ALICE, "ETH", True, 1, 2900, "Gtc")
    assert net.act(ALICE, {"type": "scheduleCancel"}) == OK  # unset
    net.clock.now += 20_000
    assert len(net.info({"type": "openOrders", "user": ALICE})) == 1
    net.act(ALICE, {"type": "scheduleCancel", "time": net.clock.now + 6_000})
    net.clock.now += 6_000
    assert net.info({"type": "openOrders", "user": ALICE}) == []  # the info request itself ran the sweep


def test_noop_consumes_only_the_nonce(net: Net) -> None:
    before = net.state(ALICE)
    assert net.act(ALICE, {"type": "noop"}) == OK
    assert net.state(ALICE) == before


def test_agents_act_for_their_master_and_are_replaced_by_name(net: Net) -> None:
    ex = net.ex
    with pytest.raises(ExchangeError, match=f"User or API Wallet {BOB} does not exist."):
        ex.resolve_account(BOB, None)
    approve = {"type": "approveAgent", "agentAddress": BOB, "agentName": "bot", "nonce": 1}
    assert ex.handle_action(ALICE, ALICE, approve, 1) == OK
    assert ex.resolve_account(BOB.upper().replace("0X", "0x"), None) == ALICE
    assert net.info({"type": "userRole", "user": BOB}) == {"role": "agent", "data": {"user": ALICE}}
    assert net.info({"type": "userRole", "user": ALICE}) == {"role": "user"}
    assert net.info({"type": "userRole", "user": CAROL}) == {"role": "missing"}
    replace = {"type": "approveAgent", "agentAddress": CAROL, "agentName": "bot", "nonce": 2}
    assert ex.handle_action(ALICE, ALICE, replace, 2) == OK
    with pytest.raises(ExchangeError, match="does not exist"):
        ex.resolve_account(BOB, None)
    assert ex.resolve_account(CAROL, None) == ALICE
    assert net.info({"type": "extraAgents", "user": ALICE}) == [
        {"name": "bot", "address": CAROL, "validUntil": None}
    ]
    # an agent that trades does so on its master's account
    status = ex.handle_action(ALICE, CAROL, order_action(net), 3)["response"]["data"]["statuses"][0]
    assert "resting" in status
    assert len(net.info({"type": "openOrders", "user": ALICE})) == 1
    unfunded = ex.handle_action(BOB, BOB, {"type": "approveAgent", "agentAddress": ALICE, "nonce": 4}, 4)
    assert unfunded == {"status": "err", "response": f"Must deposit before performing actions. User: {BOB}"}


def order_action(net: Net) -> dict[str, object]:
    action: dict[str, object] = order_wires_to_order_action([limit_wire(net.asset("ETH"), True, 1, 2900)])
    return action


def test_vaults_and_sub_accounts_are_traded_by_their_leader_or_master(net: Net) -> None:
    ex = net.ex
    vault = ex.create_vault(ALICE, Decimal(5_000))
    assert net.info({"type": "userRole", "user": vault}) == {"role": "vault"}
    assert ex.resolve_account(ALICE, vault) == vault
    ex.fund(BOB, Decimal(100))
    with pytest.raises(ExchangeError):
        ex.resolve_account(BOB, vault)
    status = ex.handle_action(vault, ALICE, order_action(net), 1)["response"]["data"]["statuses"][0]
    assert "resting" in status and net.info({"type": "openOrders", "user": ALICE}) == []
    created = ex.handle_action(ALICE, ALICE, {"type": "createSubAccount", "name": "desk"}, 2)
    sub = created["response"]["data"]
    assert created["response"]["type"] == "createSubAccount" and sub.startswith("0x") and len(sub) == 42
    assert net.info({"type": "userRole", "user": sub}) == {"role": "subAccount", "data": {"master": ALICE}}
    assert ex.resolve_account(ALICE, sub) == sub
    assert net.info({"type": "subAccounts", "user": ALICE})[0]["subAccountUser"] == sub


def test_events_follow_the_contract(net: Net) -> None:
    net.events.clear()
    net.order(ALICE, "ETH", True, 1, 3100, "Ioc", cloid=Cloid.from_int(8))
    channels = [e.channel for e in net.events]
    assert channels == ["trades", "l2Book", "orderUpdates", "userFills", "userEvents"]
    by_channel = {e.channel: e for e in net.events}
    fills = by_channel["userFills"]
    assert fills.user == ALICE and fills.data["isSnapshot"] is False and fills.data["user"] == ALICE
    assert by_channel["userEvents"].data == {"fills": fills.data["fills"]}
    assert fills.data["fills"][0]["cloid"] == Cloid.from_int(8).to_raw()
    [update] = by_channel["orderUpdates"].data
    assert update["status"] == "filled" and update["order"]["cloid"] == Cloid.from_int(8).to_raw()
    [trade] = by_channel["trades"].data
    assert trade["users"][0] == ALICE and trade["side"] == "B" and by_channel["trades"].coin == "ETH"
    book = by_channel["l2Book"].data
    assert book["coin"] == "ETH" and book == net.info({"type": "l2Book", "coin": "ETH"})
    net.events.clear()
    net.ex.set_mids({"BTC": Decimal(61000)})
    assert [e.channel for e in net.events] == ["allMids", "l2Book"]
    assert net.events[0].data == {"mids": net.info({"type": "allMids"})}
    assert net.ex.user_fills(ALICE) == net.info({"type": "userFills", "user": ALICE})


def test_fills_by_time_and_aggregation(net: Net) -> None:
    ex = net.ex
    ex.fund(BOB, Decimal(10_000_000))
    first = net.clock.now
    asks = net.book("ETH")[1]
    size = Decimal(asks[0]["sz"]) + Decimal(asks[1]["sz"])
    net.order(BOB, "ETH", True, float(size), 3100, "Ioc")
    net.clock.now += 1_000
    net.order(BOB, "ETH", False, 1, 2900, "Ioc")
    fills = net.info({"type": "userFillsByTime", "user": BOB, "startTime": first})
    assert [f["time"] for f in fills] == [first, first, first + 1_000]  # oldest first
    merged = net.info({"type": "userFillsByTime", "user": BOB, "startTime": first, "aggregateByTime": True})
    assert len(merged) == 2 and Decimal(merged[0]["sz"]) == size
    assert (
        net.info({"type": "userFillsByTime", "user": BOB, "startTime": first + 1, "endTime": first + 999})
        == []
    )
    with pytest.raises(InfoError, match="startTime"):
        net.info({"type": "userFillsByTime", "user": BOB})
    limit = net.info({"type": "userRateLimit", "user": BOB})
    assert limit["nRequestsUsed"] == 2 and limit["nRequestsCap"] == 10_000 + int(Decimal(limit["cumVlm"]))


def test_market_context_and_info_errors(net: Net) -> None:
    meta, ctxs = net.info({"type": "metaAndAssetCtxs"})
    eth = ctxs[1]
    assert meta["universe"][1]["name"] == "ETH"
    assert eth["markPx"] == eth["midPx"] == eth["oraclePx"] == "3000.0" and eth["funding"] == "0.0"
    net.order(ALICE, "ETH", True, 1, 3100, "Ioc")
    assert net.info({"type": "metaAndAssetCtxs"})[1][1]["openInterest"] == "1.0"
    assert net.info({"type": "l2Book", "coin": "NOPE"}) is None
    with pytest.raises(InfoError, match="Unsupported info type"):
        net.info({"type": "nope"})
    with pytest.raises(InfoError, match="user"):
        net.info({"type": "clearinghouseState", "user": "bob"})
    empty = net.info({"type": "clearinghouseState", "user": CAROL})
    assert empty["marginSummary"]["accountValue"] == "0.0" and empty["assetPositions"] == []


def test_injected_faults_reject_orders_and_cap_fills(net: Net) -> None:
    ex = net.ex
    ex.reject_next_orders = 1
    ex.reject_message = "boom"
    assert error_of(net.order(ALICE, "ETH", True, 1, 3100, "Ioc")) == "boom"
    ex.partial_fill_ratio = Decimal("0.5")
    assert net.order(ALICE, "ETH", True, 1, 3100, "Ioc")["filled"]["totalSz"] == "0.5"
    ex.reset()
    assert ex.partial_fill_ratio is None and net.info({"type": "userFills", "user": ALICE}) == []
    with pytest.raises(ExchangeError):
        ex.resolve_account(ALICE, None)  # reset forgets accounts too


def test_unsupported_and_malformed_actions_are_refused_as_a_whole(net: Net) -> None:
    assert "Unsupported action type 'teleport'" in net.act(ALICE, {"type": "teleport"})["response"]
    bad = {"type": "order", "orders": [{"a": 1, "b": True, "p": "1", "s": "1", "r": False, "t": {"bad": 1}}]}
    assert net.act(ALICE, bad)["status"] == "err"
    assert net.info({"type": "historicalOrders", "user": ALICE}) == []
