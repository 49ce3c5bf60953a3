"""Transfers, builder-fee approvals and referrals: the /exchange actions that move USDC or set a user's
standing rather than trade.

User-signed (EIP-712, see auth.py `USER_SIGNED_TYPES`): `usdSend`, `withdraw3`, `usdClassTransfer`,
`approveBuilderFee`. L1-signed: `subAccountTransfer`, `vaultTransfer`, `setReferrer`. Every handler
validates the whole action before it changes anything, so a refused action changes nothing. Each
accepted transfer is written to the user's non-funding ledger (`userNonFundingLedgerUpdates`).

Where the venue's exact refusal wording is not known it is marked `# wording: localnet` here and listed
in docs/localnet.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.localnet.accounts import Account
from adapters.localnet.instruments import USDC_TOKEN_INDEX
from adapters.localnet.margin import margin_state
from adapters.localnet.rules import fmt, usd
from adapters.localnet.state import ZERO_ADDRESS, State
from adapters.localnet.types import ExchangeError

TransferHandler = Callable[[State, str, dict[str, Any], int, int], dict[str, Any]]

OK: dict[str, Any] = {"status": "ok", "response": {"type": "default"}}
WITHDRAW_FEE = Decimal(1)  # the venue's flat withdrawal fee, in USDC
# The most a user may approve a builder to charge: 0.1% on perps (the venue's documented cap; its 1%
# spot cap is not modelled: the localnet's builder fees apply to perp fills).
MAX_BUILDER_FEE_TENTHS_BP = 100
ERR_BUILDER_NOT_APPROVED = "Builder fee has not been approved."
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_SUBACCOUNT_SUFFIX = re.compile(r"^(?P<amount>\S+) subaccount:(?P<sub>0x[0-9a-fA-F]{40})$")
_PERCENT = re.compile(r"^(?P<pct>\d+(\.\d+)?)%$")
REFERRAL_CODE = re.compile(r"^[A-Za-z0-9_-]{1,20}$")


# --- fields ------------------------------------------------------------------------------------------------
def _address(action: dict[str, Any], field: str) -> str:
    value = action.get(field)
    if not isinstance(value, str) or not _ADDRESS.match(value):
        raise ExchangeError(f"Invalid action field '{field}': expected a 0x-prefixed 40-hex-digit address.")
    return value.lower()


def _amount(value: object, field: str) -> Decimal:
    """A positive USDC amount given as a decimal string (how the SDK sends it: `str(amount)`)."""
    try:
        amount = Decimal(value) if isinstance(value, str) else None
        valid = amount is not None and amount.is_finite() and amount > 0 and amount == usd(amount)
    except InvalidOperation:  # e.g. "1e100": too many digits to hold at USDC's 6 decimals
        valid = False
    if not valid or amount is None:
        raise ExchangeError(
            f"Invalid action field '{field}': expected a positive USDC amount with at most 6 decimals."
        )
    return amount


def _micro_usd(action: dict[str, Any], field: str) -> Decimal:
    """A positive amount in millionths of USDC (the SDK's `usd` integers for sub-account and vault moves)."""
    value = action.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ExchangeError(
            f"Invalid action field '{field}': expected a positive integer (millionths of USDC)."
        )
    return Decimal(value).scaleb(-6)


def _bool(action: dict[str, Any], field: str) -> bool:
    value = action.get(field)
    if not isinstance(value, bool):
        raise ExchangeError(f"Invalid action field '{field}': expected a boolean.")
    return value


# --- balances ----------------------------------------------------------------------------------------------
def withdrawable(state: State, account: Account) -> Decimal:
    """The perp USDC that can leave `account`: what is not backing positions or resting orders."""
    available = margin_state(account, state.spec_of, state.mids, state.open_orders(account.address)).available
    return max(usd(available, "ROUND_DOWN"), Decimal(0))


def _debit_perp(state: State, account: Account, amount: Decimal) -> None:
    if amount > withdrawable(state, account):
        raise ExchangeError("Insufficient balance for transfer.")  # wording: localnet
    account.deposits -= amount


def _account(state: State, address: str) -> Account:
    account = state.accounts.get(address)
    if account is None:
        account = state.accounts[address] = Account(address=address)
    return account


def _record(state: State, user: str, now: int, nonce: int, delta: dict[str, Any]) -> None:
    state.ledger[user].append(
        {"time": now, "hash": "0x" + state.digest("ledger", user, nonce), "delta": delta}
    )


# --- user-signed -------------------------------------------------------------------------------------------
def usd_send(state: State, user: str, action: dict[str, Any], nonce: int, now: int) -> dict[str, Any]:
    destination = _address(action, "destination")
    amount = _amount(action.get("amount"), "amount")
    if destination == user:
        raise ExchangeError("Cannot send to self.")  # wording: localnet
    _debit_perp(state, state.accounts[user], amount)
    if destination != ZERO_ADDRESS:  # sent to the zero address (as the SDK's example does): burnt
        _account(state, destination).deposits += amount
    delta = {
        "type": "send",
        "user": user,
        "destination": destination,
        "token": "USDC",
        "amount": fmt(amount),
        "usdcValue": fmt(amount),
        "fee": "0.0",
    }
    _record(state, user, now, nonce, delta)
    _record(state, destination, now, nonce, delta)
    return dict(OK)


def withdraw(state: State, user: str, action: dict[str, Any], nonce: int, now: int) -> dict[str, Any]:
    _address(action, "destination")  # an address on the bridge's chain: nothing to credit here
    amount = _amount(action.get("amount"), "amount")
    if amount < WITHDRAW_FEE:  # the SDK's example withdraws exactly 1
        raise ExchangeError("Withdrawal amount must cover the $1 withdrawal fee.")  # wording: localnet
    _debit_perp(state, state.accounts[user], amount)
    delta = {"type": "withdraw", "usdc": fmt(amount - WITHDRAW_FEE), "nonce": nonce, "fee": fmt(WITHDRAW_FEE)}
    _record(state, user, now, nonce, delta)
    return dict(OK)


def usd_class_transfer(
    state: State, user: str, action: dict[str, Any], nonce: int, now: int
) -> dict[str, Any]:
    """Move USDC between the perp balance and the spot balance (`toPerp`), of the signer or of one of its
    sub-accounts (the SDK appends ` subaccount:0x…` to the amount when it acts for one)."""
    raw = action.get("amount")
    target = user
    if isinstance(raw, str) and (match := _SUBACCOUNT_SUFFIX.match(raw)):
        raw, target = match["amount"], match["sub"].lower()
        sub = state.accounts.get(target)
        if sub is None or sub.role != "subAccount" or sub.owner != user:
            raise ExchangeError(f"User {user} is not the master of sub-account {target}.")
    amount = _amount(raw, "amount")
    to_perp = _bool(action, "toPerp")
    account = state.accounts[target]
    if to_perp:
        if amount > state.spot_available(target, USDC_TOKEN_INDEX):  # open spot buys hold theirs
            raise ExchangeError("Insufficient balance for transfer.")  # wording: localnet
        state.spot_balances[target][USDC_TOKEN_INDEX] -= amount
        account.deposits += amount
    else:
        _debit_perp(state, account, amount)
        state.spot_balances[target][USDC_TOKEN_INDEX] += amount
    _record(
        state, target, now, nonce, {"type": "accountClassTransfer", "usdc": fmt(amount), "toPerp": to_perp}
    )
    return dict(OK)


def approve_builder_fee(
    state: State, user: str, action: dict[str, Any], nonce: int, now: int
) -> dict[str, Any]:
    builder = _address(action, "builder")
    raw = action.get("maxFeeRate")
    match = _PERCENT.match(raw) if isinstance(raw, str) else None
    # "0.001%" is 1 tenth of a basis point; finer rates than that cannot be charged (`f` is an integer)
    tenths = Decimal(match["pct"]) * 1000 if match else None
    if tenths is None or tenths != tenths.to_integral_value() or tenths > MAX_BUILDER_FEE_TENTHS_BP:
        raise ExchangeError(
            'Invalid action field \'maxFeeRate\': expected a percentage string from "0%" to "0.1%" '
            'in steps of 0.001% (e.g. "0.001%").'
        )
    if builder == user:
        raise ExchangeError("Cannot approve self as builder.")  # wording: localnet
    if tenths == 0:
        state.builder_approvals[user].pop(builder, None)  # approving 0% revokes
    else:
        state.builder_approvals[user][builder] = int(tenths)
    return dict(OK)


# --- L1 ----------------------------------------------------------------------------------------------------
def sub_account_transfer(
    state: State, user: str, action: dict[str, Any], nonce: int, now: int
) -> dict[str, Any]:
    sub_address = _address(action, "subAccountUser")
    is_deposit = _bool(action, "isDeposit")
    amount = _micro_usd(action, "usd")
    sub = state.accounts.get(sub_address)
    if sub is None or sub.role != "subAccount" or sub.owner != user:
        raise ExchangeError(f"User {user} is not the master of sub-account {sub_address}.")
    master = state.accounts[user]
    source, target = (master, sub) if is_deposit else (sub, master)
    _debit_perp(state, source, amount)
    target.deposits += amount
    delta = {
        "type": "subAccountTransfer",
        "usdc": fmt(amount),
        "user": source.address,
        "destination": target.address,
    }
    _record(state, user, now, nonce, delta)
    _record(state, sub_address, now, nonce, delta)
    return dict(OK)


def vault_transfer(state: State, user: str, action: dict[str, Any], nonce: int, now: int) -> dict[str, Any]:
    """Deposit into or withdraw from a vault. The localnet keeps each depositor's USDC in the vault at cost
    (no share of the vault's PnL, no lock-up): a withdrawal may take back at most what was put in."""
    vault_address = _address(action, "vaultAddress")
    is_deposit = _bool(action, "isDeposit")
    amount = _micro_usd(action, "usd")
    vault = state.accounts.get(vault_address)
    if vault is None or vault.role != "vault":
        raise ExchangeError(f"Vault not registered: {vault_address}")
    key = (vault_address, user)
    if is_deposit:
        _debit_perp(state, state.accounts[user], amount)
        vault.deposits += amount
        state.vault_equity[key] += amount
    else:
        if amount > state.vault_equity[key]:
            raise ExchangeError("Insufficient vault equity for withdrawal.")  # wording: localnet
        _debit_perp(state, vault, amount)
        state.vault_equity[key] -= amount
        state.accounts[user].deposits += amount
    kind = "vaultDeposit" if is_deposit else "vaultWithdraw"
    _record(state, user, now, nonce, {"type": kind, "vault": vault_address, "usdc": fmt(amount)})
    return dict(OK)


def set_referrer(state: State, user: str, action: dict[str, Any], nonce: int, now: int) -> dict[str, Any]:
    code = action.get("code")
    if not isinstance(code, str) or not REFERRAL_CODE.match(code):
        raise ExchangeError(
            "Invalid action field 'code': expected a referral code (1-20 letters, digits, _ or -)."
        )
    owner = state.referral_codes.get(code)
    if owner is None:
        raise ExchangeError("Referral code does not exist.")  # wording: localnet
    if owner == user:
        raise ExchangeError("Cannot use own referral code.")  # wording: localnet
    if user in state.referred_by:
        raise ExchangeError("Referrer already set.")  # wording: localnet
    state.referred_by[user] = code
    return dict(OK)


def builder_fee_problem(state: State, user: str, builder: object) -> tuple[str, int] | str | None:
    """An order action's `builder` field checked against the user's approvals: (builder, tenths of a
    basis point) to charge on its fills, None without one, or the venue's refusal text."""
    if builder is None:
        return None
    if not isinstance(builder, dict):
        return "Invalid order field 'builder': expected {b: address, f: fee in tenths of a basis point}."
    address, tenths = builder.get("b"), builder.get("f")
    if (
        not isinstance(address, str)
        or not _ADDRESS.match(address)
        or not isinstance(tenths, int)
        or isinstance(tenths, bool)
        or tenths < 0
    ):
        return "Invalid order field 'builder': expected {b: address, f: fee in tenths of a basis point}."
    approved = state.builder_approvals.get(user, {}).get(address.lower())
    if approved is None or tenths > approved:
        return ERR_BUILDER_NOT_APPROVED
    return (address.lower(), tenths)


USER_SIGNED_HANDLERS: dict[str, TransferHandler] = {
    "usdSend": usd_send,
    "withdraw3": withdraw,
    "usdClassTransfer": usd_class_transfer,
    "approveBuilderFee": approve_builder_fee,
}
L1_HANDLERS: dict[str, TransferHandler] = {
    "subAccountTransfer": sub_account_transfer,
    "vaultTransfer": vault_transfer,
    "setReferrer": set_referrer,
}
