"""Helpers for the service tests: fast keystores, localnet wallets driven through the unmodified SDK."""

from __future__ import annotations

import itertools
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from hyperliquid.exchange import Exchange

from adapters.localnet.server import wall_clock_ms
from bot.service.keystore import write_keystore

FAST_KDF = 2**10  # scrypt n for test keystores; the product uses eth-account's 2^18 (~1 s per open)
_counter = itertools.count()
_nonce_lock = threading.Lock()
_last_nonce = [0]


def write_fast_keystore(path: Path, password: str, key: bytes | None = None) -> tuple[Path, str]:
    return path, write_keystore(path, password, key, iterations=FAST_KDF)


def fixed_key(tag: str) -> LocalAccount:
    """A fixed, distinct key per call (deterministic across runs)."""
    account: LocalAccount = Account.from_key(keccak(text=f"mirrorbot-service-test-{tag}-{next(_counter)}"))
    return account


def control(url: str, message: dict[str, Any]) -> Any:
    response = requests.post(f"{url}/_localnet", json=message, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def funded(url: str, tag: str, usdc: str = "10000") -> LocalAccount:
    account = fixed_key(tag)
    control(url, {"type": "fund", "user": account.address, "usdc": usdc})
    return account


def unique_nonce() -> int:
    """The SDK takes nonces from the wall clock in ms; keep them unique when actions come quickly."""
    with _nonce_lock:
        _last_nonce[0] = max(wall_clock_ms(), _last_nonce[0] + 1)
        return _last_nonce[0]


def sdk_exchange(url: str, wallet: LocalAccount, **kwargs: Any) -> Exchange:
    return Exchange(wallet, base_url=url, **kwargs)


def market_open(exchange: Exchange, coin: str, is_buy: bool, size: Decimal) -> None:
    answer = exchange.market_open(coin, is_buy, float(size))  # the SDK's API takes floats
    assert answer["status"] == "ok", answer
    status = answer["response"]["data"]["statuses"][0]
    assert "filled" in status, status
