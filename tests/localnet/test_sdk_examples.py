"""Issue 16 item 3, acceptance: the hyperliquid-python-sdk's own examples (examples/*.py in its
repository, not shipped in the package) that touch builder fees, transfers, sub-accounts, vaults,
referrals, a builder-deployed dex and the websocket subscriptions, replayed call for call against the
localnet with only the base URL changed (and the account funded there, as a testnet faucet would).

Each test names the example it follows; the literal arguments (addresses, amounts, coins) are the
example's own."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info

from tests.localnet.conftest import Control, MakeWallet

TIMEOUT = 10.0
EXAMPLE_BUILDER = "0x8c967E73E7B15087c42A10D344cFf4c96D877f1D"  # basic_builder_fee.py
HLP_VAULT = "0xa15099a30bbf2e68942d6f4c43d70d04faeab0a0"  # basic_vault_transfer.py


class Setup:
    """What the examples' `example_utils.setup(base_url, skip_ws, perp_dexs)` returns."""

    def __init__(self, url: str, wallet: LocalAccount, skip_ws: bool, perp_dexs: list[str] | None) -> None:
        self.address = wallet.address
        self.info = Info(url, skip_ws, perp_dexs=perp_dexs)
        self.exchange = Exchange(wallet, url, account_address=wallet.address, perp_dexs=perp_dexs)
        # example_utils refuses to run for an account without equity
        assert Decimal(self.info.user_state(self.address)["marginSummary"]["accountValue"]) > 0

    def close(self) -> None:
        if self.info.ws_manager is not None:
            self.info.disconnect_websocket()
        for session in (self.info.session, self.exchange.session, self.exchange.info.session):
            session.close()


@pytest.fixture
def setup(url: str, wallet: MakeWallet, control: Control) -> Iterator[Any]:
    made: list[Setup] = []

    def make(skip_ws: bool = True, perp_dexs: list[str] | None = None) -> Setup:
        account = wallet("1000")
        control({"type": "fund", "user": account.address, "usdc": "1000", "dex": "test"})
        made.append(Setup(url, account, skip_ws, perp_dexs))
        return made[-1]

    yield make
    for done in made:
        done.close()


def ok(result: Any) -> None:
    assert result["status"] == "ok", result


def test_basic_builder_fee(setup: Any) -> None:
    s = setup()
    assert s.exchange.account_address == s.exchange.wallet.address
    ok(s.exchange.approve_builder_fee(EXAMPLE_BUILDER, "0.001%"))
    order_result = s.exchange.market_open(
        "ETH", True, 0.05, None, 0.01, builder={"b": EXAMPLE_BUILDER, "f": 1}
    )
    ok(order_result)
    assert "filled" in order_result["response"]["data"]["statuses"][0], order_result
    assert all("builderFee" in fill for fill in s.info.user_fills(s.address))


def test_basic_order_with_builder_deployed_dex(setup: Any) -> None:
    dummy_dex = "test"
    coin = f"{dummy_dex}:ABC"
    s = setup(perp_dexs=[dummy_dex])
    assert s.info.user_state(s.address)["assetPositions"] == []
    assert coin in [a["name"] for a in s.info.meta(dex=dummy_dex)["universe"]]
    order_result = s.exchange.order(coin, True, 20, 1, {"limit": {"tif": "Gtc"}})
    ok(order_result)
    status = order_result["response"]["data"]["statuses"][0]
    assert "resting" in status, status
    order_status = s.info.query_order_by_oid(s.address, status["resting"]["oid"])
    assert order_status["order"]["order"]["coin"] == coin
    cancel_result = s.exchange.cancel(coin, status["resting"]["oid"])
    assert cancel_result["response"]["data"]["statuses"] == ["success"]


def test_basic_sub_account(setup: Any) -> None:
    s = setup()
    name = "example123"
    ok(s.exchange.create_sub_account(name))
    sub_account_user = next(
        sub["subAccountUser"] for sub in s.info.query_sub_accounts(s.address) if sub["name"] == name
    )
    ok(s.exchange.sub_account_transfer(sub_account_user, True, 10))


def test_basic_vault_transfer(setup: Any) -> None:
    s = setup()
    ok(s.exchange.vault_usd_transfer(HLP_VAULT, True, 5000000))
    assert Decimal(s.info.user_state(HLP_VAULT)["marginSummary"]["accountValue"]) == Decimal(5)


def test_basic_spot_to_perp(setup: Any) -> None:
    s = setup()
    ok(s.exchange.usd_class_transfer(1.23, False))
    assert s.info.spot_user_state(s.address)["balances"][0]["total"] == "1.23"
    ok(s.exchange.usd_class_transfer(1.23, True))
    assert s.info.spot_user_state(s.address)["balances"] == []


def test_basic_transfer_and_withdraw(setup: Any) -> None:
    s = setup()
    ok(s.exchange.usd_transfer(1, "0x0000000000000000000000000000000000000000"))
    ok(s.exchange.withdraw_from_bridge(1, s.address))
    assert Decimal(s.info.user_state(s.address)["marginSummary"]["accountValue"]) == Decimal(998)


def test_basic_set_referrer(setup: Any, wallet: MakeWallet, control: Control) -> None:
    control({"type": "referralCode", "user": wallet("100").address, "code": "ASDFASDF"})  # a code that exists
    s = setup()
    ok(s.exchange.set_referrer("ASDFASDF"))
    referral_state = s.info.query_referral_state(s.address)
    assert referral_state["referredBy"]["code"] == "ASDFASDF"


def test_basic_spot_order(setup: Any) -> None:
    coin = "PURR/USDC"
    s = setup()
    ok(s.exchange.usd_class_transfer(20, False))  # the example expects a spot balance to be there
    assert s.info.spot_user_state(s.address)["balances"]
    order_result = s.exchange.order(coin, True, 1200, 0.01, {"limit": {"tif": "Gtc"}})
    ok(order_result)
    status = order_result["response"]["data"]["statuses"][0]
    assert "resting" in status, status
    order_status = s.info.query_order_by_oid(s.address, status["resting"]["oid"])
    assert order_status["order"]["status"] == "open"
    cancel_result = s.exchange.cancel(coin, status["resting"]["oid"])
    assert cancel_result["response"]["data"]["statuses"] == ["success"]


def test_candles_snapshot(setup: Any, control: Control) -> None:
    s = setup()
    control({"type": "advance", "steps": 3})
    candles = s.info.candles_snapshot("ETH", "1m", 0, 2**62)
    assert candles and {"t", "T", "s", "i", "o", "c", "h", "l", "v", "n"} <= candles[-1].keys()


def test_basic_ws(setup: Any) -> None:
    """basic_ws.py's subscriptions, every one: each delivers a message the SDK routes to its callback."""
    s = setup(skip_ws=False)
    address = s.address
    subscriptions: list[dict[str, Any]] = [
        {"type": "allMids"},
        {"type": "l2Book", "coin": "ETH"},
        {"type": "trades", "coin": "PURR/USDC"},
        {"type": "userEvents", "user": address},
        {"type": "userFills", "user": address},
        {"type": "candle", "coin": "ETH", "interval": "1m"},
        {"type": "orderUpdates", "user": address},
        {"type": "userFundings", "user": address},
        {"type": "userNonFundingLedgerUpdates", "user": address},
        {"type": "webData2", "user": address},
        {"type": "bbo", "coin": "ETH"},
        {"type": "activeAssetCtx", "coin": "BTC"},
        {"type": "activeAssetCtx", "coin": "@1"},
        {"type": "activeAssetData", "user": address, "coin": "BTC"},
    ]
    got: queue.Queue[str] = queue.Queue()
    for subscription in subscriptions:
        name = f"{subscription['type']}:{subscription.get('coin', '')}"
        s.info.subscribe(subscription, lambda message, name=name: got.put(name))
    ok(s.exchange.market_open("BTC", True, 0.001))  # the user streams' first live message
    ok(s.exchange.usd_class_transfer(20, False))
    ok(s.exchange.market_open("PURR/USDC", True, 60))  # a PURR/USDC trade
    expected = {f"{sub['type']}:{sub.get('coin', '')}" for sub in subscriptions}
    seen: set[str] = set()
    while seen != expected:
        seen.add(got.get(timeout=TIMEOUT))
