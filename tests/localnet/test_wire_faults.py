"""Injected faults (HTTP 429 / 5xx, latency, dropped websockets, rejected orders, partial fills), the
control endpoint's refusals, and the loopback-only rule."""

from __future__ import annotations

import json
import socket
from decimal import Decimal
from typing import Any

import pytest
import requests
import websocket
from eth_account import Account
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from hyperliquid.utils.error import ClientError, ServerError

from adapters.localnet.server import LocalnetThread, is_loopback
from tests.localnet.conftest import Control, MakeExchange, MakeWallet, only_status, post_control


def test_http_429_and_5xx_reach_the_sdk_as_its_errors(control: Control, info: Info) -> None:
    control({"type": "fault", "rate429": 1})
    with pytest.raises(ClientError) as too_many:
        info.all_mids()
    assert too_many.value.status_code == 429
    control({"type": "fault", "rate429": 0, "rate5xx": "1", "status5xx": 503})
    with pytest.raises(ServerError) as unavailable:
        info.all_mids()
    assert unavailable.value.status_code == 503
    control({"type": "fault", "clear": True})
    assert "ETH" in info.all_mids()


def test_fault_scope_limits_errors_to_one_endpoint(
    control: Control, info: Info, wallet: MakeWallet, exchange: MakeExchange
) -> None:
    ex = exchange(wallet())
    control({"type": "fault", "rate429": 1, "scope": "exchange"})
    assert "ETH" in info.all_mids()
    with pytest.raises(ClientError):
        ex.market_open("ETH", True, 0.1)
    report = control({"type": "stats"})["requests"]
    assert [r["outcome"] for r in report] == ["http429"]


def test_faults_are_seeded() -> None:
    def pattern(seed: int) -> list[int]:
        with LocalnetThread(seed=seed) as net:
            post_control(net.url, {"type": "fault", "rate429": "0.5"})
            info_url = f"{net.url}/info"
            return [
                requests.post(info_url, json={"type": "allMids"}, timeout=10).status_code for _ in range(24)
            ]

    first = pattern(5)
    assert first == pattern(5)
    assert set(first) == {200, 429}


def test_added_latency_outlasts_a_short_client_timeout(control: Control, url: str) -> None:
    control({"type": "fault", "latencyMs": 3000, "scope": "info"})
    with pytest.raises(requests.Timeout):
        requests.post(f"{url}/info", json={"type": "allMids"}, timeout=0.3)
    control({"type": "fault", "latencyMs": 0})
    assert requests.post(f"{url}/info", json={"type": "allMids"}, timeout=10).ok


def raw_connection(url: str) -> websocket.WebSocket:
    conn = websocket.create_connection("ws" + url[len("http") :] + "/ws", timeout=10)
    assert conn.recv() == "Websocket connection established."
    return conn


def assert_dropped(conn: websocket.WebSocket) -> None:
    """The server closes: websocket-client reports a close frame or a closed socket."""
    try:
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            while True:
                opcode, _ = conn.recv_data(control_frame=True)
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    raise websocket.WebSocketConnectionClosedException("closed by the server")
    finally:
        conn.shutdown()  # type: ignore[no-untyped-call]  # no closing handshake: the server is gone


def test_drop_websockets_now(control: Control, url: str) -> None:
    conns = [raw_connection(url) for _ in range(2)]
    assert control({"type": "fault", "dropWsNow": True})["droppedWs"] == 2
    for conn in conns:
        assert_dropped(conn)


def test_drop_websockets_at_a_rate(control: Control, url: str) -> None:
    conn = raw_connection(url)
    control({"type": "fault", "dropWsRate": 1})
    conn.send(json.dumps({"method": "ping"}))  # the answer is the message that gets dropped
    assert_dropped(conn)


def test_reject_next_orders(control: Control, wallet: MakeWallet, exchange: MakeExchange) -> None:
    ex = exchange(wallet())
    control({"type": "fault", "rejectNext": 2, "rejectMessage": "Venue is busy (test)."})
    for _ in range(2):
        assert only_status(ex.market_open("ETH", True, 0.1)) == {"error": "Venue is busy (test)."}
    assert "filled" in only_status(ex.market_open("ETH", True, 0.1))


def test_partial_fill_ratio(control: Control, wallet: MakeWallet, exchange: MakeExchange) -> None:
    ex = exchange(wallet())
    control({"type": "fault", "partialFillRatio": "0.5"})
    filled = only_status(ex.market_open("ETH", True, 0.2))["filled"]
    assert Decimal(filled["totalSz"]) == Decimal("0.1")
    control({"type": "fault", "clear": True})
    assert Decimal(only_status(ex.market_open("ETH", True, 0.2))["filled"]["totalSz"]) == Decimal("0.2")


def fill_pushes(conn: websocket.WebSocket, count: int) -> list[int]:
    """The next `count` live userFills pushes (each as its newest fill's tid), skipping the rest."""
    pushes: list[int] = []
    while len(pushes) < count:
        message = json.loads(conn.recv())
        if message.get("channel") == "userFills" and not message["data"].get("isSnapshot"):
            pushes.append(max(fill["tid"] for fill in message["data"]["fills"]))
    return pushes


def fills_socket(url: str, user: str) -> websocket.WebSocket:
    conn = raw_connection(url)
    conn.send(json.dumps({"method": "subscribe", "subscription": {"type": "userFills", "user": user}}))
    while json.loads(conn.recv()).get("data", {}).get("isSnapshot") is not True:
        pass  # the ack, then the (empty) snapshot
    return conn


def trade_tids(ex: Any, times: int) -> list[int]:
    """`times` market buys; each one's fill tids, in execution order."""
    tids: list[int] = []
    for _ in range(times):
        only_status(ex.market_open("ETH", True, 0.01))
        tids.append(max(fill["tid"] for fill in ex.info.user_fills(ex.wallet.address)))
    return tids


def test_held_fill_pushes_wait_for_release(
    control: Control, url: str, wallet: MakeWallet, exchange: MakeExchange
) -> None:
    trader = wallet()
    ex = exchange(trader)
    conn = fills_socket(url, trader.address)
    assert control({"type": "fault", "holdWsFills": 1})["faults"]["holdWsFills"] == 1
    first, second = trade_tids(ex, 2)
    assert fill_pushes(conn, 1) == [second]  # the first is held: the client sees a gap
    answer = control({"type": "fault", "releaseWsFills": True})
    assert answer["releasedWsFills"] == 1 and answer["faults"]["heldWsFills"] == 0
    assert fill_pushes(conn, 1) == [first]
    conn.close()


def test_reordered_fill_pushes_come_newest_first(
    control: Control, url: str, wallet: MakeWallet, exchange: MakeExchange
) -> None:
    trader = wallet()
    ex = exchange(trader)
    conn = fills_socket(url, trader.address)
    control({"type": "fault", "reorderWsFills": True})
    tids = trade_tids(ex, 4)
    assert fill_pushes(conn, 4) == [tids[1], tids[0], tids[3], tids[2]]
    conn.close()


def test_clearing_the_faults_sends_what_was_held(
    control: Control, url: str, wallet: MakeWallet, exchange: MakeExchange
) -> None:
    trader = wallet()
    ex = exchange(trader)
    conn = fills_socket(url, trader.address)
    control({"type": "fault", "reorderWsFills": True})
    (tid,) = trade_tids(ex, 1)
    assert control({"type": "fault", "clear": True})["faults"]["heldWsFills"] == 0
    assert fill_pushes(conn, 1) == [tid]
    conn.close()


def test_duplicated_fill_pushes_are_seeded() -> None:
    def pattern(seed: int) -> list[int]:
        with LocalnetThread(seed=seed) as net:
            post_control(net.url, {"type": "fault", "duplicateWsFills": "0.5"})
            trader = Account.create()
            post_control(net.url, {"type": "fund", "user": trader.address, "usdc": "10000"})
            ex = Exchange(trader, base_url=net.url)
            conn = fills_socket(net.url, trader.address)
            trade_tids(ex, 6)
            post_control(net.url, {"type": "fault", "duplicateWsFills": 0})
            (marker,) = trade_tids(ex, 1)  # sent once, after every earlier push
            pushes: list[int] = []
            while marker not in pushes:
                pushes += fill_pushes(conn, 1)
            conn.close()
            ex.session.close()
            ex.info.session.close()
            return pushes

    first = pattern(3)
    assert first == pattern(3)
    assert 7 < len(first) < 13  # some pushes came twice, not all
    assert {first.count(tid) for tid in first} == {1, 2} and first == sorted(first)


@pytest.mark.parametrize(
    ("message", "named"),
    [
        ({"type": "fly"}, "type: expected one of fund, setMids"),
        ({"type": "fund", "user": "0x12", "usdc": "1"}, "user: expected a 0x-prefixed"),
        ({"type": "fund", "user": "0x" + "1" * 40, "usdc": "-5"}, "usdc: expected a positive number"),
        ({"type": "fund", "user": "0x" + "1" * 40, "usdc": "1", "extra": 1}, "unknown field(s) extra"),
        ({"type": "setMids", "mids": {"XYZ": "1"}}, "mids: unknown coin 'XYZ'; accepted:"),
        ({"type": "setMids", "mids": {"ETH": "abc"}}, "mids.ETH: expected a decimal number"),
        ({"type": "fault", "rate429": 2}, "rate429: expected a number at most 1"),
        ({"type": "fault", "status5xx": 404}, "status5xx: expected one of 500, 502, 503, 504"),
        ({"type": "fault", "scope": "ws"}, "scope: expected one of all, exchange, info"),
        ({"type": "fault"}, "fault: give at least one of"),
        ({"type": "fault", "holdWsFills": -1}, "holdWsFills: expected an integer from 0"),
        ({"type": "fault", "reorderWsFills": "yes"}, "reorderWsFills: expected true or false"),
        ({"type": "fault", "duplicateWsFills": "1.5"}, "duplicateWsFills: expected a number at most 1"),
        ({"type": "priceWalk", "intervalMs": -1}, "intervalMs: expected an integer from 0"),
        ({"type": "stats", "since": "x"}, "since: expected an integer"),
    ],
)
def test_bad_control_messages_are_http_400_naming_the_field(url: str, message: Any, named: str) -> None:
    response = post_control(url, message)
    assert response.status_code == 400
    assert named in response.json()["error"]


def test_a_refused_fault_message_changes_nothing(control: Control, url: str) -> None:
    assert post_control(url, {"type": "fault", "rate429": "0.5", "rate5xx": 7}).status_code == 400
    assert control({"type": "fault", "latencyMs": 0})["faults"]["rate429"] == 0


def test_advance_and_price_walk(control: Control, info: Info) -> None:
    before = info.all_mids()
    after = control({"type": "advance", "steps": 5})["mids"]
    assert after != {coin: before[coin] for coin in after}
    assert Decimal(info.all_mids()["ETH"]) == Decimal(after["ETH"])
    assert control({"type": "priceWalk", "intervalMs": 50}) == {"status": "ok", "intervalMs": 50}
    assert control({"type": "priceWalk", "intervalMs": 0}) == {"status": "ok", "intervalMs": 0}


def test_loopback_predicate() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("::ffff:127.0.0.1")
    assert not is_loopback("10.1.2.3") and not is_loopback("::ffff:192.168.1.5")
    assert not is_loopback(None) and not is_loopback("garbage")


def outward_address() -> str | None:
    """This machine's address on its default route, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: routing only
        except OSError:
            return None
        address: str = probe.getsockname()[0]
    return None if address.startswith("127.") else address


@pytest.mark.parametrize("allow_remote", [False, True])
def test_non_loopback_clients_are_refused_unless_allowed(allow_remote: bool) -> None:
    address = outward_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to connect from")
    with LocalnetThread(host="0.0.0.0", allow_remote=allow_remote) as net:
        port = net.url.rsplit(":", 1)[1]
        remote = requests.post(f"http://{address}:{port}/info", json={"type": "allMids"}, timeout=10)
        local = requests.post(f"http://127.0.0.1:{port}/info", json={"type": "allMids"}, timeout=10)
    assert local.status_code == 200
    assert remote.status_code == (200 if allow_remote else 403)
    if not allow_remote:
        assert "--allow-remote" in remote.text
