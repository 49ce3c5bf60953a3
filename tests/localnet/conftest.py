"""Fixtures for driving a real localnet (on a thread, a free port) with the unmodified SDK."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info

from adapters.localnet.server import LocalnetThread, wall_clock_ms

Control = Callable[[dict[str, Any]], dict[str, Any]]
MakeWallet = Callable[..., LocalAccount]
MakeExchange = Callable[..., Exchange]


class SteppedClock:
    """The localnet's clock: wall time plus an offset a test may move forward (scheduleCancel)."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def __call__(self) -> int:
        return wall_clock_ms() + self.offset_ms


@pytest.fixture(autouse=True)
def unique_sdk_nonces(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK takes each nonce from the wall clock in ms, so two actions by one signer inside one
    millisecond collide (the venue refuses the second as a duplicate, and so does the localnet).
    A careful client keeps its nonces unique; make the SDK do so here, as `max(now, last + 1)`."""
    lock = threading.Lock()
    last = [0]

    def next_nonce() -> int:
        with lock:
            last[0] = max(wall_clock_ms(), last[0] + 1)
            return last[0]

    monkeypatch.setattr("hyperliquid.exchange.get_timestamp_ms", next_nonce)


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock()


@pytest.fixture
def localnet(clock: SteppedClock) -> Iterator[LocalnetThread]:
    with LocalnetThread(seed=1, clock_ms=clock) as net:
        yield net


@pytest.fixture
def url(localnet: LocalnetThread) -> str:
    return localnet.url


def post_control(url: str, message: dict[str, Any]) -> requests.Response:
    return requests.post(f"{url}/_localnet", json=message, timeout=10)


@pytest.fixture
def control(url: str) -> Control:
    """Send a control message that must succeed; returns its answer."""

    def send(message: dict[str, Any]) -> dict[str, Any]:
        response = post_control(url, message)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    return send


_key_counter = itertools.count()


@pytest.fixture
def wallet(control: Control) -> MakeWallet:
    """A fixed, distinct test key per call; funded with `usdc` unless it is None."""

    def make(usdc: str | None = "10000") -> LocalAccount:
        account: LocalAccount = Account.from_key(keccak(text=f"mirrorbot-localnet-test-{next(_key_counter)}"))
        if usdc is not None:
            control({"type": "fund", "user": account.address, "usdc": usdc})
        return account

    return make


@pytest.fixture
def exchange(url: str) -> Iterator[MakeExchange]:
    """The SDK's Exchange on the localnet (its Info without a websocket); sessions closed after."""
    made: list[Exchange] = []

    def make(account: LocalAccount, **kwargs: Any) -> Exchange:
        made.append(Exchange(account, base_url=url, **kwargs))
        return made[-1]

    yield make
    for ex in made:
        ex.session.close()
        ex.info.session.close()


@pytest.fixture
def info(url: str) -> Iterator[Info]:
    client = Info(url, skip_ws=True)
    yield client
    client.session.close()


def order_statuses(response: Any) -> list[Any]:
    """The per-order statuses of an ok order response (fails the test on a whole-request refusal)."""
    assert response["status"] == "ok", response
    statuses: list[Any] = response["response"]["data"]["statuses"]
    return statuses


def only_status(response: Any) -> Any:
    """The single status of a one-order (or one-cancel) response: a dict, or "success" for a cancel."""
    statuses = order_statuses(response)
    assert len(statuses) == 1, statuses
    return statuses[0]
