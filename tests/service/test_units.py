"""Issue #19 item 2, the rules themselves: every setting is shown with its unit, and a value in range
that looks like the other unit (a percent below 1, a scaling of 1 or less, a fraction of 1) is doubted —
exactly those, for every key of RANGES."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ledger.types import decimal_text
from bot.service.settings import (
    FRACTION_KEYS,
    PERCENT_KEYS,
    RANGES,
    setting_changes,
    shown_setting,
    unit_doubt,
    unit_doubts,
)


def _in_range(key: str) -> st.SearchStrategy[Decimal]:
    spec = RANGES[key]
    return (
        st.decimals(min_value=spec.low, max_value=min(spec.high, Decimal(10**6)), places=4, allow_nan=False)
        .filter(lambda v: v > spec.low if spec.open_low else True)
        .filter(lambda v: v < spec.high if spec.open_high else True)
    )


@pytest.mark.parametrize("key", sorted(RANGES))
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_a_value_is_doubted_exactly_when_it_looks_like_the_other_unit(key: str, data: st.DataObject) -> None:
    value = data.draw(_in_range(key))
    doubt = unit_doubt(key, value)
    if key == "scaling":
        expected = value <= 1
    elif key in PERCENT_KEYS:
        expected = value < 1
    elif key in FRACTION_KEYS:
        expected = value >= 1
    else:
        expected = False
    assert (doubt is not None) == expected, (key, value, doubt)
    shown = shown_setting(key, decimal_text(value))
    if key in PERCENT_KEYS:
        assert shown == f"{decimal_text(value)} %"
        assert doubt is None or (
            f"{decimal_text(value)} %" in doubt and f"type {decimal_text(value * 100)}" in doubt
        )
    if key in FRACTION_KEYS:
        assert shown == f"{decimal_text(value)} (= {decimal_text(value * 100)} %)"


def test_the_doubts_of_a_change_skip_what_is_out_of_range_or_not_a_number() -> None:
    doubts = unit_doubts(
        {
            "scale": {"ETH": "0.5", "BTC": "50"},
            "stop_loss_pct": "0",
            "daily_loss_limit": "x",
            "scaling": "100",
        }
    )
    assert len(doubts) == 1 and doubts[0].startswith("scaling ETH 0.5 %")


def test_the_changes_of_a_version_name_the_unit_and_the_old_value() -> None:
    before = {"scaling": {"*": "100"}, "stop_loss_pct": None, "max_notional_token": "1000", "include": None}
    after = {"scaling": {"*": "100", "ETH": "50"}, "stop_loss_pct": "5", "max_notional_token": "2500"}
    after |= {"include": ["BTC", "ETH"]}
    assert setting_changes(before, after) == [
        "scaling ETH 50 % (was 100 %)",
        "include BTC, ETH (was off)",
        "max_notional_token 2500 USD (was 1000 USD)",
        "stop_loss_pct 5 % (was off)",
    ]
