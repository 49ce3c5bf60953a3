"""Volatility scaling (SPEC §10): σ from hourly closes worked by hand, the multiplier's clamps, the
worked example of docs/simulate.md (a test), the settings' refusals, and — a property — σ-scaling
never raises a ratio above `vol_mult_max` times the unscaled one."""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.service import InvalidInput, settings_from_json, settings_to_json
from bot.simulate import ScenarioError, parse_scenario
from strategies.config import FollowConfig
from strategies.engine import Follower
from strategies.fixed_notional import FixedNotionalSizing
from strategies.model import Change, Market, Reason
from strategies.num import mul
from strategies.volatility import VolTarget, multiplier, sigma_pct, too_volatile
from tests.simulate.helpers import simulate

D = Decimal
DOCS = Path(__file__).resolve().parents[2] / "docs" / "simulate.md"
BLOCK = re.compile(r"```json\n(.*?)\n```\n\nprints\n\n```\n(.*?)```", re.DOTALL)


def test_sigma_of_alternating_returns_is_worked_by_hand() -> None:
    # closes alternate ×1.01, ÷1.01: returns ±ln 1.01, mean ~0 (an even count: exactly 0),
    # sample sd = ln(1.01) · sqrt(n / (n − 1)); annualised × sqrt(8760) × 100
    closes = [D(100) * D("1.01") ** (i % 2) for i in range(169)]  # 168 returns
    expected = math.log(1.01) * math.sqrt(168 / 167) * math.sqrt(8760) * 100
    assert sigma_pct(closes) == D(f"{expected:.2f}")  # 93.41
    assert sigma_pct([D(3000)] * 169) == 0


def test_sigma_is_unknown_without_a_days_history_or_with_a_bad_close() -> None:
    assert sigma_pct([D(100)] * 24) is None  # 23 returns
    assert sigma_pct([D(100)] * 25) == 0
    assert sigma_pct([D(100)] * 30 + [D(0)]) is None


def test_the_multiplier_is_clamped_and_rounded_down_and_unknown_is_the_minimum() -> None:
    vol = VolTarget(D(40), D("0.25"), D("0.8"), D(150))
    assert multiplier(vol, D(80)).mult == D("0.5")
    assert multiplier(vol, D(30)).mult == D("0.8")  # 1.33 clamped to the maximum
    assert multiplier(vol, D(400)).mult == D("0.25")  # 0.1 clamped to the minimum
    assert multiplier(vol, D(120)).mult == D("0.3333")  # rounded down, never up
    unknown = multiplier(vol, None)
    assert unknown.unknown and unknown.mult == D("0.25")
    assert multiplier(vol, D(0)).unknown
    assert too_volatile(vol, D("150.01")) and not too_volatile(vol, D(150)) and not too_volatile(vol, None)


def _doc_example() -> tuple[str, str]:
    section = DOCS.read_text(encoding="utf-8").split("## Volatility scaling", 1)[1].split("\n## ", 1)[0]
    [(scenario, printed)] = BLOCK.findall(section)
    return str(scenario), str(printed)


def test_the_docs_volatility_example_prints_what_the_docs_say(tmp_path: Path) -> None:
    scenario, printed = _doc_example()
    lines = simulate(json.loads(scenario), tmp_path)
    assert lines == [json.loads(line) for line in printed.splitlines()]
    got = [(line["event"], line["reason"], line["order"] and line["order"]["size"]) for line in lines]
    assert got[1:] == [
        ("open", None, "0.05"),  # ρ 0.1 · m 0.5 (σ 80, target 40)
        ("vol", "applies_at_next_open", None),
        ("increase", None, "0.05"),  # at the locked 0.05, not σ 20's
        ("close", None, "0.1"),
        ("open", None, "0.1"),  # σ 20: 40/20 = 2, clamped to 1
        ("close", None, "0.1"),
        ("open", "volatility", None),  # σ 200 > 150: no new exposure
        ("close", "untracked", None),
        ("open", "vol_unknown", "0.025"),  # m = vol_mult_min
    ]


def test_a_follow_without_a_target_prints_no_vol_keys(tmp_path: Path) -> None:
    scenario = json.loads(_doc_example()[0])
    del scenario["follow"]
    assert all("vol" not in line for line in simulate(scenario, tmp_path))


@pytest.mark.parametrize(
    ("follow", "message"),
    [
        ({"vol_mult_min": "0.5"}, "follow.vol_mult_min: only with vol_target_pct set"),
        ({"vol_target_pct": "40", "vol_mult_min": "0.9", "vol_mult_max": "0.5"}, "is above vol_mult_max"),
        ({"vol_target_pct": "0"}, "follow.vol_target_pct: out of range: 0 (accepted: (0, 10000])"),
        ({"vol_target_pct": "40", "vol_mult_max": "2"}, "follow.vol_mult_max: out of range: 2"),
    ],
)
def test_a_scenarios_vol_settings_are_refused_by_name(follow: dict[str, str], message: str) -> None:
    doc = {"instruments": {"ETH": {"sz_decimals": 4}}, "follow": follow}
    doc["steps"] = [{"source_equity": "1", "follower_equity": "1"}]
    with pytest.raises(ScenarioError, match=re.escape(message)):
        parse_scenario(doc)


def test_a_steps_vol_is_refused_out_of_range() -> None:
    doc = {"instruments": {"ETH": {"sz_decimals": 4}}, "steps": [{"vol": {"ETH": "-1"}}]}
    with pytest.raises(ScenarioError, match=r"step 0: vol\.ETH: out of range"):
        parse_scenario(doc)


def test_the_vol_settings_round_trip_and_are_refused_without_a_target() -> None:
    doc = settings_to_json(settings_from_json({"vol_target_pct": "40", "vol_skip_above_pct": "150"}))
    assert (doc["vol_target_pct"], doc["vol_mult_min"], doc["vol_mult_max"]) == ("40", "0.25", "1")
    assert settings_from_json(doc).config.vol == VolTarget(D(40), D("0.25"), D(1), D(150))
    assert settings_to_json(settings_from_json({}))["vol_target_pct"] is None
    with pytest.raises(InvalidInput, match="vol_skip_above_pct: only with vol_target_pct set"):
        settings_from_json({"vol_skip_above_pct": "150"})


def test_fixed_notional_is_not_scaled() -> None:
    f = Follower({"ETH": Market("ETH", 4)}, equity=D(10_000))
    f.set_mid("ETH", D(3000))
    f.set_vol("ETH", D(400))
    f.follow("s", FollowConfig(sizing=FixedNotionalSizing(D(300)), vol=VolTarget(D(40))))
    decision = f.on_change(Change("s", "ETH", D(0), D(1)))
    assert decision.vol is None and decision.target == D("0.1")


ratios = st.decimals(min_value=D("0.001"), max_value=D(1), places=3)


@settings(max_examples=80, deadline=None)
@given(
    source_equity=st.integers(1_000, 10_000_000).map(D),
    follower_equity=st.integers(100, 1_000_000).map(D),
    k=st.integers(1, 1000).map(D),
    target=st.decimals(min_value=D("0.01"), max_value=D(500), places=2),
    low=ratios,
    high=ratios,
    sigma=st.none() | st.decimals(min_value=D("0.01"), max_value=D(5000), places=2),
    size=st.integers(1, 10_000).map(D),
)
def test_sigma_scaling_never_raises_a_ratio_above_vol_mult_max(
    source_equity: Decimal,
    follower_equity: Decimal,
    k: Decimal,
    target: Decimal,
    low: Decimal,
    high: Decimal,
    sigma: Decimal | None,
    size: Decimal,
) -> None:
    low, high = min(low, high), max(low, high)

    def opened(vol: VolTarget | None, scaling: Decimal = k) -> Decimal:
        f = Follower({"ETH": Market("ETH", 4)}, equity=follower_equity, min_notional=D(0))
        f.set_mid("ETH", D(3000))
        f.set_source_equity("s", source_equity)
        f.set_vol("ETH", sigma)
        f.follow("s", FollowConfig(scaling={"*": scaling}, vol=vol))
        decision = f.on_change(Change("s", "ETH", D(0), size))
        assert decision.ratio is not None
        assert (decision.vol is not None) is (vol is not None)
        if decision.vol is not None:
            assert low <= decision.vol.mult <= high
            assert (Reason.VOL_UNKNOWN in decision.guards) is (sigma is None)
        return decision.ratio

    # the unscaled ratio at k · vol_mult_max, computed the same way (one division, rounded alike): the
    # scaled ratio is never above it, whatever σ (known, unknown, tiny or huge)
    at_max = opened(None, mul(k, high))
    assert opened(VolTarget(target, low, high)) <= at_max
