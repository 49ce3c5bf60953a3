"""Tick, lot, $10 minimum, unknown asset and number formatting: each rule and its venue wording."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.localnet.instruments import DEFAULT_INSTRUMENTS
from adapters.localnet.rules import fmt, round_price, valid_price, valid_size
from tests.localnet.core_helpers import ALICE, Net, error_of, limit_wire


@pytest.fixture
def net() -> Net:
    net = Net()
    net.ex.fund(ALICE, Decimal(1_000_000))
    return net


def test_default_instruments_carry_the_venues_decimals_and_leverage() -> None:
    net = Net()
    universe = net.info({"type": "meta"})["universe"]
    by_name = {row["name"]: (row["szDecimals"], row["maxLeverage"]) for row in universe}
    assert by_name == {
        "BTC": (5, 40),
        "ETH": (4, 25),
        "SOL": (2, 20),
        "ARB": (1, 10),
        "DOGE": (0, 10),
        "HYPE": (2, 10),
    }
    assert [row["name"] for row in universe] == [spec.coin for spec in DEFAULT_INSTRUMENTS]
    spot = net.info({"type": "spotMeta"})
    assert spot["tokens"][0]["name"] == "USDC"
    # spot pairs as the venue names them: canonical BASE/QUOTE, the others @index (issue 16)
    assert [(p["name"], p["tokens"]) for p in spot["universe"]] == [("PURR/USDC", [1, 0]), ("@1", [2, 0])]


@pytest.mark.parametrize(
    ("text", "out"),
    [
        ("3000", "3000.0"),
        ("0.1", "0.1"),
        ("0.10", "0.1"),
        ("-2.50", "-2.5"),
        ("0", "0.0"),
        ("1E+3", "1000.0"),
    ],
)
def test_numbers_are_written_as_the_venue_writes_them(text: str, out: str) -> None:
    assert fmt(Decimal(text)) == out


@pytest.mark.parametrize(
    ("px", "sz_decimals", "ok"),
    [
        ("60001", 5, True),  # integer: always valid
        ("123456", 5, True),  # integer with 6 significant figures: still valid
        ("60000.5", 5, False),  # BTC allows 1 decimal but this has 6 significant figures
        ("3000.5", 4, True),
        ("3000.55", 4, False),  # 6 significant figures
        ("0.123456", 0, False),  # 6 significant figures
        ("0.12345", 0, True),
        ("0.012345", 1, False),  # 6 decimals > 6 - 1
        ("0.01234", 1, True),
        ("0", 2, False),
        ("-1", 2, False),
    ],
)
def test_price_rule(px: str, sz_decimals: int, ok: bool) -> None:
    assert valid_price(Decimal(px), sz_decimals) is ok


@given(
    st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(10**6), places=6),
    st.integers(min_value=0, max_value=5),
    st.sampled_from([True, False, None]),
)
def test_rounding_always_gives_a_valid_price_on_the_asked_side(
    px: Decimal, szd: int, up: bool | None
) -> None:
    rounded = round_price(px, szd, up=up)
    if rounded > 0:
        assert valid_price(rounded, szd)
    if up is True:
        assert rounded >= px
    if up is False:
        assert rounded <= px


def test_size_rule() -> None:
    assert valid_size(Decimal("0.0001"), 4)
    assert not valid_size(Decimal("0.00001"), 4)
    assert not valid_size(Decimal("1.5"), 0)
    assert not valid_size(Decimal(0), 2)


def test_an_order_off_the_lot_is_refused(net: Net) -> None:
    assert error_of(net.order(ALICE, "ETH", True, 0.00015, 3100, "Ioc")) == "Order has invalid size."
    assert error_of(net.order(ALICE, "DOGE", True, 100.5, 0.16, "Ioc")) == "Order has invalid size."


def test_an_order_off_the_tick_is_refused(net: Net) -> None:
    assert error_of(net.order(ALICE, "ETH", True, 0.1, 3000.55, "Gtc")) == "Order has invalid price."
    assert error_of(net.order(ALICE, "ARB", True, 100, 0.812345, "Gtc")) == "Order has invalid price."
    # an integer price is valid whatever its significant figures
    assert "resting" in net.order(ALICE, "BTC", True, 0.001, 55001, "Gtc")


def test_an_order_under_ten_dollars_is_refused(net: Net) -> None:
    assert error_of(net.order(ALICE, "ETH", True, 0.003, 3100, "Ioc")) == (
        "Order must have minimum value of $10. asset=1"
    )
    # valued at the mid, not at the slippage-inflated limit price: 0.0033 x 3000 < 10 < 0.0033 x 3100
    assert "error" in net.order(ALICE, "ETH", True, 0.0033, 3100, "Ioc")
    assert "filled" in net.order(ALICE, "ETH", True, 0.0034, 3100, "Ioc")


def test_a_reduce_only_order_closing_the_whole_position_is_exempt_from_the_minimum(net: Net) -> None:
    net.order(ALICE, "ETH", True, 0.0034, 3100, "Ioc")
    net.ex.set_mids({"ETH": Decimal(2900)})  # the position is now worth less than $10
    assert "error" in net.order(ALICE, "ETH", False, 0.0034, 2800, "Ioc")  # not reduce-only: refused
    closed = net.order(ALICE, "ETH", False, 0.0034, 2800, "Ioc", reduce_only=True)
    assert closed["filled"]["totalSz"] == "0.0034"
    assert net.szi(ALICE, "ETH") == 0


def test_an_unknown_asset_is_refused_and_names_the_asset(net: Net) -> None:
    [status] = net.statuses(ALICE, [limit_wire(99, True, 1, 10)])
    assert "99" in error_of(status)


def test_refusals_that_depend_on_the_payload_get_no_oid_the_others_do(net: Net) -> None:
    """As on the venue: a bad size or price never becomes an order; an IOC that finds nothing does,
    with the venue's `iocCancelRejected` status."""
    net.order(ALICE, "ETH", True, 0.00015, 3100, "Ioc")
    assert net.info({"type": "historicalOrders", "user": ALICE}) == []
    error = error_of(net.order(ALICE, "ETH", True, 0.01, 2900, "Ioc"))
    assert error == "Order could not immediately match against any resting orders. asset=1"
    [record] = net.info({"type": "historicalOrders", "user": ALICE})
    assert record["status"] == "iocCancelRejected"
    assert record["order"]["tif"] == "Ioc" and record["order"]["origSz"] == "0.01"
