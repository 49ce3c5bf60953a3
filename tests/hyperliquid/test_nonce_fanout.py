"""A fan-out's nonces: one lease save covers every follower's signer, not one save (2 fsyncs) each.

Counted, not timed: `os.fsync` is wrapped (the real one still runs) and the nonce clock is injected, so
"a quiet minute" is a clock step, not a wait."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from adapters.hyperliquid.budget import WeightBudget
from adapters.hyperliquid.exchange import ExchangeClient
from adapters.hyperliquid.nonces import DEFAULT_LEASE_MS

T0 = 1_700_000_000_000
FOLLOWERS = 200
KEYS = ["0x" + f"{n + 1:064x}" for n in range(FOLLOWERS)]


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every fsync the nonce module makes (each one still done)."""
    calls: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr("adapters.hyperliquid.nonces.os.fsync", counting)
    return calls


def client(nonce_dir: Path, clock: Callable[[], int]) -> ExchangeClient:
    return ExchangeClient(
        "http://127.0.0.1:1", budget=WeightBudget(), is_mainnet=False, nonce_dir=nonce_dir, nonce_clock=clock
    )


def fan_out(exchange: ExchangeClient) -> dict[str, int]:
    """One nonce per follower, as `post_l1` takes it for each follower's order."""
    return {slot.address: slot.nonces.next() for slot in map(exchange.signer, KEYS)}


def test_a_fan_out_pays_one_lease_save_after_start_up_and_after_a_quiet_minute(
    tmp_path: Path, fsyncs: list[int]
) -> None:
    now = [T0]
    exchange = client(tmp_path / "nonces", lambda: now[0])
    for slot in map(exchange.signer, KEYS):  # the signers exist (keys derived) before the trade
        assert slot.nonces.last is None
    first = fan_out(exchange)  # the first orders after start-up
    assert len(fsyncs) == 2  # one save (file + directory) for all 200 followers
    now[0] += DEFAULT_LEASE_MS + 1_000  # a quiet minute: the lease lapsed
    fsyncs.clear()
    second = fan_out(exchange)
    assert len(fsyncs) == 2
    assert all(second[address] > first[address] for address in first)
    # A restart after a crash here (nothing flushed on the way out), clock not moved: above everything.
    fsyncs.clear()
    again = fan_out(client(tmp_path / "nonces", lambda: now[0]))
    assert len(fsyncs) == 2
    assert all(again[address] > second[address] for address in second)


def test_a_busy_signer_saves_about_once_per_lease(tmp_path: Path, fsyncs: list[int]) -> None:
    now = [T0]
    exchange = client(tmp_path / "nonces", lambda: now[0])
    for _ in range(10):  # ten fan-outs, 20 s apart: 200 s, 3.3 leases
        fan_out(exchange)
        now[0] += 20_000
    assert len(fsyncs) <= 2 * 4
