"""The localnet's fast signer recovery (coincurve) against the SDK's (eth-account), the reference: for
random L1 actions and every user-signed action the localnet executes, signed by random keys in either
domain, both recover the same address; for malformed signatures both refuse alike."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from hyperliquid.utils.signing import sign_inner, sign_l1_action, user_signed_payload
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.localnet.auth import (
    USER_SIGNED_TYPES,
    SignatureError,
    parse_signed_request,
    recover_signer,
    recover_signer_with_sdk,
)
from tests.unit.layers import imports, modules

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
FAST = settings(max_examples=40, deadline=None)

keys = st.integers(min_value=1, max_value=N - 1).map(lambda k: Account.from_key(k.to_bytes(32, "big")))
lower_addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
u64 = st.integers(min_value=0, max_value=2**64 - 1)
json_leaf = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(max_size=12)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
l1_actions = st.builds(
    lambda kind, extra: {"type": kind, **extra},
    st.sampled_from(["order", "cancel", "updateLeverage", "scheduleCancel", "noop", "vaultTransfer"]),
    st.dictionaries(st.text(min_size=1, max_size=6).filter(lambda k: k != "type"), json_value, max_size=4),
)
# Both the plain forms and the odd ones the fast path hands to the SDK (a vault not 20 bytes long).
vaults = st.none() | lower_addresses | st.binary(max_size=24).map(lambda b: "0x" + b.hex())


def _outcome(request: Any, mainnet: bool, recover: Any) -> str:
    try:
        return str(recover(request, mainnet=mainnet))
    except SignatureError as exc:
        return f"refused: {exc}"


def _same_in_both_domains(body: dict[str, Any]) -> list[str]:
    request = parse_signed_request(body)
    found = []
    for mainnet in (False, True):
        fast = _outcome(request, mainnet, recover_signer)
        assert fast == _outcome(request, mainnet, recover_signer_with_sdk)
        found.append(fast)
    return found


@FAST
@given(
    wallet=keys,
    action=l1_actions,
    nonce=u64,
    vault=vaults,
    expires=st.none() | u64,
    mainnet=st.booleans(),
)
def test_l1_recovery_equals_the_sdks(
    wallet: Any, action: dict[str, Any], nonce: int, vault: str | None, expires: int | None, mainnet: bool
) -> None:
    signature = sign_l1_action(wallet, action, vault, nonce, expires, mainnet)
    body = {
        "action": action,
        "nonce": nonce,
        "signature": signature,
        "vaultAddress": vault,
        "expiresAfter": expires,
    }
    testnet, main = _same_in_both_domains(body)
    assert (main if mainnet else testnet) == wallet.address.lower()


def _field_value(kind: str) -> st.SearchStrategy[Any]:
    return {
        "string": st.text(max_size=16),
        "address": lower_addresses,
        "uint64": u64,
        "bool": st.booleans(),
    }[kind]


@st.composite
def user_signed_bodies(draw: st.DrawFn) -> tuple[dict[str, Any], str, bool]:
    action_type = draw(st.sampled_from(sorted(USER_SIGNED_TYPES)))
    sign_types, primary_type = USER_SIGNED_TYPES[action_type]
    mainnet = draw(st.booleans())
    chain_id = draw(st.sampled_from([0x66EEE, 0xA4B1, 1]) | st.integers(0, 2**64))
    action: dict[str, Any] = {"type": action_type, "signatureChainId": hex(chain_id)}
    for field in sign_types:
        if field["name"] != "hyperliquidChain":
            action[field["name"]] = draw(_field_value(field["type"]))
    if draw(st.booleans()):  # checksummed, as the SDK's users often pass them (the SDK's path)
        for field in sign_types:
            if field["type"] == "address":
                action[field["name"]] = draw(keys).address
    wallet = draw(keys)
    signed = {**action, "hyperliquidChain": "Mainnet" if mainnet else "Testnet"}
    signature = sign_inner(wallet, user_signed_payload(primary_type, sign_types, signed))
    if action_type == "approveAgent" and action["agentName"] == "" and draw(st.booleans()):
        del action["agentName"]  # the SDK posts an unnamed agent without the field
    body = {"action": action, "nonce": 1, "signature": signature, "vaultAddress": None, "expiresAfter": None}
    return body, wallet.address.lower(), mainnet


@FAST
@given(case=user_signed_bodies())
def test_user_signed_recovery_equals_the_sdks(case: tuple[dict[str, Any], str, bool]) -> None:
    body, address, mainnet = case
    testnet, main = _same_in_both_domains(body)
    assert (main if mainnet else testnet) == address


def _hex_word(value: int) -> str:
    return hex(value)


scalars = st.sampled_from([0, 1, N - 1, N, N + 1, 2**256 - 1, 2**256]) | st.integers(0, 2**257)
odd_vs = st.sampled_from([0, 1, 26, 27, 28, 29, 35, 36, 37, -27, True, 27.0, "0x1b", "27", None])
odd_words = (
    scalars.map(_hex_word)
    | scalars.map(lambda v: "0X" + format(v, "X"))
    | scalars.map(lambda v: v)  # an int where a hex string belongs
    | st.sampled_from(["", "0x", "0xg1", "1b", None, "0x" + "0" * 65 + "1"])
)


@settings(max_examples=150, deadline=None)
@given(r=odd_words, s=odd_words, v=odd_vs, user_signed=st.booleans())
def test_a_malformed_signature_is_refused_as_the_sdk_refuses_it(
    r: Any, s: Any, v: Any, user_signed: bool
) -> None:
    if user_signed:
        action: dict[str, Any] = {
            "type": "usdSend",
            "signatureChainId": "0x66eee",
            "destination": "0x" + "ab" * 20,
            "amount": "1",
            "time": 5,
        }
    else:
        action = {"type": "order", "orders": [], "grouping": "na"}
    body = {"action": action, "nonce": 5, "signature": {"r": r, "s": s, "v": v}}
    _same_in_both_domains(body)


def test_out_of_range_signatures_are_refused_by_both() -> None:
    # The cases the property test draws, pinned: r or s outside [1, n), v not 27/28, a word too long.
    action = {"type": "order", "orders": [], "grouping": "na"}
    for r, s, v in [
        (0, 1, 27),
        (1, 0, 27),
        (N, 1, 27),
        (1, N, 28),
        (2**256, 1, 27),
        (1, 1, 29),
        (1, 1, 26),
    ]:
        body = {"action": action, "nonce": 5, "signature": {"r": hex(r), "s": hex(s), "v": v}}
        request = parse_signed_request(body)
        assert _outcome(request, False, recover_signer) == "refused: Unable to recover signer."
        assert _outcome(request, False, recover_signer_with_sdk) == "refused: Unable to recover signer."


def test_the_localnet_takes_only_the_digests_from_the_bots_hyperliquid_adapter() -> None:
    # The localnet is a double of the venue: of the bot's own adapter it shares only the hashing of
    # what is signed (checked against the SDK above), never the client, the signer or its parsing.
    used = {
        name
        for path in modules("adapters/localnet")
        for name in imports(path)
        if name.startswith("adapters.") and not name.startswith("adapters.localnet")
    }
    assert used == {"adapters.hyperliquid.hashing"}
