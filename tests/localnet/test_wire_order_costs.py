"""The order path's per-order costs, counted (never timed): a burst of signed orders posted to the server
is recovered without the SDK's eth-account path and builds no book snapshot nobody subscribed to, and
an order walks the accounts only when a scheduled cancel is due (bench/localnet_orders.py measures what
that buys; docs/benchmarks.md has the figure)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import requests

from adapters.hyperliquid.signer import Signer
from adapters.hyperliquid.wire import order_action, order_wire
from adapters.localnet import auth
from adapters.localnet.book import CoinBook
from adapters.localnet.exchange import LocalExchange
from adapters.localnet.server import LocalnetThread, wall_clock_ms
from adapters.localnet.types import LocalEvent
from tests.localnet.core_helpers import ALICE, Net, oid_of

BURST = 40
ETH, BTC = 1, 0


def _count_calls(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[int]:
    """Wrap the real `owner.name` so its calls are counted; the real one still runs."""
    real: Callable[..., Any] = getattr(owner, name)
    calls = [0]

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def _ioc(asset: int, mid: Decimal, n: int) -> dict[str, Any]:
    is_buy = n % 2 == 0
    px = (mid * (Decimal("1.02") if is_buy else Decimal("0.98"))).quantize(Decimal(1))
    return dict(
        order_action([order_wire(asset, is_buy, px, Decimal("0.01"), False, "Ioc", f"0x{n + 1:032x}")])
    )


def test_a_burst_of_orders_costs_no_sdk_recovery_and_no_unwatched_book(
    localnet: LocalnetThread,
    control: Callable[[dict[str, Any]], dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    snapshots = _count_calls(monkeypatch, CoinBook, "l2_levels")
    sdk_recoveries = _count_calls(monkeypatch, auth, "recover_agent_or_user_from_l1_action")
    signer = Signer("0x" + "42" * 32, is_mainnet=False)
    control({"type": "fund", "user": signer.address, "usdc": "100000"})
    mid = localnet.call(lambda: localnet.exchange.all_mids()["ETH"])
    nonce = wall_clock_ms()
    with requests.Session() as session:  # keepalive, as the bot's exchange client posts
        for n in range(BURST):
            body = signer.sign_l1_body(_ioc(ETH, mid, n), nonce + n)
            answer = session.post(f"{localnet.url}/exchange", json=body, timeout=10).json()
            assert "filled" in answer["response"]["data"]["statuses"][0], answer
    assert sdk_recoveries[0] == 0
    assert snapshots[0] == 0  # no l2Book or bbo subscriber: the book changed BURST times, unformatted


def test_a_listener_gets_the_books_it_wants_and_only_those_are_built(monkeypatch: pytest.MonkeyPatch) -> None:
    snapshots = _count_calls(monkeypatch, CoinBook, "l2_levels")
    exchange = LocalExchange(seed=3)
    watched: list[LocalEvent] = []
    everything: list[LocalEvent] = []
    exchange.add_listener(watched.append, books=lambda coin: coin == "ETH")
    user = "0x" + "42" * 20
    exchange.fund(user, Decimal(100_000))
    mids = exchange.all_mids()

    def books_after(asset: int, coin: str, n: int) -> list[str]:
        watched.clear()
        answer = exchange.handle_action(user, user, _ioc(asset, Decimal(mids[coin]), n), 1 + n)
        assert "filled" in answer["response"]["data"]["statuses"][0], answer
        return [e.coin or "" for e in watched if e.channel == "l2Book"]

    assert books_after(ETH, "ETH", 0) == ["ETH"]
    assert books_after(BTC, "BTC", 1) == []
    assert snapshots[0] == 1
    exchange.add_listener(everything.append)  # a listener that names no books wants them all
    assert books_after(BTC, "BTC", 2) == ["BTC"]
    assert [e.coin for e in everything if e.channel == "l2Book"] == ["BTC"]
    assert snapshots[0] == 2


class _CountedAccounts(dict[str, Any]):
    """The core's accounts, counting the walks over all of them."""

    def __init__(self, accounts: dict[str, Any]) -> None:
        super().__init__(accounts)
        self.walks = 0

    def values(self) -> Any:
        self.walks += 1
        return super().values()


def test_an_order_walks_the_accounts_only_when_a_scheduled_cancel_is_due() -> None:
    net = Net(seed=5)
    followers = [f"0x{n:040x}" for n in range(1, 201)]
    for user in [ALICE, *followers]:
        net.ex.fund(user, Decimal(10_000))
    state = net.ex._state
    state.accounts = counted = _CountedAccounts(state.accounts)
    for _ in range(5):
        net.order(followers[0], "ETH", True, 0.01, 3100, "Ioc")
    assert counted.walks == 0  # nothing scheduled: no walk over 200 accounts per order
    net.act(ALICE, {"type": "scheduleCancel", "time": net.clock.now + 6_000})
    oid_of(net.order(ALICE, "ETH", True, 1, 2900, "Gtc"))
    assert counted.walks == 0  # scheduled, not yet due
    net.clock.now += 6_000
    net.order(followers[0], "ETH", True, 0.01, 3100, "Ioc")
    assert counted.walks == 1  # due: one walk ran it
    assert net.info({"type": "openOrders", "user": ALICE}) == []
    net.order(followers[0], "ETH", True, 0.01, 3100, "Ioc")
    assert counted.walks == 1  # nothing left to run
