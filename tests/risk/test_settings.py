"""The guards' follow settings: stored, validated with messages naming the key, and read back."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.risk import RiskLimits
from bot.service import InvalidInput, settings_from_json, settings_to_json
from bot.service.settings import KEYS, RISK_OPTIONS

fractions = st.none() | st.decimals(Decimal("0.0001"), Decimal("1"), places=4).map(str)


@given(
    fractions,
    fractions,
    fractions,
    st.none() | st.decimals(Decimal("0.01"), Decimal("1000000"), places=2).map(str),
    st.none() | st.decimals(Decimal("0.1"), Decimal("100"), places=1).map(str),
    st.sampled_from((None, "close", "keep")),
)
def test_round_trip(
    daily: str | None,
    drawdown: str | None,
    source_dd: str | None,
    floor: str | None,
    lev: str | None,
    action: str | None,
) -> None:
    doc = {
        "daily_loss_limit": daily,
        "max_drawdown": drawdown,
        "max_drawdown_action": action if drawdown is not None else None,
        "equity_floor": floor,
        "source_max_drawdown": source_dd,
        "source_leverage_cap": lev,
    }
    settings = settings_from_json(doc)
    stored = settings_to_json(settings)
    assert tuple(stored) == KEYS
    for key in RISK_OPTIONS:  # exact decimals, stored as canonical text
        assert (stored[key] is None and doc[key] is None) or Decimal(stored[key]) == Decimal(str(doc[key]))
    assert stored["max_drawdown_action"] == doc["max_drawdown_action"]
    assert settings_from_json(stored).risk == settings.risk
    assert settings.risk.daily_loss_limit == (None if daily is None else Decimal(daily))
    assert settings.risk.closes_on_drawdown == (doc["max_drawdown_action"] != "keep")


def test_defaults_are_off() -> None:
    assert settings_from_json({}).risk == RiskLimits()


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"daily_loss_limit": "0"}, r"daily_loss_limit: out of range: 0 \(accepted: \(0, 1\]\)"),
        ({"max_drawdown": "1.5"}, r"max_drawdown: out of range: 1.5 \(accepted: \(0, 1\]\)"),
        ({"equity_floor": "-5"}, r"equity_floor: out of range: -5"),
        ({"source_leverage_cap": "abc"}, r"source_leverage_cap"),
        ({"max_drawdown_action": "close"}, r"max_drawdown_action: only with max_drawdown set"),
        ({"max_drawdown": "0.2", "max_drawdown_action": "sell"}, r"max_drawdown_action.*close, keep"),
    ],
)
def test_refusals_name_the_key(doc: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        settings_from_json(doc)
