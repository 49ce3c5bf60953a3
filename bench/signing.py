"""Signatures per second on one core: our signer vs the SDK's `sign_l1_action` vs the raw floor.

    .venv/bin/python -m bench.signing [--n N]

The action is a realistic mirror order (one IOC limit order with a cloid), a fresh nonce per signature.
Rates are per CPU-second of this (single-threaded) process, so other load on the machine changes them
less than wall time would; run it a few times and keep the best. Exits non-zero if any of our signatures
differs from the SDK's.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import coincurve
import msgpack
from eth_account import Account
from eth_hash.auto import keccak as eth_hash_keccak
from hyperliquid.utils.signing import sign_l1_action

from adapters.hyperliquid.signer import Signer, keccak256
from adapters.hyperliquid.wire import order_action, order_wire

# A throwaway key, public in eth-account's docs: never fund it.
KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
NONCE0 = 1_700_000_000_000


def per_second(run: Callable[[int], object], n: int) -> float:
    """Calls of `run(i)` per CPU-second, over `n` calls."""
    start = time.process_time()
    for i in range(n):
        run(i)
    return n / (time.process_time() - start)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.signing", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="signatures timed for ours and the floor")
    args = parser.parse_args(argv)
    n: int = max(args.n, 100)
    n_sdk = max(n // 20, 100)  # the SDK is ~10x slower; fewer calls keep the run short

    action = order_action(
        [order_wire(1, True, Decimal("3012.7"), Decimal("0.0331"), False, "Ioc", "0x" + "ab" * 16)]
    )
    signer = Signer(KEY, is_mainnet=False)
    wallet = Account.from_key(KEY)

    # Bit-identity first: every nonce the SDK is timed on, compared with ours.
    mismatches = sum(
        signer.sign_l1(action, NONCE0 + i) != sign_l1_action(wallet, action, None, NONCE0 + i, None, False)
        for i in range(n_sdk)
    )

    ours = per_second(lambda i: signer.sign_l1(action, NONCE0 + i), n)
    sdk = per_second(lambda i: sign_l1_action(wallet, action, None, NONCE0 + i, None, False), n_sdk)

    # The floor: the same three keccaks (on bytes of the same sizes) and one secp256k1 signature,
    # with no msgpack, dicts or hex formatting — what any Python signer must at least spend.
    packed = msgpack.packb(action) + NONCE0.to_bytes(8, "big") + b"\x00"
    struct_input, digest_input = bytes(96), bytes(66)
    key = coincurve.PrivateKey(KEY)

    def floor(_: int) -> object:
        keccak256(packed)
        keccak256(struct_input)
        return key.sign_recoverable(keccak256(digest_input), hasher=None)

    floor_rate = per_second(floor, n)
    sign_only = per_second(lambda _: key.sign_recoverable(digest_input[:32], hasher=None), n)
    fast_keccak = per_second(lambda _: keccak256(packed), n)
    lib_keccak = per_second(lambda _: eth_hash_keccak(packed), n)

    print(f"machine: {cpu_model()}, {os.cpu_count()} logical CPUs; Python {platform.python_version()}")
    backend = "pycryptodome's C keccak via ctypes" if keccak256 is not eth_hash_keccak else "eth_hash"
    print(f"keccak backend: {backend}")
    print(f"{'signer':<44}{'sig/s/core':>12}{'µs/sig':>10}")
    for name, rate in (
        ("ours (Signer.sign_l1)", ours),
        ("SDK sign_l1_action", sdk),
        ("floor: 3 keccak + secp256k1 sign", floor_rate),
    ):
        print(f"{name:<44}{rate:>12,.0f}{1e6 / rate:>10.1f}")
    print(f"parts: secp256k1 sign {1e6 / sign_only:.1f} µs, keccak {1e6 / fast_keccak:.2f} µs "
          f"(eth_hash {1e6 / lib_keccak:.2f} µs) per call")  # fmt: skip
    print(f"ours vs SDK: {ours / sdk:.1f}x faster; ours vs floor: {ours / floor_rate:.0%} of the floor rate")
    status = "bit-identical" if mismatches == 0 else f"{mismatches} MISMATCHES"
    print(f"check: {n_sdk} signatures compared with the SDK's: {status}")
    return 0 if mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
