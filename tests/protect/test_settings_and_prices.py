"""The follow settings `stop_loss_pct` / `take_profit_pct` (validation, storage, the CLI/Telegram key set)
and the trigger prices they give: long SL below and TP above the entry, short mirrored, rounded to the
venue's price rules toward the entry."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.domain import Tpsl
from bot.pipeline.triggers import trigger_prices
from bot.service.errors import InvalidInput
from bot.service.settings import KEYS, OPTION_KEYS, settings_from_json, settings_to_json
from strategies.num import is_valid_price

D = Decimal


@pytest.mark.parametrize("key", ["stop_loss_pct", "take_profit_pct"])
def test_the_keys_are_follow_options_stored_canonically(key: str) -> None:
    assert key in OPTION_KEYS and key in KEYS
    settings = settings_from_json({key: "2.50"})
    assert getattr(settings, key) == D("2.5")
    assert settings_to_json(settings)[key] == "2.5"
    assert settings_to_json(settings_from_json(settings_to_json(settings))) == settings_to_json(settings)
    off = settings_from_json({key: "off"})
    assert getattr(off, key) is None and settings_to_json(off)[key] is None
    assert getattr(settings_from_json({}), key) is None  # off unless set


@pytest.mark.parametrize(
    ("key", "value", "accepted"),
    [
        ("stop_loss_pct", "0", "(0, 100)"),
        ("stop_loss_pct", "100", "(0, 100)"),
        ("stop_loss_pct", "-1", "(0, 100)"),
        ("take_profit_pct", "0", "(0, 10000]"),
        ("take_profit_pct", "-5", "(0, 10000]"),
    ],
)
def test_out_of_range_values_are_refused_naming_the_key_and_range(
    key: str, value: str, accepted: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        settings_from_json({key: value})
    assert refused.value.field == key
    assert accepted in str(refused.value)


def test_a_value_that_is_not_a_number_is_refused_naming_the_key() -> None:
    with pytest.raises(InvalidInput) as refused:
        settings_from_json({"stop_loss_pct": "five"})
    assert refused.value.field == "stop_loss_pct"


def test_large_take_profits_are_accepted() -> None:
    assert settings_from_json({"take_profit_pct": "250"}).take_profit_pct == D(250)


def test_long_stop_below_and_target_above_the_entry() -> None:
    prices = trigger_prices(D(3000), D("0.1"), sz_decimals=4, stop_loss_pct=D(5), take_profit_pct=D(10))
    assert prices == {Tpsl.STOP_LOSS: D(2850), Tpsl.TAKE_PROFIT: D(3300)}


def test_short_is_mirrored() -> None:
    prices = trigger_prices(D(3000), D("-0.1"), sz_decimals=4, stop_loss_pct=D(5), take_profit_pct=D(10))
    assert prices == {Tpsl.STOP_LOSS: D(3150), Tpsl.TAKE_PROFIT: D(2700)}


def test_only_what_is_set_is_priced() -> None:
    only_sl = trigger_prices(D(3000), D(1), sz_decimals=4, stop_loss_pct=D(5), take_profit_pct=None)
    assert set(only_sl) == {Tpsl.STOP_LOSS}
    assert trigger_prices(D(3000), D(1), sz_decimals=4, stop_loss_pct=None, take_profit_pct=None) == {}


def test_a_shorts_take_profit_at_100_percent_or_more_is_not_placed() -> None:
    prices = trigger_prices(D(3000), D(-1), sz_decimals=4, stop_loss_pct=D(5), take_profit_pct=D(100))
    assert set(prices) == {Tpsl.STOP_LOSS}


@pytest.mark.parametrize("size", [D("0.37"), D("-0.37")])
def test_prices_are_rounded_to_the_venue_rules_toward_the_entry(size: Decimal) -> None:
    entry = D("3123.45")  # 5 % and 7 % of it need more than 5 significant figures
    prices = trigger_prices(entry, size, sz_decimals=4, stop_loss_pct=D(5), take_profit_pct=D(7))
    long = size > 0
    exact_sl = entry * (1 - D("0.05")) if long else entry * (1 + D("0.05"))
    exact_tp = entry * (1 + D("0.07")) if long else entry * (1 - D("0.07"))
    for px in prices.values():
        assert is_valid_price(px, 4)
    sl, tp = prices[Tpsl.STOP_LOSS], prices[Tpsl.TAKE_PROFIT]
    assert sl != exact_sl and tp != exact_tp  # rounding happened …
    assert abs(sl - entry) < abs(exact_sl - entry)  # … toward the entry, by less than a tick
    assert abs(tp - entry) < abs(exact_tp - entry)
    assert abs(sl - exact_sl) < 1 and abs(tp - exact_tp) < 1
