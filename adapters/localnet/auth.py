"""Reading a signed /exchange body and recovering its signer.

L1 actions (orders, cancels, leverage, ...) sign a "phantom agent" over the msgpack hash of the action,
nonce, vault and expiry; user-signed actions (`approveAgent`, transfers, `approveBuilderFee`) sign
EIP-712 typed data with a `hyperliquidChain` field. The domain is testnet's (`is_mainnet=False`, how
the SDK signs for any URL that is not mainnet's); with `signatures="any"` mainnet's is accepted too.

Recovery is on the order path, so it is done directly: the digest from adapters/hyperliquid/hashing.py
(a few keccaks) and one coincurve recovery, ~70 µs where the SDK's helpers (EIP-712 dicts through
eth-account) take ~300 µs. The SDK's helpers stay the reference: a request outside the plain forms the
fast path reads (v not the int 27/28, r/s not 0x-hex strings, a field the encoder does not take as is)
goes to them unchanged, and tests/localnet/test_wire_recovery.py checks that both agree on everything
else, refusals included.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final, Literal

import coincurve
from hyperliquid.utils.signing import (
    USD_CLASS_TRANSFER_SIGN_TYPES,
    USD_SEND_SIGN_TYPES,
    WITHDRAW_SIGN_TYPES,
    recover_agent_or_user_from_l1_action,
    recover_user_from_user_signed_action,
)

from adapters.hyperliquid.hashing import keccak256, l1_action_hash, l1_digest, user_signed_digest

SignatureMode = Literal["testnet", "any"]
SIGNATURE_MODES: tuple[SignatureMode, ...] = ("testnet", "any")

# The field list `hyperliquid.utils.signing.sign_agent` signs (inline there, not exported).
APPROVE_AGENT_SIGN_TYPES = [
    {"name": "hyperliquidChain", "type": "string"},
    {"name": "agentAddress", "type": "address"},
    {"name": "agentName", "type": "string"},
    {"name": "nonce", "type": "uint64"},
]
APPROVE_AGENT_PRIMARY_TYPE = "HyperliquidTransaction:ApproveAgent"
# The field list `hyperliquid.utils.signing.sign_approve_builder_fee` signs (inline there too).
APPROVE_BUILDER_FEE_SIGN_TYPES = [
    {"name": "hyperliquidChain", "type": "string"},
    {"name": "maxFeeRate", "type": "string"},
    {"name": "builder", "type": "address"},
    {"name": "nonce", "type": "uint64"},
]

# The user-signed actions the localnet executes: action type -> (EIP-712 fields, primary type), exactly
# as the SDK's signing helpers define them (domain "HyperliquidSignTransaction", chain id from the
# action's `signatureChainId`, verifying contract 0x0).
USER_SIGNED_TYPES: dict[str, tuple[list[dict[str, str]], str]] = {
    "approveAgent": (APPROVE_AGENT_SIGN_TYPES, APPROVE_AGENT_PRIMARY_TYPE),
    "approveBuilderFee": (APPROVE_BUILDER_FEE_SIGN_TYPES, "HyperliquidTransaction:ApproveBuilderFee"),
    "usdSend": (USD_SEND_SIGN_TYPES, "HyperliquidTransaction:UsdSend"),
    "withdraw3": (WITHDRAW_SIGN_TYPES, "HyperliquidTransaction:Withdraw"),
    "usdClassTransfer": (USD_CLASS_TRANSFER_SIGN_TYPES, "HyperliquidTransaction:UsdClassTransfer"),
}

# Actions the SDK signs as user-signed typed data; the localnet executes those in USER_SIGNED_TYPES.
USER_SIGNED_ACTIONS = frozenset(
    {
        "approveAgent",
        "approveBuilderFee",
        "usdSend",
        "spotSend",
        "withdraw3",
        "usdClassTransfer",
        "sendAsset",
        "tokenDelegate",
        "convertToMultiSigUser",
        "userDexAbstraction",
        "userSetAbstraction",
        "multiSig",
    }
)

# The venue's answer (HTTP 422, plain text) to a body that does not deserialise.
MALFORMED_BODY = "Failed to deserialize the JSON body into the target type"


class MalformedRequest(Exception):
    """The body is not a signed action envelope (answered with HTTP 422, as the venue does)."""


class SignatureError(Exception):
    """The signature cannot be read or the action cannot be signed-checked on the localnet;
    `str(exc)` is the text of the `{"status": "err"}` answer."""


@dataclass(frozen=True, slots=True)
class SignedRequest:
    action: dict[str, Any]
    action_type: str
    nonce: int
    signature: dict[str, Any]
    vault_address: str | None
    expires_after: int | None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_signed_request(body: Any) -> SignedRequest:
    """Check the envelope's shape: `action` object with a string `type`, integer `nonce`, signature
    `{r, s, v}`, optional `vaultAddress` (string or null) and `expiresAfter` (integer or null)."""
    if not isinstance(body, dict):
        raise MalformedRequest(MALFORMED_BODY)
    action, nonce, signature = body.get("action"), body.get("nonce"), body.get("signature")
    vault, expires = body.get("vaultAddress"), body.get("expiresAfter")
    if (
        not isinstance(action, dict)
        or not isinstance(action.get("type"), str)
        or not isinstance(nonce, int)
        or isinstance(nonce, bool)
        or not isinstance(signature, dict)
        or not {"r", "s", "v"} <= signature.keys()
        or not (vault is None or isinstance(vault, str))
        or not (expires is None or _is_int(expires))
    ):
        raise MalformedRequest(MALFORMED_BODY)
    return SignedRequest(action, action["type"], nonce, signature, vault, expires)


def is_user_signed(request: SignedRequest) -> bool:
    return request.action_type in USER_SIGNED_ACTIONS


UNRECOVERABLE = "Unable to recover signer."
_SECP256K1_N: Final = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HEX_WORD: Final = re.compile(r"0x[0-9a-fA-F]{1,64}")


class _NotPlain(Exception):
    """The request is outside the forms the fast recovery reads: the SDK's helpers decide."""


def recover_signer(request: SignedRequest, *, mainnet: bool) -> str:
    """The lower-case address that signed `request` in the given domain. A signature made in another
    domain recovers to some unrelated address, which the core then refuses as an unknown user."""
    if request.action_type in USER_SIGNED_ACTIONS and request.action_type not in USER_SIGNED_TYPES:
        raise SignatureError(
            f"Action type {request.action_type} is not supported by the localnet "
            f"(user-signed actions supported: {', '.join(USER_SIGNED_TYPES)})"
        )
    try:
        return _recover_fast(request, mainnet)
    except _NotPlain:
        return recover_signer_with_sdk(request, mainnet=mainnet)


def _signed_action(request: SignedRequest, mainnet: bool) -> dict[str, Any]:
    """The user-signed action as the SDK signs it: `hyperliquidChain` set from the domain, and an absent
    agent name signed as "" (the SDK deletes the key before posting)."""
    base = {"agentName": ""} if request.action_type == "approveAgent" else {}
    return {**base, **request.action, "hyperliquidChain": "Mainnet" if mainnet else "Testnet"}


def _recover_fast(request: SignedRequest, mainnet: bool) -> str:
    signature = _signature_bytes(request.signature)  # first: a malformed signature costs no hashing
    try:
        if request.action_type in USER_SIGNED_TYPES:
            sign_types, primary_type = USER_SIGNED_TYPES[request.action_type]
            chain = request.action.get("signatureChainId")
            if not isinstance(chain, str):
                raise _NotPlain
            message = _signed_action(request, mainnet)
            digest = user_signed_digest(primary_type, sign_types, message, int(chain, 16))
        else:
            connection_id = l1_action_hash(
                request.action, request.vault_address, request.nonce, request.expires_after
            )
            digest = l1_digest(connection_id, mainnet)
    except Exception:  # an odd vault, nonce, field or chain id: the SDK's encoding is the reference
        raise _NotPlain from None
    try:
        public = coincurve.PublicKey.from_signature_and_message(signature, digest, hasher=None)
    except Exception:  # no point on the curve has this r
        raise SignatureError(UNRECOVERABLE) from None
    return "0x" + keccak256(public.format(compressed=False)[1:])[-20:].hex()


def _signature_bytes(signature: dict[str, Any]) -> bytes:
    """r ‖ s ‖ recovery id, for v the int 27 or 28 and r, s as 0x-hex; refuses r or s outside
    [1, n) as eth-keys does."""
    r, s, v = signature["r"], signature["s"], signature["v"]
    if not (
        type(v) is int
        and v in (27, 28)
        and isinstance(r, str)
        and isinstance(s, str)
        and _HEX_WORD.fullmatch(r)
        and _HEX_WORD.fullmatch(s)
    ):
        raise _NotPlain
    r_int, s_int = int(r, 16), int(s, 16)
    if not (0 < r_int < _SECP256K1_N and 0 < s_int < _SECP256K1_N):
        raise SignatureError(UNRECOVERABLE)
    return r_int.to_bytes(32, "big") + s_int.to_bytes(32, "big") + bytes([v - 27])


def recover_signer_with_sdk(request: SignedRequest, *, mainnet: bool) -> str:
    """`recover_signer` through the SDK's own helpers (eth-account): the reference, and the path for
    requests the fast recovery does not read."""
    try:
        if request.action_type in USER_SIGNED_TYPES:
            sign_types, primary_type = USER_SIGNED_TYPES[request.action_type]
            # Copy: the SDK helper writes `hyperliquidChain` into the dict. The SDK signs an absent
            # agent name as "" and then deletes the key before posting.
            action = (
                {"agentName": "", **request.action}
                if request.action_type == "approveAgent"
                else dict(request.action)
            )
            address = recover_user_from_user_signed_action(
                action, request.signature, sign_types, primary_type, mainnet
            )
        else:
            address = recover_agent_or_user_from_l1_action(
                request.action,
                request.signature,
                request.vault_address,
                request.nonce,
                request.expires_after,
                mainnet,
            )
    except Exception:  # a malformed r/s/v or action the hash cannot encode
        raise SignatureError(UNRECOVERABLE) from None
    return str(address).lower()


def candidate_domains(mode: SignatureMode, request: SignedRequest) -> Iterator[bool]:
    """The `is_mainnet` values to try, most likely first. A user-signed action names its chain."""
    if mode == "testnet":
        yield False
    elif request.action.get("hyperliquidChain") == "Mainnet":
        yield True
        yield False
    else:
        yield False
        yield True
