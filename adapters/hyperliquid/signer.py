"""Fast Hyperliquid signing, bit-identical to hyperliquid-python-sdk's `sign_l1_action`.

The SDK builds an EIP-712 payload dict, encodes it with eth-account and signs it: ~0.3 ms a signature.
Here the digest comes straight from adapters/hyperliquid/hashing.py (three keccaks) and one secp256k1
sign remains.

User-signed actions (`approveAgent`) are rare and go through the SDK's own signer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Protocol, TypedDict

import coincurve
from eth_account import Account
from hyperliquid.utils import signing as sdk_signing

from adapters.hyperliquid.hashing import (
    AGENT_PREFIX,
    DIGEST_PREFIX,
    DOMAIN_SEPARATOR,
    address_bytes,
    keccak256,
    l1_action_hash,
    l1_digest,
    u64,
)

__all__ = [
    "DOMAIN_SEPARATOR",
    "Signature",
    "Signer",
    "SignerKeyError",
    "exchange_body",
    "keccak256",
    "l1_action_hash",
    "l1_digest",
]

# Actions whose `/exchange` body never carries a vault address (as in the SDK's `Exchange._post_action`).
_NO_VAULT_ACTIONS: Final = frozenset({"usdClassTransfer", "sendAsset"})


class Signature(TypedDict):
    """As the SDK returns it and the venue takes it: r and s as minimal 0x-hex, v 27 or 28."""

    r: str
    s: str
    v: int


class SignerKeyError(ValueError):
    """The private key is malformed. The message never contains the key."""


class _SecretLike(Protocol):
    def get_secret_value(self) -> str: ...


def _parse_key(key: str | bytes | _SecretLike) -> coincurve.PrivateKey:
    # Errors are raised `from None`: the original exception or its context could quote the key.
    secret = key if isinstance(key, str | bytes) else key.get_secret_value()
    if isinstance(secret, str):
        text = secret.strip()
        text = text[2:] if text[:2].lower() == "0x" else text
        try:
            secret = bytes.fromhex(text)
        except ValueError:
            raise SignerKeyError("private key must be 32 bytes of hex (64 hex digits, 0x optional)") from None
    if len(secret) != 32:
        raise SignerKeyError(f"private key must be 32 bytes, got {len(secret)}")
    try:
        return coincurve.PrivateKey(secret)
    except ValueError:
        raise SignerKeyError(
            "private key is not a valid secp256k1 scalar (zero, or not below the group order)"
        ) from None


class Signer:
    """A private key, its address and the network it signs for.

    `is_mainnet` picks the phantom agent's source ("a" mainnet, "b" otherwise), as the SDK does with
    `base_url == MAINNET_API_URL`. The key is never shown: not in repr/str, not in error messages.
    """

    __slots__ = ("_agent_prefix", "_key", "address", "is_mainnet")

    def __init__(self, key: str | bytes | _SecretLike, *, is_mainnet: bool) -> None:
        self._key = _parse_key(key)
        self.address: str = Account.from_key(self._key.secret).address
        self.is_mainnet = is_mainnet
        self._agent_prefix = AGENT_PREFIX[is_mainnet]

    def __repr__(self) -> str:
        network = "mainnet" if self.is_mainnet else "testnet"
        return f"Signer(address={self.address}, network={network})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("Signer holds a private key and cannot be pickled or copied")

    def sign_l1(
        self,
        action: Mapping[str, Any],
        nonce: int,
        vault_address: str | None = None,
        expires_after: int | None = None,
    ) -> Signature:
        """Same r, s, v as `sign_l1_action(wallet, action, vault_address, nonce, expires_after, mainnet)`."""
        connection_id = l1_action_hash(action, vault_address, nonce, expires_after)
        digest = keccak256(DIGEST_PREFIX + keccak256(self._agent_prefix + connection_id))
        return self.sign_digest(digest)

    def sign_digest(self, digest: bytes) -> Signature:
        """Sign a 32-byte digest as eth-account's `sign_message` does (RFC 6979, low-s, v = 27 + recid)."""
        sig = self._key.sign_recoverable(digest, hasher=None)  # r(32) ‖ s(32) ‖ recid(1); s is low-s
        return {
            "r": hex(int.from_bytes(sig[:32], "big")),
            "s": hex(int.from_bytes(sig[32:64], "big")),
            "v": 27 + sig[64],
        }

    def sign_l1_body(
        self,
        action: Mapping[str, Any],
        nonce: int,
        vault_address: str | None = None,
        expires_after: int | None = None,
    ) -> dict[str, Any]:
        """Sign `action` and wrap it as the `/exchange` POST body."""
        signature = self.sign_l1(action, nonce, vault_address, expires_after)
        return exchange_body(action, signature, nonce, vault_address, expires_after)

    def sign_approve_agent(
        self, agent_address: str, nonce: int, name: str | None = None
    ) -> tuple[dict[str, Any], Signature]:
        """The SDK's `Exchange.approve_agent` (via its `sign_agent`) for an agent key we hold ourselves."""
        address_bytes(agent_address, "agent_address")
        u64(nonce, "nonce")
        action = {
            "type": "approveAgent",
            "agentAddress": agent_address,
            "agentName": name or "",
            "nonce": nonce,
        }
        signature: Signature = sdk_signing.sign_agent(self._wallet(), action, self.is_mainnet)
        if name is None:  # signed with "" but posted without the field, as the SDK does
            del action["agentName"]
        return action, signature

    def sign_approve_builder_fee(
        self, builder: str, max_fee_rate: str, nonce: int
    ) -> tuple[dict[str, Any], Signature]:
        """The SDK's `Exchange.approve_builder_fee`: `max_fee_rate` a percent string ("0.01%")."""
        address_bytes(builder, "builder")
        u64(nonce, "nonce")
        action = {"maxFeeRate": max_fee_rate, "builder": builder, "nonce": nonce, "type": "approveBuilderFee"}
        signature: Signature = sdk_signing.sign_approve_builder_fee(self._wallet(), action, self.is_mainnet)
        return action, signature

    def _wallet(self) -> Any:
        # Built on demand for the rare user-signed actions, so no long-lived object holds the key twice.
        return Account.from_key(self._key.secret)


def exchange_body(
    action: Mapping[str, Any],
    signature: Signature,
    nonce: int,
    vault_address: str | None = None,
    expires_after: int | None = None,
) -> dict[str, Any]:
    """The SDK's `Exchange._post_action` payload, key for key and in the same order."""
    return {
        "action": action,
        "nonce": nonce,
        "signature": signature,
        "vaultAddress": vault_address if action["type"] not in _NO_VAULT_ACTIONS else None,
        "expiresAfter": expires_after,
    }
