"""Signer recovery with the SDK's helpers, for bodies built exactly as the SDK builds them."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from hyperliquid.utils.signing import (
    OrderRequest,
    order_request_to_order_wire,
    order_wires_to_order_action,
    sign_agent,
    sign_l1_action,
)

from adapters.localnet.auth import (
    MalformedRequest,
    SignatureError,
    candidate_domains,
    parse_signed_request,
    recover_signer,
)

WALLET = Account.from_key("0x" + "11" * 32)
ADDRESS = WALLET.address.lower()
VAULT = "0x" + "ab" * 20
NONCE = 1_700_000_000_000


def order_action() -> dict[str, Any]:
    order: OrderRequest = {
        "coin": "ETH",
        "is_buy": True,
        "sz": 0.1,
        "limit_px": 3000.5,
        "order_type": {"limit": {"tif": "Gtc"}},
        "reduce_only": False,
    }
    action: dict[str, Any] = order_wires_to_order_action([order_request_to_order_wire(order, 1)])
    return action


def l1_body(*, mainnet: bool = False, vault: str | None = None, expires: int | None = None) -> dict[str, Any]:
    action = order_action()
    signature = sign_l1_action(WALLET, action, vault, NONCE, expires, mainnet)
    return {
        "action": action,
        "nonce": NONCE,
        "signature": signature,
        "vaultAddress": vault,
        "expiresAfter": expires,
    }


def approve_agent_body(name: str | None, *, mainnet: bool = False) -> dict[str, Any]:
    """As `Exchange.approve_agent` builds it: the name is signed as "" and dropped when absent."""
    action: dict[str, Any] = {
        "type": "approveAgent",
        "agentAddress": Account.from_key("0x" + "22" * 32).address,
        "agentName": name or "",
        "nonce": NONCE,
    }
    signature = sign_agent(WALLET, action, mainnet)
    if name is None:
        del action["agentName"]
    return {
        "action": action,
        "nonce": NONCE,
        "signature": signature,
        "vaultAddress": None,
        "expiresAfter": None,
    }


@pytest.mark.parametrize("mainnet", [False, True])
def test_l1_signer_recovered_in_its_own_domain_only(mainnet: bool) -> None:
    request = parse_signed_request(l1_body(mainnet=mainnet))
    assert recover_signer(request, mainnet=mainnet) == ADDRESS
    assert recover_signer(request, mainnet=not mainnet) != ADDRESS


def test_vault_and_expiry_are_part_of_what_is_signed() -> None:
    body = l1_body(vault=VAULT, expires=NONCE + 60_000)
    assert recover_signer(parse_signed_request(body), mainnet=False) == ADDRESS
    tampered = {**body, "vaultAddress": "0x" + "cd" * 20}
    assert recover_signer(parse_signed_request(tampered), mainnet=False) != ADDRESS
    tampered = {**body, "expiresAfter": NONCE + 60_001}
    assert recover_signer(parse_signed_request(tampered), mainnet=False) != ADDRESS


def test_a_changed_action_recovers_someone_else() -> None:
    body = l1_body()
    body["action"]["orders"][0]["s"] = "0.2"
    assert recover_signer(parse_signed_request(body), mainnet=False) != ADDRESS


@pytest.mark.parametrize("name", [None, "copier"])
@pytest.mark.parametrize("mainnet", [False, True])
def test_approve_agent_recovers_the_master(name: str | None, mainnet: bool) -> None:
    body = approve_agent_body(name, mainnet=mainnet)
    request = parse_signed_request(body)
    assert recover_signer(request, mainnet=mainnet) == ADDRESS
    assert recover_signer(request, mainnet=not mainnet) != ADDRESS
    assert body["action"]["hyperliquidChain"] == ("Mainnet" if mainnet else "Testnet")  # not mutated


def test_candidate_domains() -> None:
    testnet = parse_signed_request(approve_agent_body(None))
    mainnet = parse_signed_request(approve_agent_body(None, mainnet=True))
    assert list(candidate_domains("testnet", mainnet)) == [False]
    assert list(candidate_domains("any", testnet)) == [False, True]
    assert list(candidate_domains("any", mainnet)) == [True, False]


@pytest.mark.parametrize(
    "change",
    [
        {"action": None},
        {"action": {"orders": []}},
        {"nonce": "1"},
        {"nonce": True},
        {"signature": {"r": "0x1", "s": "0x2"}},
        {"vaultAddress": 5},
        {"expiresAfter": "soon"},
    ],
)
def test_malformed_envelopes_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(MalformedRequest, match="Failed to deserialize"):
        parse_signed_request({**l1_body(), **change})


def test_unreadable_signature() -> None:
    body = l1_body()
    body["signature"] = {"r": "0xzz", "s": "0x00", "v": 27}
    with pytest.raises(SignatureError, match=r"^Unable to recover signer\.$"):
        recover_signer(parse_signed_request(body), mainnet=False)


def test_user_signed_actions_the_localnet_does_not_execute_are_named_as_unsupported() -> None:
    body = l1_body()
    body["action"] = {"type": "spotSend", "destination": VAULT, "token": "PURR", "amount": "1", "time": NONCE}
    with pytest.raises(SignatureError, match="spotSend is not supported"):
        recover_signer(parse_signed_request(body), mainnet=False)
