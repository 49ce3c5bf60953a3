"""A follow's stored settings round-trip exactly, and map onto the engine's FollowConfig exactly as
`mirrorbot simulate` reads the same option names (docs/simulate.md)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import BuilderFee
from bot.service import InvalidInput, settings_from_json, settings_to_json
from bot.service.settings import COMMISSION_KEYS, KEYS, SCHEMA, FollowSettings
from bot.simulate import parse_scenario
from strategies.config import FollowConfig
from strategies.mirror import MirrorSizing

COINS = ("BTC", "ETH", "SOL", "kPEPE")
SERVICE_ONLY = (
    "schema",
    "active",
    "out_of_sync",
    "release",
    "source_venue",
    "inactive_after",
    "inactive_policy",
    *COMMISSION_KEYS,
)
BUILDER = "0x" + "b1" * 20


def decimals(low: str, high: str, places: int = 4) -> st.SearchStrategy[str]:
    values = st.decimals(Decimal(low), Decimal(high), places=places, allow_nan=False, allow_infinity=False)
    return values.map(str)


def optional(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str | None]:
    return st.none() | strategy


@st.composite
def settings_docs(draw: st.DrawFn) -> dict[str, Any]:
    strategy = draw(st.sampled_from(("mirror", "fixed_ratio", "fixed_notional")))
    doc: dict[str, Any] = {"schema": SCHEMA, "strategy": strategy}
    if strategy == "fixed_ratio":
        doc["ratio"] = draw(decimals("0.0001", "100"))
    if strategy == "fixed_notional":
        doc["notional"] = draw(decimals("0.01", "1000000", 2))
    keys = st.sampled_from(("*", *COINS))
    scaling = draw(st.dictionaries(keys, decimals("0.0001", "1000")))
    include = draw(st.none() | st.lists(st.sampled_from(COINS), unique=True))
    exclude = draw(st.lists(st.sampled_from(COINS), unique=True))
    if include:  # a follow copies at least one of its tokens (refused otherwise)
        exclude = [coin for coin in exclude if coin != include[0]]
    doc |= {
        "active": draw(st.booleans()),
        "scaling": scaling,
        "copy_current": draw(st.booleans()),
        "include": include,
        "exclude": exclude,
        "side": draw(st.sampled_from(("both", "long_only", "short_only"))),
        "reverse": draw(st.booleans()),
        "copy_increase_as_open": draw(st.booleans()),
        "copy_current_max_deviation": draw(optional(decimals("0", "1"))),
        "min_source_leverage": draw(optional(decimals("0.01", "100", 2))),
        "max_source_leverage": draw(optional(decimals("0.01", "100", 2))),
        "max_notional_token": draw(optional(decimals("0", "1000000", 2))),
        "max_notional_total": draw(optional(decimals("0", "1000000", 2))),
        "max_leverage": draw(optional(decimals("0.1", "50", 1))),
        "max_price_deviation": draw(optional(decimals("0", "1"))),
        "slippage_cap": draw(decimals("0.0001", "0.5")),
        "out_of_sync": draw(st.sampled_from(("catch_up", "restrict", "pause"))),
        "release": draw(st.sampled_from((None, "close", "keep"))),
    }
    rate = draw(st.none() | st.integers(1, 100))
    if rate is not None:  # a leader commission: both keys or neither
        doc |= {"commission_to": BUILDER, "commission_tenths_bp": draw(st.sampled_from((rate, str(rate))))}
    return doc


def same_config(a: FollowConfig, b: FollowConfig) -> bool:
    """FollowConfig equality (MirrorSizing has no fields, so it is compared by type)."""
    if isinstance(a.sizing, MirrorSizing) or isinstance(b.sizing, MirrorSizing):
        if type(a.sizing) is not type(b.sizing):
            return False
        a, b = dataclasses.replace(a, sizing=b.sizing), b
    return a == b


@given(settings_docs())
def test_settings_round_trip(doc: dict[str, Any]) -> None:
    settings = settings_from_json(doc)
    stored = settings_to_json(settings)
    assert tuple(stored) == KEYS  # the canonical form has every key, in one order
    again = settings_from_json(stored)
    assert same_config(again.config, settings.config)
    assert (again.active, again.out_of_sync, again.release, again.commission) == (
        settings.active,
        settings.out_of_sync,
        settings.release,
        settings.commission,
    )
    assert settings_to_json(again) == stored


@given(settings_docs())
def test_settings_mean_what_simulate_reads(doc: dict[str, Any]) -> None:
    """The stored JSON, given to `mirrorbot simulate` as its `follow` object, is the same FollowConfig."""
    stored = settings_to_json(settings_from_json(doc))
    follow = {k: v for k, v in stored.items() if k not in SERVICE_ONLY and v is not None}
    scenario = parse_scenario(
        {
            "instruments": {coin: {"sz_decimals": 2} for coin in COINS},
            "follow": follow,
            "steps": [{"source_equity": "1", "follower_equity": "1"}],
        }
    )
    assert same_config(scenario.follow, settings_from_json(stored).config)


def test_defaults_are_the_engine_defaults() -> None:
    settings = settings_from_json({})
    assert same_config(settings.config, FollowConfig())
    assert (settings.active, settings.out_of_sync, settings.release) == (True, "catch_up", None)
    assert settings_to_json(FollowSettings()) == settings_to_json(settings)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"scaling": {"*": "1001"}}, r"scaling\.\*: out of range: 1001 \(accepted: \(0, 1000\]\)"),
        ({"scaling": {"ETH": "-5"}}, r"scaling\.ETH: out of range: -5 \(accepted: \(0, 1000\]\)"),
        ({"scaling": {"ETH": "0"}}, r"scaling\.ETH: out of range: 0"),
        ({"scaling": {"ETH": 1.5}}, r"scaling\.ETH: expected a decimal number, got a float"),
        ({"strategy": "martingale"}, r"strategy: unknown value 'martingale' \(accepted: mirror, fixed_ratio"),
        ({"strategy": "fixed_ratio"}, r"ratio: missing: strategy fixed_ratio needs it"),
        ({"ratio": "2"}, r"ratio: only for strategy fixed_ratio, not mirror"),
        ({"side": "up"}, r"side: unknown value 'up' \(accepted: both, long_only, short_only\)"),
        ({"slippage_cap": "0.9"}, r"slippage_cap: out of range: 0.9 \(accepted: \(0, 0.5\]\)"),
        ({"include": "ETH,B*C"}, r"include\[1\]: not a token name: 'B\*C'"),
        (
            {"out_of_sync": "ignore"},
            r"out_of_sync: unknown value 'ignore' \(accepted: catch_up, restrict, pause, rebalance\)",
        ),
        ({"max_leverage": "abc"}, r"max_leverage: not a number: 'abc'"),
        ({"leverage": "3"}, r"leverage: unknown setting \(accepted: schema, active, strategy"),
        ({"reverse": "maybe"}, r"reverse: expected true or false, got 'maybe' \(accepted: true, false\)"),
        ({"commission_to": BUILDER}, r"commission_tenths_bp: missing: a commission needs both"),
        ({"commission_tenths_bp": 10}, r"commission_to: missing: a commission needs both"),
        (
            {"commission_to": BUILDER, "commission_tenths_bp": 101},
            r"commission_tenths_bp: out of range: 101 \(accepted: a whole number of tenths of a basis "
            r"point from 1 to 100 \(10 = 0.01 %\), or off\)",
        ),
        ({"commission_to": BUILDER, "commission_tenths_bp": "0"}, r"commission_tenths_bp: out of range: 0"),
        (
            {"commission_to": BUILDER, "commission_tenths_bp": "1.5"},
            r"commission_tenths_bp: not a whole number",
        ),
        ({"commission_to": BUILDER, "commission_tenths_bp": 1.5}, r"commission_tenths_bp: expected a whole"),
        ({"commission_to": "0x12", "commission_tenths_bp": 10}, r"commission_to: not an address: '0x12'"),
    ],
)
def test_invalid_settings_name_the_field_and_the_accepted_values(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        settings_from_json(doc)


def test_a_commission_is_read_as_the_builder_paid_and_off_removes_it() -> None:
    doc = {"commission_to": BUILDER.upper().replace("0X", "0x"), "commission_tenths_bp": "10"}
    settings = settings_from_json(doc)
    assert settings.commission == BuilderFee(BUILDER, 10)
    stored = settings_to_json(settings)
    assert (stored["commission_to"], stored["commission_tenths_bp"]) == (BUILDER, 10)
    off = settings_from_json({**stored, "commission_to": "off", "commission_tenths_bp": "off"})
    assert off.commission is None
    assert settings_to_json(FollowSettings())["commission_to"] is None
