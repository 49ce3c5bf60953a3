"""Reading a signed /exchange body and recovering its signer with the SDK's own helpers.

L1 actions (orders, cancels, leverage, ...) sign a "phantom agent" over the msgpack hash of the action,
nonce, vault and expiry; user-signed actions (`approveAgent`, transfers, `approveBuilderFee`) sign
EIP-712 typed data with a `hyperliquidChain` field. The domain is testnet's (`is_mainnet=False`, how
the SDK signs for any URL that is not mainnet's); with `signatures="any"` mainnet's is accepted too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from hyperliquid.utils.signing import (
    USD_CLASS_TRANSFER_SIGN_TYPES,
    USD_SEND_SIGN_TYPES,
    WITHDRAW_SIGN_TYPES,
    recover_agent_or_user_from_l1_action,
    recover_user_from_user_signed_action,
)

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


def recover_signer(request: SignedRequest, *, mainnet: bool) -> str:
    """The lower-case address that signed `request` in the given domain. A signature made in another
    domain recovers to some unrelated address, which the core then refuses as an unknown user."""
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
        elif request.action_type in USER_SIGNED_ACTIONS:
            raise SignatureError(
                f"Action type {request.action_type} is not supported by the localnet "
                f"(user-signed actions supported: {', '.join(USER_SIGNED_TYPES)})"
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
    except SignatureError:
        raise
    except Exception:  # a malformed r/s/v or action the hash cannot encode
        raise SignatureError("Unable to recover signer.") from None
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
