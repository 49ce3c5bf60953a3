"""Matching, resting, cancels, cloids, modify, reduce-only and trigger orders against the core."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hyperliquid.utils.types import Cloid

from adapters.localnet.rules import fmt
from adapters.localnet.types import InfoError
from tests.localnet.core_helpers import ALICE, BOB, Net, error_of, limit_wire, oid_of

RICH = Decimal(100_000_000)


@pytest.fixture
def net() -> Net:
    net = Net()
    net.ex.fund(ALICE, RICH)
    net.ex.fund(BOB, RICH)
    return net


def test_a_large_ioc_walks_the_book_and_the_rest_is_cancelled(net: Net) -> None:
    asks = net.book("ETH")[1]
    limit = Decimal(asks[2]["px"])  # three levels are within the limit price
    available = sum(Decimal(level["sz"]) for level in asks[:3])
    status = net.order(ALICE, "ETH", True, float(available + 50), float(limit), "Ioc")
    assert status["filled"]["totalSz"] == str(available)
    fills = net.info({"type": "userFills", "user": ALICE})
    assert len(fills) == 3
    assert {f["oid"] for f in fills} == {status["filled"]["oid"]}
    assert len({f["time"] for f in fills}) == 1 and len({f["hash"] for f in fills}) == 1
    assert sorted(Decimal(f["px"]) for f in fills) == [Decimal(level["px"]) for level in asks[:3]]
    assert all(f["crossed"] and f["side"] == "B" and f["feeToken"] == "USDC" for f in fills)
    assert [f["dir"] for f in reversed(fills)] == ["Open Long"] * 3
    assert len({f["tid"] for f in fills}) == 3
    # what was left was cancelled: the order's record shows the unfilled rest
    record = net.info({"type": "orderStatus", "user": ALICE, "oid": status["filled"]["oid"]})
    assert record["order"]["status"] == "canceled"
    assert Decimal(record["order"]["order"]["sz"]) == 50
    assert net.book("ETH")[1][0]["px"] == asks[3]["px"]


def test_avg_px_is_the_volume_weighted_price(net: Net) -> None:
    asks = net.book("SOL")[1]
    size = Decimal(asks[0]["sz"]) + Decimal(asks[1]["sz"])
    status = net.order(ALICE, "SOL", True, float(size), float(Decimal(asks[1]["px"])), "Ioc")
    notional = sum(Decimal(a["sz"]) * Decimal(a["px"]) for a in asks[:2])
    assert abs(Decimal(status["filled"]["avgPx"]) - notional / size) < Decimal("0.0001")


def test_a_gtc_rests_and_fills_as_maker_when_the_mid_crosses_it(net: Net) -> None:
    status = net.order(ALICE, "ETH", True, 1, 2995.1, "Gtc", cloid=Cloid.from_int(1))
    oid = status["resting"]["oid"]
    assert status["resting"]["cloid"] == Cloid.from_int(1).to_raw()
    [row] = net.info({"type": "openOrders", "user": ALICE})
    assert row == {
        "coin": "ETH",
        "side": "B",
        "limitPx": "2995.1",
        "sz": "1.0",
        "oid": oid,
        "timestamp": net.clock.now,
        "origSz": "1.0",
        "cloid": Cloid.from_int(1).to_raw(),
    }
    assert {"px": "2995.1", "sz": "1.0", "n": 1} in net.book("ETH")[0]
    net.ex.set_mids({"ETH": Decimal(2996)})
    assert net.info({"type": "openOrders", "user": ALICE}) != []  # not crossed yet
    net.clock.now += 1000
    net.ex.set_mids({"ETH": Decimal(2994)})
    assert net.info({"type": "openOrders", "user": ALICE}) == []
    [fill] = net.info({"type": "userFills", "user": ALICE})
    assert (fill["px"], fill["sz"], fill["crossed"], fill["oid"]) == ("2995.1", "1.0", False, oid)
    assert fill["fee"] == "0.449265"  # maker: 0.015 % of 2995.1
    status_now = net.info({"type": "orderStatus", "user": ALICE, "oid": Cloid.from_int(1).to_raw()})
    assert status_now["order"]["status"] == "filled"
    assert status_now["order"]["statusTimestamp"] == net.clock.now


def test_a_marketable_gtc_crosses_first_and_rests_the_rest(net: Net) -> None:
    ask = net.book("SOL")[1][0]
    status = net.order(BOB, "SOL", True, float(Decimal(ask["sz"]) + 1), float(Decimal(ask["px"])), "Gtc")
    assert "resting" in status
    [row] = net.info({"type": "frontendOpenOrders", "user": BOB})
    assert row["sz"] == "1.0" and row["origSz"] == fmt(Decimal(ask["sz"]) + 1)
    assert net.szi(BOB, "SOL") == Decimal(ask["sz"])


def test_users_trade_with_each_other_through_the_book(net: Net) -> None:
    bid = net.book("ETH")[0][0]
    resting = net.order(ALICE, "ETH", False, 2, float(Decimal(bid["px"]) + Decimal("0.1")), "Gtc")
    assert "resting" in resting
    taken = net.order(BOB, "ETH", False, 1, 2900, "Ioc")  # sells: ALICE's ask is not on that side
    assert taken["filled"]["totalSz"] == "1.0"
    bought = net.order(BOB, "ETH", True, 1, 3100, "Ioc")
    assert bought["filled"]["avgPx"] == fmt(Decimal(bid["px"]) + Decimal("0.1"))
    [maker_fill] = net.info({"type": "userFills", "user": ALICE})
    assert maker_fill["crossed"] is False and maker_fill["side"] == "A" and maker_fill["dir"] == "Open Short"
    bob_fills = net.info({"type": "userFills", "user": BOB})
    assert bob_fills[0]["tid"] == maker_fill["tid"] and bob_fills[0]["hash"] == maker_fill["hash"]
    assert net.szi(ALICE, "ETH") == -1


def test_alo_that_would_cross_is_refused_and_otherwise_rests(net: Net) -> None:
    bid, ask = net.book("ETH")[0][0]["px"], net.book("ETH")[1][0]["px"]
    error = error_of(net.order(ALICE, "ETH", True, 1, 3100, "Alo"))
    assert error == f"Post only order would have immediately matched, bbo was {bid}@{ask}. asset=1"
    assert "resting" in net.order(ALICE, "ETH", True, 1, 2990, "Alo")


def test_cancel_by_oid_and_by_cloid_and_their_misses(net: Net) -> None:
    a = oid_of(net.order(ALICE, "ETH", True, 1, 2900, "Gtc"))
    net.order(ALICE, "ETH", True, 1, 2901, "Gtc", cloid=Cloid.from_int(9))
    body = net.act(ALICE, {"type": "cancel", "cancels": [{"a": 1, "o": a}, {"a": 1, "o": 12345}]})
    assert body == {
        "status": "ok",
        "response": {
            "type": "cancel",
            "data": {
                "statuses": [
                    "success",
                    {"error": "Order was never placed, already canceled, or filled. asset=1"},
                ]
            },
        },
    }
    by_cloid = {"type": "cancelByCloid", "cancels": [{"asset": 1, "cloid": Cloid.from_int(9).to_raw()}]}
    assert net.act(BOB, by_cloid)["response"]["data"]["statuses"][0] == {
        "error": "Order was never placed, already canceled, or filled. asset=1"
    }  # BOB cannot cancel ALICE's order
    assert net.act(ALICE, by_cloid)["response"]["data"]["statuses"] == ["success"]
    assert net.act(ALICE, by_cloid)["response"]["data"]["statuses"][0] == {
        "error": "Order was never placed, already canceled, or filled. asset=1"
    }
    assert net.info({"type": "openOrders", "user": ALICE}) == []
    assert net.info({"type": "orderStatus", "user": ALICE, "oid": a})["order"]["status"] == "canceled"


def test_a_cloid_is_unique_per_user(net: Net) -> None:
    cloid = Cloid.from_int(42)
    assert "resting" in net.order(ALICE, "ETH", True, 1, 2900, "Gtc", cloid=cloid)
    assert "Duplicate cloid" in error_of(net.order(ALICE, "ETH", True, 1, 2901, "Gtc", cloid=cloid))
    assert "resting" in net.order(BOB, "ETH", True, 1, 2901, "Gtc", cloid=cloid)  # another user's space
    assert len(net.info({"type": "openOrders", "user": ALICE})) == 1


def test_order_status_unknown_and_malformed(net: Net) -> None:
    assert net.info({"type": "orderStatus", "user": ALICE, "oid": 1}) == {"status": "unknownOid"}
    assert net.info({"type": "orderStatus", "user": ALICE, "oid": Cloid.from_int(5).to_raw()}) == {
        "status": "unknownOid"
    }
    with pytest.raises(InfoError, match="oid"):
        net.info({"type": "orderStatus", "user": ALICE, "oid": "nope"})


def test_modify_replaces_an_open_order_and_refuses_a_closed_one(net: Net) -> None:
    cloid = Cloid.from_int(3)
    old = oid_of(net.order(ALICE, "ETH", True, 1, 2900, "Gtc", cloid=cloid))
    modify = {"type": "modify", "oid": old, "order": limit_wire(1, True, 2, 2910, "Gtc", cloid=cloid)}
    assert net.act(ALICE, modify) == {"status": "ok", "response": {"type": "default"}}
    [row] = net.info({"type": "openOrders", "user": ALICE})
    assert (row["limitPx"], row["sz"], row["cloid"]) == ("2910.0", "2.0", cloid.to_raw())
    assert net.info({"type": "orderStatus", "user": ALICE, "oid": old})["order"]["status"] == "canceled"
    assert net.act(ALICE, modify) == {"status": "err", "response": "Cannot modify canceled or filled order"}
    batch = {
        "type": "batchModify",
        "modifies": [{"oid": cloid.to_raw(), "order": limit_wire(1, True, 1, 2920)}],
    }
    [status] = net.act(ALICE, batch)["response"]["data"]["statuses"]
    assert "resting" in status


def test_reduce_only_never_increases_a_position(net: Net) -> None:
    error = error_of(net.order(ALICE, "ETH", False, 1, 2900, "Ioc", reduce_only=True))
    assert error == "Reduce only order would increase position. asset=1"
    net.order(ALICE, "ETH", True, 1, 3100, "Ioc")
    assert error_of(net.order(ALICE, "ETH", True, 1, 3100, "Ioc", reduce_only=True)).startswith("Reduce only")
    capped = net.order(ALICE, "ETH", False, 3, 2900, "Ioc", reduce_only=True)  # larger than the position
    assert capped["filled"]["totalSz"] == "1.0"
    assert net.szi(ALICE, "ETH") == 0


def test_a_resting_reduce_only_order_is_cancelled_once_the_position_is_gone(net: Net) -> None:
    net.order(ALICE, "ETH", True, 1, 3100, "Ioc")
    tp = oid_of(net.order(ALICE, "ETH", False, 1, 3200, "Gtc", reduce_only=True))
    net.order(ALICE, "ETH", False, 1, 2900, "Ioc")  # closed by hand
    assert (
        net.info({"type": "orderStatus", "user": ALICE, "oid": tp})["order"]["status"] == "reduceOnlyCanceled"
    )


def test_a_stop_market_waits_for_its_price_then_closes_with_slippage(net: Net) -> None:
    net.order(ALICE, "ETH", True, 1, 3100, "Ioc")
    status = net.trigger(ALICE, "ETH", False, 1, 2700, 2900, "sl", market=True)
    oid = oid_of(status)
    [row] = net.info({"type": "frontendOpenOrders", "user": ALICE})
    assert (
        row["isTrigger"]
        and row["orderType"] == "Stop Market"
        and row["triggerCondition"] == "Price below 2900.0"
    )
    net.ex.set_mids({"ETH": Decimal(2950)})
    assert net.szi(ALICE, "ETH") == 1
    net.ex.set_mids({"ETH": Decimal(2890)})
    assert net.szi(ALICE, "ETH") == 0
    fill = net.info({"type": "userFills", "user": ALICE})[0]
    assert fill["oid"] == oid and fill["dir"] == "Close Long" and Decimal(fill["px"]) < 2890
    updates = [
        u["status"]
        for e in net.events
        if e.channel == "orderUpdates"
        for u in e.data
        if u["order"]["oid"] == oid
    ]
    assert updates == ["open", "triggered", "filled"]


def test_a_take_profit_limit_rests_at_its_limit_once_triggered(net: Net) -> None:
    net.order(ALICE, "ETH", True, 1, 3100, "Ioc")
    oid = oid_of(net.trigger(ALICE, "ETH", False, 1, 3150, 3100, "tp", market=False))
    net.ex.set_mids({"ETH": Decimal(3120)})  # triggers; 3150 is above the new mid: it rests
    record = net.info({"type": "orderStatus", "user": ALICE, "oid": oid})["order"]
    assert record["status"] == "open" and record["order"]["orderType"] == "Take Profit Limit"
    net.ex.set_mids({"ETH": Decimal(3151)})
    assert net.info({"type": "orderStatus", "user": ALICE, "oid": oid})["order"]["status"] == "filled"
    assert net.szi(ALICE, "ETH") == 0
    assert Decimal(net.info({"type": "userFills", "user": ALICE})[0]["closedPnl"]) > 0


def test_a_triggered_reduce_only_order_without_a_position_is_cancelled(net: Net) -> None:
    oid = oid_of(net.trigger(ALICE, "ETH", False, 1, 2700, 2900, "sl", market=True))
    net.ex.set_mids({"ETH": Decimal(2800)})
    assert (
        net.info({"type": "orderStatus", "user": ALICE, "oid": oid})["order"]["status"]
        == "reduceOnlyCanceled"
    )
    assert net.szi(ALICE, "ETH") == 0
