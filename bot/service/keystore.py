"""Encrypted key files: eth-account v3 keystores (scrypt), written 0600, never overwritten.

The private key exists in clear only in memory: it is never printed, logged, stored in the database
or put in an exception message (a refused key is described, not echoed).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import stat
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from bot.ledger.repository import LedgerError, check_keystore
from bot.service.errors import Conflict, InvalidInput, KeystoreError, NotFound

MIN_PASSWORD_LENGTH = 8
_PRIVATE_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
_SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            "password", "too short for a new keystore", f"at least {MIN_PASSWORD_LENGTH} characters"
        )


def parse_private_key(text: str) -> bytes:
    """A secp256k1 private key from 64 hex digits (optional 0x). The refusal never repeats the input."""
    text = text.strip()
    if not _PRIVATE_KEY.match(text):
        raise InvalidInput("private_key", "not a private key (input not shown)", "64 hex digits, optional 0x")
    key = bytes.fromhex(text.removeprefix("0x"))
    if not 0 < int.from_bytes(key, "big") < _SECP256K1_ORDER:
        raise InvalidInput("private_key", "outside the secp256k1 key range (input not shown)")
    return key


def _check_private_mode(path: Path) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeystoreError(f"keystore {path} is readable by other users: run `chmod 600 {path}` first")


def read_keystore(path: Path) -> dict[str, Any]:
    """The keystore document (still encrypted), after checking it is a private v3 keystore file."""
    try:
        _check_private_mode(path)
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"keystore {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeystoreError(f"keystore {path}: cannot read it ({type(exc).__name__})") from None
    try:
        check_keystore(text)
    except LedgerError as exc:
        raise KeystoreError(f"keystore {path}: {exc}") from None
    doc: dict[str, Any] = json.loads(text)
    return doc


def keystore_address(path: Path) -> str:
    """The address a keystore declares (readable without the password), lower-cased."""
    declared = read_keystore(path).get("address")
    if not isinstance(declared, str) or not re.fullmatch(r"(0x)?[0-9a-fA-F]{40}", declared):
        raise KeystoreError(
            f"keystore {path} does not declare its address: re-create it with `mirrorbot keystore import`"
        )
    return "0x" + declared.lower().removeprefix("0x")


def open_keystore(path: Path, password: str) -> LocalAccount:
    """Decrypt the key. A wrong password is a KeystoreError that says so and nothing more."""
    doc = read_keystore(path)
    try:
        key = Account.decrypt(doc, password)
    except ValueError:
        raise KeystoreError(f"keystore {path}: wrong password") from None
    except Exception as exc:  # malformed crypto parameters: say what, never include the payload
        raise KeystoreError(f"keystore {path}: cannot be decrypted ({type(exc).__name__})") from None
    account: LocalAccount = Account.from_key(key)
    declared = doc.get("address")
    if isinstance(declared, str) and declared.lower().removeprefix("0x") != account.address[2:].lower():
        raise KeystoreError(f"keystore {path}: the key does not match the address the file declares")
    return account


def write_keystore(
    path: Path, password: str, key: bytes | None = None, *, iterations: int | None = None
) -> str:
    """Encrypt `key` (a fresh random key when None) into a new file at `path`; return its address.

    The file is complete or absent: written to a private temporary file, then hard-linked into place,
    which fails if `path` exists (no overwrite, no race with a concurrent writer).
    """
    check_new_password(password)
    if path.exists() or path.is_symlink():
        raise Conflict(f"keystore {path} already exists: refusing to overwrite it (choose another file)")
    if key is None:
        key = secrets.token_bytes(32)
        while not 0 < int.from_bytes(key, "big") < _SECP256K1_ORDER:  # practically never loops
            key = secrets.token_bytes(32)
    document = Account.encrypt(key, password, iterations=iterations)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)
    except FileExistsError:
        raise Conflict(
            f"keystore {path} already exists: refusing to overwrite it (choose another file)"
        ) from None
    except OSError as exc:
        raise KeystoreError(f"keystore {path}: cannot write it ({exc.strerror})") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    return "0x" + str(document["address"]).lower().removeprefix("0x")
