"""Issue 16 item 3: user-signed and transfer actions, builder fees and referrals, through the unmodified
SDK's own methods (its signing helpers, its EIP-712 domains) against the localnet."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from eth_account import Account
from hyperliquid.info import Info
from hyperliquid.utils.signing import get_timestamp_ms, sign_usd_transfer_action

from tests.localnet.conftest import Control, MakeExchange, MakeWallet, only_status


def account_value(info: Info, user: str) -> Decimal:
    return Decimal(info.user_state(user)["marginSummary"]["accountValue"])


def withdrawable(info: Info, user: str) -> Decimal:
    return Decimal(info.user_state(user)["withdrawable"])


def ok(response: Any) -> None:
    assert response == {"status": "ok", "response": {"type": "default"}}, response


def max_builder_fee(info: Info, user: str, builder: str) -> Any:
    """The SDK has no method for it; its `post` is what the bot's client uses."""
    return info.post("/info", {"type": "maxBuilderFee", "user": user, "builder": builder})


def ledger_types(info: Info, user: str) -> list[str]:
    return [entry["delta"]["type"] for entry in info.user_non_funding_ledger_updates(user, 0)]


def test_usd_send_moves_usdc_between_users(wallet: MakeWallet, exchange: MakeExchange, info: Info) -> None:
    sender, receiver = wallet("1000"), wallet(None)
    ok(exchange(sender).usd_transfer(250.5, receiver.address))
    assert account_value(info, sender.address) == Decimal("749.5")
    assert account_value(info, receiver.address) == Decimal("250.5")
    assert ledger_types(info, sender.address) == ["send"]
    assert ledger_types(info, receiver.address) == ["send"]


def test_usd_send_above_withdrawable_is_refused_and_changes_nothing(
    wallet: MakeWallet, exchange: MakeExchange, info: Info
) -> None:
    sender, receiver = wallet("100"), wallet(None)
    answer = exchange(sender).usd_transfer(100.01, receiver.address)
    assert answer["status"] == "err"
    assert account_value(info, sender.address) == Decimal(100)
    assert info.user_state(receiver.address)["marginSummary"]["accountValue"] == "0.0"


def test_usd_send_cannot_spend_margin_backing_a_position(
    wallet: MakeWallet, exchange: MakeExchange, info: Info
) -> None:
    sender, receiver = wallet("1000"), wallet(None)
    ex = exchange(sender)
    ex.update_leverage(2, "ETH")
    only_status(ex.market_open("ETH", True, 0.5))  # ~1500 notional at 2x: ~750 margin used
    free = withdrawable(info, sender.address)
    assert Decimal(0) < free < Decimal(300)
    assert exchange(sender).usd_transfer(float(free + 1), receiver.address)["status"] == "err"
    ok(ex.usd_transfer(float(free), receiver.address))


def test_a_hostile_amount_is_refused_by_name_and_changes_nothing(
    wallet: MakeWallet, exchange: MakeExchange, info: Info
) -> None:
    """Signed as the SDK signs, with amounts its `usd_transfer` would never write."""
    sender, receiver = wallet("1000"), wallet(None)
    ex = exchange(sender)
    for amount in ("1e100", "NaN", "-5", "0.0000001", "ten"):
        action = {
            "destination": receiver.address,
            "amount": amount,
            "time": get_timestamp_ms(),
            "type": "usdSend",
        }
        answer = ex._post_action(action, sign_usd_transfer_action(sender, action, False), action["time"])
        assert answer["status"] == "err" and "'amount'" in answer["response"], (amount, answer)
    assert account_value(info, sender.address) == Decimal(1000)


def test_withdraw_charges_the_one_dollar_fee(wallet: MakeWallet, exchange: MakeExchange, info: Info) -> None:
    user = wallet("500")
    ok(exchange(user).withdraw_from_bridge(100, user.address))
    assert account_value(info, user.address) == Decimal(400)
    (entry,) = info.user_non_funding_ledger_updates(user.address, 0)
    assert entry["delta"]["type"] == "withdraw"
    assert (entry["delta"]["usdc"], entry["delta"]["fee"]) == ("99.0", "1.0")


def test_usd_class_transfer_moves_usdc_between_perp_and_spot(
    wallet: MakeWallet, exchange: MakeExchange, info: Info
) -> None:
    user = wallet("1000")
    ex = exchange(user)
    ok(ex.usd_class_transfer(300, to_perp=False))
    assert account_value(info, user.address) == Decimal(700)
    (usdc,) = info.spot_user_state(user.address)["balances"]
    assert (usdc["coin"], Decimal(usdc["total"])) == ("USDC", Decimal(300))
    ok(ex.usd_class_transfer(100, to_perp=True))
    assert account_value(info, user.address) == Decimal(800)
    assert ex.usd_class_transfer(201, to_perp=True)["status"] == "err"  # only 200 left on spot
    assert account_value(info, user.address) == Decimal(800)


def test_sub_account_transfer_both_ways(wallet: MakeWallet, exchange: MakeExchange, info: Info) -> None:
    master = wallet("1000")
    ex = exchange(master)
    sub = ex.create_sub_account("desk")["response"]["data"]
    ok(ex.sub_account_transfer(sub, True, 400_000_000))  # the SDK's usd: millionths of USDC
    assert account_value(info, sub) == Decimal(400)
    ok(ex.sub_account_transfer(sub, False, 150_000_000))
    assert account_value(info, sub) == Decimal(250)
    assert account_value(info, master.address) == Decimal(750)
    stranger = wallet("1000")
    refused = exchange(stranger).sub_account_transfer(sub, False, 1_000_000)
    assert refused["status"] == "err" and "not the master" in refused["response"]
    assert account_value(info, sub) == Decimal(250)


def test_vault_deposit_and_withdraw(
    wallet: MakeWallet, exchange: MakeExchange, info: Info, control: Control
) -> None:
    leader, depositor = wallet("100"), wallet("1000")
    vault = control({"type": "createVault", "leader": leader.address, "usdc": "5000"})["vault"]
    ex = exchange(depositor)
    ok(ex.vault_usd_transfer(vault, True, 300_000_000))
    assert account_value(info, vault) == Decimal(5300)
    assert account_value(info, depositor.address) == Decimal(700)
    assert ex.vault_usd_transfer(vault, False, 300_000_001)["status"] == "err"  # more than was put in
    ok(ex.vault_usd_transfer(vault, False, 300_000_000))
    assert account_value(info, depositor.address) == Decimal(1000)
    assert ledger_types(info, depositor.address) == ["vaultDeposit", "vaultWithdraw"]


def test_set_referrer_and_referral_state(
    wallet: MakeWallet, exchange: MakeExchange, info: Info, control: Control
) -> None:
    referrer, user = wallet("100"), wallet("1000")
    ex = exchange(user)
    unknown = ex.set_referrer("NOSUCHCODE")
    assert unknown["status"] == "err"
    assert info.query_referral_state(user.address)["referredBy"] is None
    control({"type": "referralCode", "user": referrer.address, "code": "MIRROR"})
    ok(ex.set_referrer("MIRROR"))
    state = info.query_referral_state(user.address)
    assert state["referredBy"] == {"referrer": referrer.address.lower(), "code": "MIRROR"}
    assert ex.set_referrer("MIRROR")["status"] == "err"  # set once
    mine = info.query_referral_state(referrer.address)["referrerState"]
    assert mine["stage"] == "ready"
    assert [r["user"] for r in mine["data"]["referralStates"]] == [user.address.lower()]


def test_order_with_unapproved_builder_is_refused_in_the_venues_words(
    wallet: MakeWallet, exchange: MakeExchange, info: Info
) -> None:
    user, builder = wallet("10000"), wallet(None)
    ex = exchange(user)
    answer = ex.market_open("ETH", True, 0.1, builder={"b": builder.address.lower(), "f": 10})
    assert only_status(answer) == {"error": "Builder fee has not been approved."}
    assert info.user_state(user.address)["assetPositions"] == []


def test_order_above_the_approved_builder_rate_is_refused(
    wallet: MakeWallet, exchange: MakeExchange, info: Info
) -> None:
    user, builder = wallet("10000"), wallet(None)
    ex = exchange(user)
    ok(ex.approve_builder_fee(builder.address, "0.005%"))
    assert max_builder_fee(info, user.address, builder.address) == 5
    answer = ex.market_open("ETH", True, 0.1, builder={"b": builder.address.lower(), "f": 6})
    assert only_status(answer) == {"error": "Builder fee has not been approved."}
    assert info.user_state(user.address)["assetPositions"] == []


def test_approved_builder_fee_is_charged_on_fills_and_credited_to_the_builder(
    wallet: MakeWallet, exchange: MakeExchange, info: Info
) -> None:
    user, builder = wallet("10000"), wallet(None)
    ex = exchange(user)
    ok(ex.approve_builder_fee(builder.address, "0.01%"))  # 10 tenths of a basis point
    filled = only_status(ex.market_open("ETH", True, 0.5, builder={"b": builder.address.lower(), "f": 10}))
    assert "filled" in filled, filled
    fills = info.user_fills(user.address)
    assert fills
    builder_fees = [Decimal(f["builderFee"]) for f in fills]
    total_builder = sum(builder_fees, Decimal(0))
    notional = sum((Decimal(f["px"]) * Decimal(f["sz"]) for f in fills), Decimal(0))
    # 1 basis point of the notional, rounded per fill to USDC's 6 decimals
    assert abs(total_builder - notional / 10_000) <= Decimal("0.000001") * len(fills)
    for f in fills:  # the venue's base taker fee plus the builder's part
        base = (Decimal(f["px"]) * Decimal(f["sz"]) * Decimal("0.00045")).quantize(Decimal("0.000001"))
        assert Decimal(f["fee"]) == base + Decimal(f["builderFee"])
    assert account_value(info, builder.address) == total_builder
    # an order without the builder field pays no builder fee
    only_status(ex.market_close("ETH"))
    assert "builderFee" not in info.user_fills(user.address)[0]


def test_approving_zero_revokes_the_builder(wallet: MakeWallet, exchange: MakeExchange, info: Info) -> None:
    user, builder = wallet("10000"), wallet(None)
    ex = exchange(user)
    ok(ex.approve_builder_fee(builder.address, "0.01%"))
    ok(ex.approve_builder_fee(builder.address, "0%"))
    assert max_builder_fee(info, user.address, builder.address) == 0
    answer = ex.market_open("ETH", True, 0.1, builder={"b": builder.address.lower(), "f": 1})
    assert only_status(answer) == {"error": "Builder fee has not been approved."}


def test_approve_builder_fee_above_the_cap_is_refused(wallet: MakeWallet, exchange: MakeExchange) -> None:
    user, builder = wallet("10000"), wallet(None)
    answer = exchange(user).approve_builder_fee(builder.address, "0.2%")
    assert answer["status"] == "err" and "maxFeeRate" in answer["response"]


def test_transfer_signed_by_an_agent_is_refused(
    wallet: MakeWallet, exchange: MakeExchange, info: Info
) -> None:
    """User-signed actions act for the key that signed them: an agent key has no balance to send."""
    user, receiver = wallet("1000"), wallet(None)
    approved, agent_key = exchange(user).approve_agent()
    assert approved["status"] == "ok"
    agent = Account.from_key(agent_key)
    answer = exchange(agent, account_address=user.address).usd_transfer(10, receiver.address)
    assert answer["status"] == "err"
    assert account_value(info, user.address) == Decimal(1000)
