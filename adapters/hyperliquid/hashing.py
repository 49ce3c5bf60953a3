"""The digests Hyperliquid signs, computed directly: bit-identical to what hyperliquid-python-sdk builds
as EIP-712 payloads and hands to eth-account (~0.3 ms each there, a few µs here).

L1 actions (orders, cancels, leverage, ...) sign the "phantom agent" struct, always the same type, so the
domain separator and the struct's type hash are constants; per digest three keccaks remain:

    connectionId = keccak(msgpack(action) ‖ nonce:u64 ‖ vault flag[‖ vault] [‖ 0x00 ‖ expiresAfter:u64])
    structHash   = keccak(AGENT_TYPEHASH ‖ keccak(source) ‖ connectionId)     source "a" mainnet, "b" else
    digest       = keccak(0x19 0x01 ‖ DOMAIN_SEPARATOR ‖ structHash)

User-signed actions (`approveAgent`, transfers) sign a flat `HyperliquidTransaction:*` struct in the
"HyperliquidSignTransaction" domain whose chain id the action names (`user_signed_digest`).

Shared by the bot's signer (adapters/hyperliquid/signer.py) and the localnet's signer recovery
(adapters/localnet/auth.py); both are checked against the SDK in tests. No key is ever handled here.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable, Mapping, Sequence
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from typing import Any, Final

import msgpack
from eth_hash.auto import keccak as _eth_hash_keccak

__all__ = [
    "AGENT_PREFIX",
    "DIGEST_PREFIX",
    "DOMAIN_SEPARATOR",
    "UnencodableMessage",
    "address_bytes",
    "keccak256",
    "l1_action_hash",
    "l1_digest",
    "u64",
    "user_signed_digest",
]

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
AGENT_PREFIX: Final = {
    True: _AGENT_TYPEHASH + keccak256(b"a"),  # mainnet
    False: _AGENT_TYPEHASH + keccak256(b"b"),  # testnet and everything else
}
DIGEST_PREFIX: Final = b"\x19\x01" + DOMAIN_SEPARATOR


def u64(value: int, field: str) -> bytes:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < _U64_LIMIT:
        raise ValueError(f"{field} must be an integer in [0, 2**64), got {value!r}")
    return value.to_bytes(8, "big")


def address_bytes(address: str, field: str) -> bytes:
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
    data = msgpack.packb(action) + u64(nonce, "nonce")
    if vault_address is None:
        data += b"\x00"
    else:
        data += b"\x01" + address_bytes(vault_address, "vault_address")
    if expires_after is not None:
        data += b"\x00" + u64(expires_after, "expires_after")
    return keccak256(data)


def l1_digest(connection_id: bytes, is_mainnet: bool) -> bytes:
    """The EIP-712 digest eth-account signs for the SDK's `l1_payload(phantom agent)`."""
    struct_hash = keccak256(AGENT_PREFIX[is_mainnet] + connection_id)
    return keccak256(DIGEST_PREFIX + struct_hash)


# --- user-signed actions: EIP-712 over a flat struct of string / address / uint64 / bool fields --------
_USER_DOMAIN_TYPEHASH: Final = _eip712_type_hash(
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
_USER_DOMAIN_NAME: Final = keccak256(b"HyperliquidSignTransaction")
_USER_DOMAIN_VERSION: Final = keccak256(b"1")
_UINT256_LIMIT: Final = 1 << 256
_HEX: Final = frozenset("0123456789abcdef")


class UnencodableMessage(ValueError):
    """A field this encoder does not take as is (missing, mistyped, out of range, a non-lower-case
    address): the caller hands such a message to eth-account, whose answer is the reference."""


def _is_lower_address(value: str) -> bool:
    return len(value) == 42 and value.startswith("0x") and _HEX.issuperset(value[2:])


def _encode_field(kind: str, value: Any) -> bytes:
    if kind == "string" and isinstance(value, str):
        try:
            return keccak256(value.encode())
        except UnicodeEncodeError:  # a lone surrogate, which JSON can carry
            raise UnencodableMessage(kind) from None
    if kind == "address" and isinstance(value, str) and _is_lower_address(value):
        return bytes(12) + bytes.fromhex(value[2:])
    if kind == "uint64" and type(value) is int and 0 <= value < _U64_LIMIT:
        return value.to_bytes(32, "big")
    if kind == "bool" and isinstance(value, bool):
        return value.to_bytes(32, "big")
    raise UnencodableMessage(kind)


def _struct_type(primary_type: str, fields: Sequence[Mapping[str, str]]) -> str:
    members = ",".join(f"{field['type']} {field['name']}" for field in fields)
    return f"{primary_type}({members})"


def user_signed_digest(
    primary_type: str, fields: Sequence[Mapping[str, str]], message: Mapping[str, Any], chain_id: int
) -> bytes:
    """The EIP-712 digest of `message` as the `primary_type` struct of `fields` in the
    "HyperliquidSignTransaction" domain of `chain_id` (what the SDK's `user_signed_payload` signs).
    Raises UnencodableMessage for any field outside the plain forms above."""
    if type(chain_id) is not int or not 0 <= chain_id < _UINT256_LIMIT:
        raise UnencodableMessage("chainId")
    domain = keccak256(
        _USER_DOMAIN_TYPEHASH
        + _USER_DOMAIN_NAME
        + _USER_DOMAIN_VERSION
        + chain_id.to_bytes(32, "big")
        + bytes(32)
    )
    encoded = [_eip712_type_hash(_struct_type(primary_type, fields))]
    for field in fields:
        if field["name"] not in message:
            raise UnencodableMessage(field["name"])
        encoded.append(_encode_field(field["type"], message[field["name"]]))
    return keccak256(b"\x19\x01" + domain + keccak256(b"".join(encoded)))
