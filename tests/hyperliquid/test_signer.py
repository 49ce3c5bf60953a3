"""The fast signer against the SDK's own `sign_l1_action`, its golden vectors and its recovery helper."""

from __future__ import annotations

import json
import pickle
import threading
import traceback
from decimal import Decimal
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_hash.auto import keccak as eth_hash_keccak
from hyperliquid.exchange import Exchange
from hyperliquid.utils import constants as sdk_constants
from hyperliquid.utils import signing as sdk
from hyperliquid.utils.types import Cloid
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from adapters.hyperliquid.signer import (
    Signer,
    SignerKeyError,
    exchange_body,
    keccak256,
    l1_action_hash,
    l1_digest,
)
from adapters.hyperliquid.wire import (
    cancel_action,
    cancel_by_cloid_action,
    noop_action,
    order_action,
    order_wire,
    schedule_cancel_action,
    update_leverage_action,
)

SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

# ---------------------------------------------------------------------------------------------------
# Golden vectors from hyperliquid-python-sdk tests/signing_test.py (v0.23–0.24).
# MIT licence, Copyright (c) 2024 Hyperliquid Labs.
# ---------------------------------------------------------------------------------------------------
GOLDEN_KEY = "0x0123456789012345678901234567890123456789012345678901234567890123"
GOLDEN_VAULT = "0x1719884eb866cb12b2287399b15f7db5e7d775ea"
ORDER_100_AT_100 = {
    "type": "order",
    "orders": [{"a": 1, "b": True, "p": "100", "s": "100", "r": False, "t": {"limit": {"tif": "Gtc"}}}],
    "grouping": "na",
}
ORDER_WITH_CLOID = {
    "type": "order",
    "orders": [
        {
            "a": 1,
            "b": True,
            "p": "100",
            "s": "100",
            "r": False,
            "t": {"limit": {"tif": "Gtc"}},
            "c": "0x00000000000000000000000000000001",
        }
    ],
    "grouping": "na",
}
TPSL_ORDER = {
    "type": "order",
    "orders": [
        {
            "a": 1,
            "b": True,
            "p": "100",
            "s": "100",
            "r": False,
            "t": {"trigger": {"isMarket": True, "triggerPx": "103", "tpsl": "sl"}},
        }
    ],
    "grouping": "na",
}
DUMMY = {"type": "dummy", "num": 100_000_000_000}  # float_to_int_for_hashing(1000)
SUB_ACCOUNT_TRANSFER = {
    "type": "subAccountTransfer",
    "subAccountUser": "0x1d9470d4b963f552e6f671a81619d395877bf409",
    "isDeposit": True,
    "usd": 10,
}
# (action, vault, is_mainnet, r, s, v); nonce 0, no expiresAfter.
GOLDEN: list[tuple[dict[str, Any], str | None, bool, str, str, int]] = [
    (
        DUMMY,
        None,
        True,
        "0x53749d5b30552aeb2fca34b530185976545bb22d0b3ce6f62e31be961a59298",
        "0x755c40ba9bf05223521753995abb2f73ab3229be8ec921f350cb447e384d8ed8",
        27,
    ),
    (
        DUMMY,
        None,
        False,
        "0x542af61ef1f429707e3c76c5293c80d01f74ef853e34b76efffcb57e574f9510",
        "0x17b8b32f086e8cdede991f1e2c529f5dd5297cbe8128500e00cbaf766204a613",
        28,
    ),
    (
        ORDER_100_AT_100,
        None,
        True,
        "0xd65369825a9df5d80099e513cce430311d7d26ddf477f5b3a33d2806b100d78e",
        "0x2b54116ff64054968aa237c20ca9ff68000f977c93289157748a3162b6ea940e",
        28,
    ),
    (
        ORDER_100_AT_100,
        None,
        False,
        "0x82b2ba28e76b3d761093aaded1b1cdad4960b3af30212b343fb2e6cdfa4e3d54",
        "0x6b53878fc99d26047f4d7e8c90eb98955a109f44209163f52d8dc4278cbbd9f5",
        27,
    ),
    (
        ORDER_WITH_CLOID,
        None,
        True,
        "0x41ae18e8239a56cacbc5dad94d45d0b747e5da11ad564077fcac71277a946e3",
        "0x3c61f667e747404fe7eea8f90ab0e76cc12ce60270438b2058324681a00116da",
        27,
    ),
    (
        ORDER_WITH_CLOID,
        None,
        False,
        "0xeba0664bed2676fc4e5a743bf89e5c7501aa6d870bdb9446e122c9466c5cd16d",
        "0x7f3e74825c9114bc59086f1eebea2928c190fdfbfde144827cb02b85bbe90988",
        28,
    ),
    (
        DUMMY,
        GOLDEN_VAULT,
        True,
        "0x3c548db75e479f8012acf3000ca3a6b05606bc2ec0c29c50c515066a326239",
        "0x4d402be7396ce74fbba3795769cda45aec00dc3125a984f2a9f23177b190da2c",
        28,
    ),
    (
        DUMMY,
        GOLDEN_VAULT,
        False,
        "0xe281d2fb5c6e25ca01601f878e4d69c965bb598b88fac58e475dd1f5e56c362b",
        "0x7ddad27e9a238d045c035bc606349d075d5c5cd00a6cd1da23ab5c39d4ef0f60",
        27,
    ),
    (
        TPSL_ORDER,
        None,
        True,
        "0x98343f2b5ae8e26bb2587daad3863bc70d8792b09af1841b6fdd530a2065a3f9",
        "0x6b5bb6bb0633b710aa22b721dd9dee6d083646a5f8e581a20b545be6c1feb405",
        27,
    ),
    (
        TPSL_ORDER,
        None,
        False,
        "0x971c554d917c44e0e1b6cc45d8f9404f32172a9d3b3566262347d0302896a2e4",
        "0x206257b104788f80450f8e786c329daa589aa0b32ba96948201ae556d5637eac",
        28,
    ),
    (
        {"type": "createSubAccount", "name": "example"},
        None,
        True,
        "0x51096fe3239421d16b671e192f574ae24ae14329099b6db28e479b86cdd6caa7",
        "0xb71f7d293af92d3772572afb8b102d167a7cef7473388286bc01f52a5c5b423",
        27,
    ),
    (
        {"type": "createSubAccount", "name": "example"},
        None,
        False,
        "0xa699e3ed5c2b89628c746d3298b5dc1cca604694c2c855da8bb8250ec8014a5b",
        "0x53f1b8153a301c72ecc655b1c315d64e1dcea3ee58921fd7507e35818fcc1584",
        28,
    ),
    (
        SUB_ACCOUNT_TRANSFER,
        None,
        True,
        "0x43592d7c6c7d816ece2e206f174be61249d651944932b13343f4d13f306ae602",
        "0x71a926cb5c9a7c01c3359ec4c4c34c16ff8107d610994d4de0e6430e5cc0f4c9",
        28,
    ),
    (
        SUB_ACCOUNT_TRANSFER,
        None,
        False,
        "0xe26574013395ad55ee2f4e0575310f003c5bb3351b5425482e2969fa51543927",
        "0xefb08999196366871f919fd0e138b3a7f30ee33e678df7cfaf203e25f0a4278",
        28,
    ),
    (
        {"type": "scheduleCancel"},
        None,
        True,
        "0x6cdfb286702f5917e76cd9b3b8bf678fcc49aec194c02a73e6d4f16891195df9",
        "0x6557ac307fa05d25b8d61f21fb8a938e703b3d9bf575f6717ba21ec61261b2a0",
        27,
    ),
    (
        {"type": "scheduleCancel"},
        None,
        False,
        "0xc75bb195c3f6a4e06b7d395acc20bbb224f6d23ccff7c6a26d327304e6efaeed",
        "0x342f8ede109a29f2c0723bd5efb9e9100e3bbb493f8fb5164ee3d385908233df",
        28,
    ),
    (
        {"type": "scheduleCancel", "time": 123456789},
        None,
        True,
        "0x609cb20c737945d070716dcc696ba030e9976fcf5edad87afa7d877493109d55",
        "0x16c685d63b5c7a04512d73f183b3d7a00da5406ff1f8aad33f8ae2163bab758b",
        28,
    ),
    (
        {"type": "scheduleCancel", "time": 123456789},
        None,
        False,
        "0x4e4f2dbd4107c69783e251b7e1057d9f2b9d11cee213441ccfa2be63516dc5bc",
        "0x706c656b23428c8ba356d68db207e11139ede1670481a9e01ae2dfcdb0e1a678",
        27,
    ),
]


@pytest.mark.parametrize(("action", "vault", "is_mainnet", "r", "s", "v"), GOLDEN)
def test_sdk_golden_vectors(
    action: dict[str, Any], vault: str | None, is_mainnet: bool, r: str, s: str, v: int
) -> None:
    signer = Signer(GOLDEN_KEY, is_mainnet=is_mainnet)
    assert signer.sign_l1(action, 0, vault) == {"r": r, "s": s, "v": v}


def test_golden_phantom_agent_from_our_order_wire() -> None:
    # SDK vector: ETH (asset 4) buy 0.0147 @ 1670.1 IOC, nonce 1677777606040 -> this connectionId.
    action = order_action([order_wire(4, True, Decimal("1670.1"), Decimal("0.0147"), False, "Ioc")])
    connection_id = l1_action_hash(action, None, 1677777606040, None)
    assert connection_id.hex() == "0fcbeda5ae3c4950a548021552a4fea2226858c4453571bf3f24ba017eac2908"


def test_golden_order_vectors_from_our_order_wire() -> None:
    assert order_action([order_wire(1, True, Decimal(100), Decimal(100), False, "Gtc")]) == ORDER_100_AT_100
    cloid = "0x00000000000000000000000000000001"
    assert order_action([order_wire(1, True, Decimal(100), Decimal(100), False, "Gtc", cloid)]) == (
        ORDER_WITH_CLOID
    )


# ---------------------------------------------------------------------------------------------------
# Property: bit-identical to the SDK for random keys, actions, vaults, nonces, expiries and networks.
# ---------------------------------------------------------------------------------------------------
keys = st.integers(min_value=1, max_value=SECP256K1_ORDER - 1).map(lambda k: k.to_bytes(32, "big"))
u64 = st.integers(min_value=0, max_value=2**64 - 1)
assets = st.integers(min_value=0, max_value=20_000)
cloids = st.binary(min_size=16, max_size=16).map(lambda b: "0x" + b.hex())
wire_decimals = st.decimals(min_value=0, max_value=10**9, places=8, allow_nan=False, allow_infinity=False)
addresses = st.binary(min_size=20, max_size=20).flatmap(
    lambda b: st.sampled_from(["0x" + b.hex(), Account.from_key(b"\x01" * 32).address, b.hex()])
)
order_wires = st.builds(
    order_wire,
    asset=assets,
    is_buy=st.booleans(),
    px=wire_decimals,
    sz=wire_decimals,
    reduce_only=st.booleans(),
    tif=st.sampled_from(["Alo", "Ioc", "Gtc"]),
    cloid=st.none() | cloids,
)
actions: st.SearchStrategy[Any] = st.one_of(
    st.lists(order_wires, min_size=1, max_size=4).map(order_action),
    st.lists(st.tuples(assets, u64), min_size=1, max_size=4).map(cancel_action),
    st.lists(st.tuples(assets, cloids), min_size=1, max_size=4).map(cancel_by_cloid_action),
    st.builds(update_leverage_action, assets, st.integers(1, 50), st.booleans()),
    st.builds(schedule_cancel_action, st.none() | u64),
    st.just(noop_action()),
)


@settings(max_examples=150)
@given(
    key=keys,
    action=actions,
    nonce=u64,
    vault=st.none() | addresses,
    expires_after=st.none() | u64,
    is_mainnet=st.booleans(),
)
def test_sign_l1_is_bit_identical_to_the_sdk(
    key: bytes, action: Any, nonce: int, vault: str | None, expires_after: int | None, is_mainnet: bool
) -> None:
    ours = Signer(key, is_mainnet=is_mainnet).sign_l1(action, nonce, vault, expires_after)
    theirs = sdk.sign_l1_action(Account.from_key(key), action, vault, nonce, expires_after, is_mainnet)
    assert ours == theirs


@settings(max_examples=40)
@given(
    key=keys,
    action=actions,
    nonce=u64,
    vault=st.none() | addresses,
    expires_after=st.none() | u64,
    is_mainnet=st.booleans(),
)
def test_sdk_recovers_our_address(
    key: bytes, action: Any, nonce: int, vault: str | None, expires_after: int | None, is_mainnet: bool
) -> None:
    signer = Signer(key, is_mainnet=is_mainnet)
    signature = signer.sign_l1(action, nonce, vault, expires_after)
    recovered = sdk.recover_agent_or_user_from_l1_action(
        action, signature, vault, nonce, expires_after, is_mainnet
    )
    assert recovered == signer.address == Account.from_key(key).address
    # The other network's domain recovers someone else: the source byte is really in the digest.
    other = sdk.recover_agent_or_user_from_l1_action(
        action, signature, vault, nonce, expires_after, not is_mainnet
    )
    assert other != signer.address


@settings(max_examples=50)
@given(action=actions, nonce=u64, vault=st.none() | addresses, is_mainnet=st.booleans())
def test_digest_is_eth_accounts_eip712_digest(
    action: Any, nonce: int, vault: str | None, is_mainnet: bool
) -> None:
    connection_id = l1_action_hash(action, vault, nonce, None)
    assert connection_id == sdk.action_hash(action, vault, nonce, None)
    signable = encode_typed_data(
        full_message=sdk.l1_payload(sdk.construct_phantom_agent(connection_id, is_mainnet))
    )
    expected = eth_hash_keccak(b"\x19" + signable.version + signable.header + signable.body)
    assert l1_digest(connection_id, is_mainnet) == expected


@given(data=st.binary(max_size=600))
def test_fast_keccak_matches_eth_hash(data: bytes) -> None:
    assert keccak256(data) == eth_hash_keccak(data)


def test_fast_keccak_is_correct_across_threads() -> None:
    # ctypes releases the GIL mid-hash: threads sharing one keccak state would corrupt each other.
    inputs = [bytes([i]) * (i * 7 % 300) for i in range(64)]
    expected = [eth_hash_keccak(d) for d in inputs]
    failures: list[int] = []

    def work() -> None:
        for _ in range(200):
            for i, data in enumerate(inputs):
                if keccak256(data) != expected[i]:
                    failures.append(i)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


# ---------------------------------------------------------------------------------------------------
# The /exchange body: exactly what the SDK's Exchange posts, captured at its HTTP layer.
# ---------------------------------------------------------------------------------------------------
class RecordingExchange(Exchange):  # type: ignore[misc]
    """The real SDK Exchange; only its HTTP `post` is replaced to record the body instead of sending."""

    def __init__(self, wallet: Any, base_url: str, vault_address: str | None) -> None:
        meta = {"universe": [{"name": "BTC", "szDecimals": 5}, {"name": "ETH", "szDecimals": 4}]}
        spot_meta: dict[str, list[Any]] = {"universe": [], "tokens": []}
        super().__init__(wallet, base_url, meta=meta, spot_meta=spot_meta, vault_address=vault_address)
        self.bodies: list[dict[str, Any]] = []

    def post(self, url_path: str, payload: Any = None) -> Any:
        assert url_path == "/exchange"
        self.bodies.append(payload)
        return {"status": "ok"}


CLOID = "0x0000000000000000000000000000abcd"


@pytest.mark.parametrize("base_url", [sdk_constants.MAINNET_API_URL, sdk_constants.TESTNET_API_URL])
@pytest.mark.parametrize("vault", [None, GOLDEN_VAULT])
@pytest.mark.parametrize("expires_after", [None, 1_900_000_000_000])
def test_exchange_body_matches_what_the_sdk_posts(
    base_url: str, vault: str | None, expires_after: int | None
) -> None:
    wallet = Account.from_key(GOLDEN_KEY)
    exchange = RecordingExchange(wallet, base_url, vault)
    exchange.set_expires_after(expires_after)
    exchange.order(
        "ETH", True, 0.0147, 1670.1, {"limit": {"tif": "Ioc"}}, reduce_only=False, cloid=Cloid(CLOID)
    )
    exchange.order("BTC", False, 0.5, 60001.0, {"limit": {"tif": "Alo"}}, reduce_only=True)
    exchange.cancel("ETH", 123456)
    exchange.cancel_by_cloid("BTC", Cloid(CLOID))
    exchange.update_leverage(7, "ETH", is_cross=False)
    exchange.schedule_cancel(1_800_000_000_000)
    exchange.schedule_cancel(None)
    exchange.noop(42)
    ours_actions: list[Any] = [
        order_action([order_wire(1, True, Decimal("1670.1"), Decimal("0.0147"), False, "Ioc", CLOID)]),
        order_action([order_wire(0, False, Decimal("60001"), Decimal("0.5"), True, "Alo")]),
        cancel_action([(1, 123456)]),
        cancel_by_cloid_action([(0, CLOID)]),
        update_leverage_action(1, 7, is_cross=False),
        schedule_cancel_action(1_800_000_000_000),
        schedule_cancel_action(None),
        noop_action(),
    ]
    signer = Signer(GOLDEN_KEY, is_mainnet=base_url == sdk_constants.MAINNET_API_URL)
    assert len(exchange.bodies) == len(ours_actions)
    for theirs, action in zip(exchange.bodies, ours_actions, strict=True):
        ours = signer.sign_l1_body(action, theirs["nonce"], vault, expires_after)
        assert json.dumps(ours) == json.dumps(theirs)  # same keys, values *and* order, as sent


def test_exchange_body_drops_the_vault_for_transfers_as_the_sdk_does() -> None:
    signature = Signer(GOLDEN_KEY, is_mainnet=False).sign_l1(noop_action(), 1)
    body = exchange_body({"type": "usdClassTransfer"}, signature, 1, GOLDEN_VAULT)
    assert body["vaultAddress"] is None
    assert exchange_body(noop_action(), signature, 1, GOLDEN_VAULT)["vaultAddress"] == GOLDEN_VAULT


@pytest.mark.parametrize("base_url", [sdk_constants.MAINNET_API_URL, sdk_constants.TESTNET_API_URL])
@pytest.mark.parametrize("name", [None, "mirrorbot"])
def test_approve_agent_matches_the_sdk(base_url: str, name: str | None) -> None:
    agent = Account.from_key(b"\x07" * 32).address
    is_mainnet = base_url == sdk_constants.MAINNET_API_URL
    signer = Signer(GOLDEN_KEY, is_mainnet=is_mainnet)
    action, signature = signer.sign_approve_agent(agent, 1_700_000_000_000, name)

    sdk_action = {
        "type": "approveAgent",
        "agentAddress": agent,
        "agentName": name or "",
        "nonce": 1_700_000_000_000,
    }
    sdk_signature = sdk.sign_agent(Account.from_key(GOLDEN_KEY), sdk_action, is_mainnet)
    if name is None:
        del sdk_action["agentName"]
    assert signature == sdk_signature
    assert json.dumps(action) == json.dumps(sdk_action)
    assert action["hyperliquidChain"] == ("Mainnet" if is_mainnet else "Testnet")

    recovered = sdk.recover_user_from_user_signed_action(
        dict(action, agentName=name or ""),
        signature,
        [
            {"name": "hyperliquidChain", "type": "string"},
            {"name": "agentAddress", "type": "address"},
            {"name": "agentName", "type": "string"},
            {"name": "nonce", "type": "uint64"},
        ],
        "HyperliquidTransaction:ApproveAgent",
        is_mainnet,
    )
    assert recovered == signer.address


# ---------------------------------------------------------------------------------------------------
# The key stays secret; inputs are validated with messages naming the field.
# ---------------------------------------------------------------------------------------------------
def _key_spellings(key: bytes) -> list[str]:
    hex_key = key.hex()
    return [hex_key, hex_key.upper(), hex_key[:16], hex_key[-16:], repr(key)]


@settings(max_examples=25)
@given(key=keys, is_mainnet=st.booleans())
def test_key_never_appears_in_repr_or_str(key: bytes, is_mainnet: bool) -> None:
    for given_key in (key, "0x" + key.hex(), key.hex().upper(), SecretStr("0x" + key.hex())):
        signer = Signer(given_key, is_mainnet=is_mainnet)
        shown = repr(signer) + str(signer) + f"{signer}" + repr([signer])
        assert signer.address in shown
        for spelling in _key_spellings(key):
            assert spelling.lower() not in shown.lower()


def test_signer_cannot_be_pickled() -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(Signer(GOLDEN_KEY, is_mainnet=False))


@pytest.mark.parametrize(
    "bad_key",
    [
        "0x" + "zz" * 32,
        "0x" + "ab" * 31,
        "0x" + "00" * 32,
        "0x" + format(SECP256K1_ORDER, "064x"),
        b"\x05" * 33,
    ],
)
def test_bad_keys_are_refused_without_echoing_them(bad_key: str | bytes) -> None:
    with pytest.raises(SignerKeyError) as caught:
        Signer(bad_key, is_mainnet=False)
    # The whole traceback as a log would print it, chained exceptions included.
    shown = "".join(traceback.format_exception(caught.value))
    raw = bad_key if isinstance(bad_key, str) else bad_key.hex()
    assert raw.removeprefix("0x")[:12] not in shown


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"nonce": -1}, "nonce"),
        ({"nonce": 2**64}, "nonce"),
        ({"nonce": 1, "expires_after": -5}, "expires_after"),
        ({"nonce": 1, "vault_address": "0x1234"}, "vault_address"),
        ({"nonce": 1, "vault_address": "0x" + "g" * 40}, "vault_address"),
    ],
)
def test_bad_l1_inputs_name_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        Signer(GOLDEN_KEY, is_mainnet=False).sign_l1(noop_action(), **kwargs)
