"""Issue 2 acceptance: the websocket feeds, read through the SDK's own `Info(base_url)` subscriptions."""

from __future__ import annotations

import json
import queue
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import websocket
from hyperliquid.info import Info

from tests.localnet.conftest import Control, MakeExchange, MakeWallet

TIMEOUT = 10.0  # generous: these wait for a message, they never measure time

Messages = queue.Queue[dict[str, Any]]


@pytest.fixture
def ws_info(url: str) -> Iterator[Info]:
    info = Info(url, skip_ws=False)
    yield info
    info.disconnect_websocket()
    info.session.close()


def subscribe(info: Info, subscription: dict[str, Any]) -> Messages:
    messages: Messages = queue.Queue()
    info.subscribe(subscription, messages.put)
    return messages


def next_matching(messages: Messages, accept: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first message `accept`s, skipping others (e.g. book updates caused by setup)."""
    while True:
        message = messages.get(timeout=TIMEOUT)
        if accept(message):
            return message


def test_user_fills_snapshot_first_then_live(
    ws_info: Info, wallet: MakeWallet, exchange: MakeExchange
) -> None:
    user = wallet()
    ex = exchange(user)
    ex.market_open("ETH", True, 0.1)
    fills = subscribe(ws_info, {"type": "userFills", "user": user.address})
    snapshot = fills.get(timeout=TIMEOUT)
    assert snapshot["channel"] == "userFills"
    assert snapshot["data"]["isSnapshot"] is True
    assert [f["dir"] for f in snapshot["data"]["fills"]] == ["Open Long"]
    ex.market_close("ETH")
    live = fills.get(timeout=TIMEOUT)
    assert live["data"].get("isSnapshot") in (None, False)
    assert live["data"]["user"] == user.address.lower()
    assert {f["dir"] for f in live["data"]["fills"]} == {"Close Long"}
    assert sum(Decimal(f["sz"]) for f in live["data"]["fills"]) == Decimal("0.1")


def subscribed(info: Info, subscription: dict[str, Any], user: str | None = None) -> Messages:
    """`subscribe`, returning once the venue has it: a `userFills` subscription (of `user`, default the
    subscription's) sent after it on the same connection answers with a snapshot, and the venue reads a
    connection's messages in order (the SDK does not wait for a subscription's ack; an order placed at
    once could beat it, on a loaded machine)."""
    messages = subscribe(info, subscription)
    barrier = subscribe(info, {"type": "userFills", "user": user or subscription["user"]})
    assert barrier.get(timeout=TIMEOUT)["data"]["isSnapshot"] is True
    return messages


def test_order_updates(ws_info: Info, wallet: MakeWallet, exchange: MakeExchange) -> None:
    user = wallet()
    ex = exchange(user)
    updates = subscribed(ws_info, {"type": "orderUpdates", "user": user.address})
    px = float(f"{Decimal(ws_info.all_mids()['ETH']) * Decimal('0.9'):.5g}")
    oid = ex.order("ETH", True, 0.1, px, {"limit": {"tif": "Gtc"}})["response"]["data"]["statuses"][0][
        "resting"
    ]["oid"]
    opened = updates.get(timeout=TIMEOUT)
    assert opened["channel"] == "orderUpdates"
    assert [(u["order"]["oid"], u["status"]) for u in opened["data"]] == [(oid, "open")]
    ex.cancel("ETH", oid)
    cancelled = updates.get(timeout=TIMEOUT)
    assert [(u["order"]["oid"], u["status"]) for u in cancelled["data"]] == [(oid, "canceled")]


def test_user_events_carry_fills(ws_info: Info, wallet: MakeWallet, exchange: MakeExchange) -> None:
    user = wallet()
    events = subscribed(ws_info, {"type": "userEvents", "user": user.address})
    exchange(user).market_open("SOL", False, 1)
    message = events.get(timeout=TIMEOUT)
    assert message["channel"] == "user"
    assert {f["coin"] for f in message["data"]["fills"]} == {"SOL"}


def test_all_mids_and_l2_book_follow_set_mids(ws_info: Info, control: Control) -> None:
    mids = subscribe(ws_info, {"type": "allMids"})
    book = subscribe(ws_info, {"type": "l2Book", "coin": "ETH"})
    first_book = book.get(timeout=TIMEOUT)  # the venue sends the book at once
    assert first_book["data"]["coin"] == "ETH"
    bids, asks = first_book["data"]["levels"]
    assert Decimal(bids[0]["px"]) < Decimal(asks[0]["px"])
    control({"type": "setMids", "mids": {"ETH": "4321"}})
    moved = next_matching(mids, lambda m: Decimal(m["data"]["mids"]["ETH"]) == 4321)
    assert moved["channel"] == "allMids"
    recentred = next_matching(book, lambda m: Decimal(m["data"]["levels"][0][0]["px"]) > 4000)
    bids, asks = recentred["data"]["levels"]
    assert Decimal(bids[0]["px"]) < Decimal(4321) < Decimal(asks[0]["px"])


def test_trades(ws_info: Info, wallet: MakeWallet, exchange: MakeExchange) -> None:
    user = wallet()
    trades = subscribed(ws_info, {"type": "trades", "coin": "BTC"}, user=user.address)
    exchange(user).market_open("BTC", True, 0.01)
    message = trades.get(timeout=TIMEOUT)
    assert message["channel"] == "trades"
    assert {t["coin"] for t in message["data"]} == {"BTC"}
    assert sum(Decimal(t["sz"]) for t in message["data"]) == Decimal("0.01")
    assert all(t["side"] == "B" for t in message["data"])


# --- the raw protocol, below what the SDK exposes (it swallows pongs and acks) ---
@pytest.fixture
def raw_ws(url: str) -> Iterator[websocket.WebSocket]:
    conn = websocket.create_connection("ws" + url[len("http") :] + "/ws", timeout=TIMEOUT)
    assert conn.recv() == "Websocket connection established."
    yield conn
    conn.close()


def test_ping_pong_and_acks(raw_ws: websocket.WebSocket) -> None:
    raw_ws.send(json.dumps({"method": "ping"}))
    assert json.loads(raw_ws.recv()) == {"channel": "pong"}
    subscription = {"type": "trades", "coin": "ETH"}
    for method in ("subscribe", "unsubscribe"):
        raw_ws.send(json.dumps({"method": method, "subscription": subscription}))
        assert json.loads(raw_ws.recv()) == {
            "channel": "subscriptionResponse",
            "data": {"method": method, "subscription": subscription},
        }


@pytest.mark.parametrize(
    ("subscription", "named"),
    [
        ({"type": "userTwapSliceFills", "user": "0x" + "ab" * 20}, "accepted: allMids"),
        ({"type": "candle", "coin": "ETH", "interval": "7m"}, "'interval': one of 1m"),
        ({"type": "candle", "coin": "NOPE", "interval": "1m"}, "NOPE"),
        ({"type": "bbo", "coin": "NOPE"}, "NOPE"),
        ({"type": "candle", "coin": "ETH,1m", "interval": "1m"}, "'coin'"),
        ({"type": "activeAssetData", "user": "0x" + "ab" * 20, "coin": "NOPE"}, "NOPE"),
        ({"type": "userFills"}, "'user'"),
        ({"type": "l2Book", "coin": "NOPE"}, "NOPE"),
    ],
)
def test_bad_subscriptions_get_an_error_message(
    raw_ws: websocket.WebSocket, subscription: dict[str, Any], named: str
) -> None:
    raw_ws.send(json.dumps({"method": "subscribe", "subscription": subscription}))
    answer = json.loads(raw_ws.recv())
    assert answer["channel"] == "error"
    assert named in answer["data"]
