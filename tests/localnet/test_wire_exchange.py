"""The /exchange pipeline around the core: nonces, expiry, signature domains, malformed bodies, stats,
reset, and the HTTP answers for /info."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from eth_account.signers.local import LocalAccount
from hyperliquid.utils.error import ClientError
from hyperliquid.utils.signing import sign_l1_action
from hyperliquid.utils.types import Cloid

from adapters.localnet.server import LocalnetThread
from tests.localnet.conftest import Control, MakeExchange, MakeWallet, only_status, post_control

NOOP: dict[str, Any] = {"type": "noop"}


def signed_noop(account: LocalAccount, nonce: int, *, mainnet: bool = False) -> dict[str, Any]:
    signature = sign_l1_action(account, NOOP, None, nonce, None, mainnet)
    return {
        "action": NOOP,
        "nonce": nonce,
        "signature": signature,
        "vaultAddress": None,
        "expiresAfter": None,
    }


def post_exchange(url: str, body: Any) -> requests.Response:
    return requests.post(f"{url}/exchange", json=body, timeout=10)


def test_nonce_reuse_is_refused(
    wallet: MakeWallet, exchange: MakeExchange, monkeypatch: pytest.MonkeyPatch, clock: Any
) -> None:
    fixed = clock()
    monkeypatch.setattr("hyperliquid.exchange.get_timestamp_ms", lambda: fixed)
    ex = exchange(wallet())
    assert ex.schedule_cancel(None)["status"] == "ok"
    assert ex.schedule_cancel(None) == {
        "status": "err",
        "response": f"Invalid nonce: duplicate nonce {fixed}",
    }


def test_replayed_body_is_refused_and_stale_nonce_too(url: str, wallet: MakeWallet, clock: Any) -> None:
    user = wallet()
    body = signed_noop(user, clock())
    assert post_exchange(url, body).json()["status"] == "ok"
    assert post_exchange(url, body).json()["response"].startswith("Invalid nonce: duplicate nonce")
    stale = post_exchange(url, signed_noop(user, clock() - 3 * 24 * 3600 * 1000)).json()
    assert stale["response"].startswith("Invalid nonce: nonce too low")


def test_expired_action(wallet: MakeWallet, exchange: MakeExchange, clock: Any) -> None:
    ex = exchange(wallet())
    ex.set_expires_after(clock() - 1_000)
    assert ex.market_open("ETH", True, 0.1) == {"status": "err", "response": "Action already expired"}
    ex.set_expires_after(clock() + 60_000)
    assert "filled" in only_status(ex.market_open("ETH", True, 0.1))


def test_mainnet_signatures_only_with_signatures_any(wallet: MakeWallet, url: str, clock: Any) -> None:
    user = wallet()
    refused = post_exchange(url, signed_noop(user, clock(), mainnet=True)).json()
    assert refused["status"] == "err"
    assert "does not exist" in refused["response"]  # it recovers to some other, unknown address
    with LocalnetThread(signatures="any") as permissive:
        post_control(permissive.url, {"type": "fund", "user": user.address, "usdc": "100"})
        for mainnet in (True, False):
            answer = post_exchange(permissive.url, signed_noop(user, clock() + mainnet, mainnet=mainnet))
            assert answer.json() == {"status": "ok", "response": {"type": "default"}}


@pytest.mark.parametrize("body", ["not json", [], {"action": {"type": "noop"}, "nonce": 1}])
def test_malformed_exchange_body_is_http_422(url: str, body: Any) -> None:
    data = body if isinstance(body, str) else None
    response = requests.post(f"{url}/exchange", data=data, json=None if data else body, timeout=10)
    assert response.status_code == 422
    assert response.text == "Failed to deserialize the JSON body into the target type"


def test_info_errors_are_http_422_through_the_sdk(url: str) -> None:
    response = requests.post(f"{url}/info", json={"type": "noSuchThing"}, timeout=10)
    assert response.status_code == 422
    assert response.text
    from hyperliquid.api import API

    with pytest.raises(ClientError) as caught:
        API(url).post("/info", {"type": "noSuchThing"})
    assert caught.value.status_code == 422


def test_stats_list_every_exchange_request(
    wallet: MakeWallet, exchange: MakeExchange, control: Control, url: str
) -> None:
    user = wallet()
    ex = exchange(user)
    cloid = Cloid.from_int(42)
    ex.market_open("ETH", True, 0.1, cloid=cloid)
    ex.order("ETH", True, 0.00001, 1000.0, {"limit": {"tif": "Gtc"}})  # refused: invalid size
    post_exchange(url, {"nonsense": True})
    report = control({"type": "stats"})
    assert report["count"] == 3
    placed, refused, malformed = report["requests"]
    assert placed["signer"] == placed["user"] == user.address.lower()
    assert (placed["action"], placed["cloids"], placed["outcome"]) == ("order", [cloid.to_raw()], "ok")
    assert (refused["outcome"], refused["error"]) == ("rejected", "Order has invalid size.")
    assert (malformed["httpStatus"], malformed["outcome"], malformed["signer"]) == (422, "http422", None)
    assert placed["recvNs"] <= refused["recvNs"] <= malformed["recvNs"]
    assert [r["recvNs"] for r in control({"type": "stats", "since": 2})["requests"]] == [malformed["recvNs"]]


def test_agent_requests_are_recorded_with_signer_and_account(
    wallet: MakeWallet, exchange: MakeExchange, control: Control
) -> None:
    from eth_account import Account

    master = wallet()
    _, key = exchange(master).approve_agent()
    agent = Account.from_key(key)
    exchange(agent, account_address=master.address).market_open("ETH", True, 0.1)
    approval, order = control({"type": "stats"})["requests"]
    assert (approval["action"], approval["signer"]) == ("approveAgent", master.address.lower())
    assert (order["signer"], order["user"]) == (agent.address.lower(), master.address.lower())


def test_reset_forgets_accounts_stats_and_nonces(
    wallet: MakeWallet, exchange: MakeExchange, control: Control, url: str, clock: Any
) -> None:
    user = wallet()
    body = signed_noop(user, clock())
    assert post_exchange(url, body).json()["status"] == "ok"
    control({"type": "fault", "rate429": "0.5"})
    control({"type": "reset"})
    assert control({"type": "stats"})["count"] == 0
    assert control({"type": "fault", "latencyMs": 0})["faults"]["rate429"] == 0
    assert "does not exist" in post_exchange(url, body).json()["response"]  # the account is gone
    control({"type": "fund", "user": user.address, "usdc": "100"})
    assert post_exchange(url, body).json()["status"] == "ok"  # and its nonces with it


@pytest.mark.parametrize("deep", ["[" * 5_000, '{"a":' * 5_000 + "1" + "}" * 5_000, "[" * 200_000])
def test_deeply_nested_bodies_are_refused_on_every_endpoint(url: str, deep: str) -> None:
    """JSON nested thousands deep made the parser raise RecursionError (HTTP 500, a traceback in the
    localnet's log), or crash the process where the recursion limit had been raised."""
    headers = {"Content-Type": "application/json"}
    answers = {
        path: requests.post(f"{url}{path}", data=deep, headers=headers, timeout=10)
        for path in ("/info", "/exchange", "/_localnet")
    }
    assert answers["/info"].status_code == answers["/exchange"].status_code == 422
    assert answers["/exchange"].text == "Failed to deserialize the JSON body into the target type"
    assert answers["/_localnet"].status_code == 400
    assert answers["/_localnet"].json() == {"error": "body: expected a JSON object with a 'type'"}
    assert requests.post(f"{url}/info", json={"type": "allMids"}, timeout=10).status_code == 200
