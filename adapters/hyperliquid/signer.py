"""Fast Hyperliquid signing, bit-identical to hyperliquid-python-sdk's `sign_l1_action`.

The SDK builds an EIP-712 payload dict, encodes it with eth-account and signs it: ~0.3 ms a signature.
An L1 action's typed data is always the same "phantom agent" struct, so the domain separator and the
struct's type hash are constants; per signature only three keccaks and one secp256k1 sign remain.

    connectionId = keccak(msgpack(action) ‖ nonce:u64 ‖ vault flag[‖ vault] [‖ 0x00 ‖ expiresAfter:u64])
    structHash   = keccak(AGENT_TYPEHASH ‖ keccak(source) ‖ connectionId)     source "a" mainnet, "b" else
    digest       = keccak(0x19 0x01 ‖ DOMAIN_SEPARATOR ‖ structHash)

User-signed actions (`approveAgent`) are rare and go through the SDK's own signer.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable, Mapping
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from typing import Any, Final, Protocol, TypedDict

import coincurve
import msgpack
from eth_account import Account
from eth_hash.auto import keccak as _eth_hash_keccak
from hyperliquid.utils import signing as sdk_signing

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
_U64_LIMIT: Final = 1 << 64

Keccak = Callable[[bytes], bytes]


def _load_raw_keccak() -> Keccak | None:
    """keccak-256 straight from pycryptodome's C library (installed with eth-account).

    `eth_hash` wraps the same C code but spends ~7 µs of Python per call building hash objects; with a
    per-thread state and three ctypes calls it is ~2.5 µs. ctypes releases the GIL during a call, hence a
    state per thread. Returns None (callers fall back to eth_hash) if the library is not where expected.
    """
    try:
        import Crypto.Hash

        directory = Path(Crypto.Hash.__file__).parent
        path = next(p for s in EXTENSION_SUFFIXES if (p := directory / f"_keccak{s}").exists())
        lib = ctypes.CDLL(str(path))  # our own handle: setting argtypes never touches pycryptodome's
        init, destroy = lib.keccak_init, lib.keccak_destroy
        reset, absorb, finish = lib.keccak_reset, lib.keccak_absorb, lib.keccak_digest
    except (ImportError, StopIteration, OSError, AttributeError):
        return None
    init.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_size_t, ctypes.c_ubyte]
    destroy.argtypes = [ctypes.c_void_p]
    reset.argtypes = [ctypes.c_void_p]
    absorb.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    finish.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_ubyte]

    class _State:
        __slots__ = ("out", "ptr")

        def __init__(self) -> None:
            self.ptr = ctypes.c_void_p()
            # capacity 64 bytes, 24 rounds: keccak-256 (Ethereum's, padding 0x01, not SHA3's 0x06).
            if init(ctypes.byref(self.ptr), 64, 24) != 0:
                raise MemoryError("keccak_init failed")
            self.out = ctypes.create_string_buffer(32)

        def __del__(self) -> None:
            destroy(self.ptr)

    local = threading.local()

    def raw_keccak(data: bytes) -> bytes:
        try:
            state: _State = local.state
        except AttributeError:
            state = local.state = _State()
        reset(state.ptr)
        absorb(state.ptr, data, len(data))
        finish(state.ptr, state.out, 32, 0x01)
        return state.out.raw

    # Refuse the fast path unless it agrees with eth_hash on inputs across the 136-byte rate boundary.
    for probe in (b"", b"mirrorbot", bytes(range(256))):
        if raw_keccak(probe) != _eth_hash_keccak(probe):
            return None
    return raw_keccak


keccak256: Keccak = _load_raw_keccak() or _eth_hash_keccak


def _eip712_type_hash(encoded_type: str) -> bytes:
    return keccak256(encoded_type.encode())


# The constant part of the SDK's `l1_payload`: domain {name "Exchange", version "1", chainId 1337,
# verifyingContract 0x0}, primary type Agent(string source, bytes32 connectionId).
DOMAIN_SEPARATOR: Final = keccak256(
    _eip712_type_hash("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    + keccak256(b"Exchange")
    + keccak256(b"1")
    + (1337).to_bytes(32, "big")
    + bytes(32)
)
_AGENT_TYPEHASH: Final = _eip712_type_hash("Agent(string source,bytes32 connectionId)")
# keccak(typeHash ‖ keccak(source)) prefixes, one per network; `connectionId` (bytes32) follows as is.
_AGENT_PREFIX: Final = {
    True: _AGENT_TYPEHASH + keccak256(b"a"),  # mainnet
    False: _AGENT_TYPEHASH + keccak256(b"b"),  # testnet and everything else
}
_DIGEST_PREFIX: Final = b"\x19\x01" + DOMAIN_SEPARATOR


class Signature(TypedDict):
    """As the SDK returns it and the venue takes it: r and s as minimal 0x-hex, v 27 or 28."""

    r: str
    s: str
    v: int


class SignerKeyError(ValueError):
    """The private key is malformed. The message never contains the key."""


class _SecretLike(Protocol):
    def get_secret_value(self) -> str: ...


def _u64(value: int, field: str) -> bytes:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < _U64_LIMIT:
        raise ValueError(f"{field} must be an integer in [0, 2**64), got {value!r}")
    return value.to_bytes(8, "big")


def _address_bytes(address: str, field: str) -> bytes:
    raw = address[2:] if address.startswith("0x") else address
    try:
        decoded = bytes.fromhex(raw)
    except ValueError:
        decoded = b""
    if len(decoded) != 20:
        raise ValueError(f"{field} must be a 20-byte hex address like 0xabc…, got {address!r}")
    return decoded


def l1_action_hash(
    action: Mapping[str, Any], vault_address: str | None, nonce: int, expires_after: int | None
) -> bytes:
    """The SDK's `action_hash`: the phantom agent's `connectionId`."""
    data = msgpack.packb(action) + _u64(nonce, "nonce")
    if vault_address is None:
        data += b"\x00"
    else:
        data += b"\x01" + _address_bytes(vault_address, "vault_address")
    if expires_after is not None:
        data += b"\x00" + _u64(expires_after, "expires_after")
    return keccak256(data)


def l1_digest(connection_id: bytes, is_mainnet: bool) -> bytes:
    """The EIP-712 digest eth-account signs for the SDK's `l1_payload(phantom agent)`."""
    struct_hash = keccak256(_AGENT_PREFIX[is_mainnet] + connection_id)
    return keccak256(_DIGEST_PREFIX + struct_hash)


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
        self._agent_prefix = _AGENT_PREFIX[is_mainnet]

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
        digest = keccak256(_DIGEST_PREFIX + keccak256(self._agent_prefix + connection_id))
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
        _address_bytes(agent_address, "agent_address")
        _u64(nonce, "nonce")
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
        _address_bytes(builder, "builder")
        _u64(nonce, "nonce")
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
