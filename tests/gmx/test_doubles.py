"""The contract doubles expose the REAL ABIs: every function the adapter calls has the signature of the
gmx-synthetics deployment's ABI (adapters/gmx/data/abi.json), so calldata built for GMX runs on them."""

from __future__ import annotations

import decimal

import pytest

from adapters.gmx.contracts import abi, abi_type, signature
from tests.gmx.evm import compiled

DOUBLES = {
    "Reader": "reader",
    "DataStore": "data_store",
    "ExchangeRouter": "exchange_router",
    "Router": "router",
    "ERC20": "erc20",
    "AggregatorV3": "price_feed",
}
NOT_IN_DOUBLES = {("ExchangeRouter", "cancelOrder")}  # the adapter sends it; the double has no cancel


@pytest.mark.parametrize("contract", sorted(DOUBLES))
def test_a_double_has_the_real_signatures(contract: str) -> None:
    double_abi, _ = compiled(DOUBLES[contract])
    doubled = {signature(f) for f in double_abi if f.get("type") == "function"}
    for fragment in abi(contract):
        if fragment["type"] != "function" or (contract, fragment["name"]) in NOT_IN_DOUBLES:
            continue
        assert signature(fragment) in doubled, f"{contract} double lacks {signature(fragment)}"
        (mine,) = [f for f in double_abi if f.get("name") == fragment["name"]]
        assert [abi_type(o) for o in mine["outputs"]] == [abi_type(o) for o in fragment["outputs"]]


def test_compiling_leaves_the_decimal_context_alone() -> None:
    before = decimal.getcontext()
    compiled.cache_clear()
    compiled("data_store")
    assert decimal.getcontext() is before and before.prec == 28  # vyper would lock it at 78
