"""Portfolio-allocation mode (SPEC §9): the worked examples of docs/simulate.md, the scenario's keys,
and the two band properties, generated."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.simulate import ScenarioError, parse_scenario
from strategies.allocation import AllocationSizing, closes_or_flips, drift
from strategies.config import FollowConfig
from strategies.engine import Follower
from strategies.model import Change, Decision, Event, Market, Reason, Status
from strategies.num import q_lot
from tests.simulate.helpers import run_cli, simulate

DOCS = Path(__file__).resolve().parents[2] / "docs" / "simulate.md"
BLOCK = re.compile(r"```json\n(.*?)\n```\n\nprints\n\n```\n(.*?)```", re.DOTALL)


def _doc_examples() -> list[tuple[str, str]]:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Portfolio-allocation mode", 1)[1].split("\n## ", 1)[0]
    return BLOCK.findall(section)


def test_the_docs_have_allocation_examples() -> None:
    examples = _doc_examples()
    assert len(examples) >= 2
    assert all('"strategy": "allocation"' in scenario for scenario, _ in examples)


@pytest.mark.parametrize("index", range(2))
def test_docs_allocation_example_prints_what_the_docs_say(index: int, tmp_path: Path) -> None:
    scenario, printed = _doc_examples()[index]
    lines = simulate(json.loads(scenario), tmp_path)
    assert lines == [json.loads(line) for line in printed.splitlines()]


def test_docs_example_1_trades_inside_the_band_only_at_a_flip_or_close(tmp_path: Path) -> None:
    """Hand-checked: E_F 10,000, band $100, trigger $500, ETH 3,000."""
    scenario, _ = _doc_examples()[0]
    lines = simulate(json.loads(scenario), tmp_path)
    got = [(line["event"], line["reason"], line["order"] and line["order"]["size"]) for line in lines]
    assert got[1:] == [
        ("open", "awaiting_rebalance", None),  # $300 < trigger $500
        ("rebalance", None, "0.1"),  # tick: $300 ≥ band $100
        ("increase", "awaiting_rebalance", None),  # $60
        ("hold", "in_band", None),  # tick: $60 < $100
        ("increase", None, "0.2"),  # $600 ≥ trigger: at once
        ("equity", "awaiting_rebalance", None),  # ρ(now) 0.12 applies at the tick
        ("rebalance", None, "0.06"),  # τ = 3 · 0.12 = 0.36
        ("flip", None, "0.48"),  # one order, at once
        ("close", None, "0.12"),
    ]


def _scenario(follow: dict[str, object], *steps: dict[str, object]) -> dict[str, object]:
    first = {"source_equity": "100000", "follower_equity": "10000", "mids": {"ETH": "3000"}}
    return {"instruments": {"ETH": {"sz_decimals": 4}}, "follow": follow, "steps": [first, *steps]}


def test_a_trigger_narrower_than_the_band_is_refused_naming_both() -> None:
    doc = _scenario({"strategy": "allocation", "rebalance_band_pct": "3", "rebalance_trigger_pct": "2"})
    with pytest.raises(
        ScenarioError, match=r"follow\.rebalance_trigger_pct: 2 is narrower than rebalance_band_pct 3"
    ):
        parse_scenario(doc)


def test_allocation_keys_are_refused_for_another_strategy(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(_scenario({"strategy": "mirror", "rebalance_band_pct": "2"})))
    code, lines, err = run_cli("--scenario", str(path))
    assert (code, lines) == (2, [])
    assert "follow.rebalance_band_pct: only for strategy allocation, not mirror" in err


def test_a_tick_step_is_validated_like_every_step() -> None:
    with pytest.raises(ScenarioError, match=r"step 1: tick: expected true or false"):
        parse_scenario(_scenario({"strategy": "allocation"}, {"tick": "yes"}))


def test_a_tick_leaves_a_mirror_follow_alone(tmp_path: Path) -> None:
    lines = simulate(_scenario({"strategy": "mirror"}, {"source": {"ETH": "1"}}, {"tick": True}), tmp_path)
    assert [line["step"] for line in lines] == [0, 1]  # nothing at the tick: it is allocation's


# --- properties -------------------------------------------------------------------------------------

ETH = Market("ETH", 4)
SRC = "src"
MIN_NOTIONAL = Decimal(10)

sizes = st.decimals(Decimal(-30), Decimal(30), places=2).map(lambda d: d.normalize() + 0)
equities = st.integers(200, 50_000).map(Decimal)
mids = st.integers(500, 6000).map(Decimal)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("source"), sizes),
        st.tuples(st.just("equity"), equities),
        st.tuples(st.just("mid"), mids),
        st.tuples(st.just("tick"), st.none()),
    ),
    min_size=1,
    max_size=25,
)
bands = st.integers(0, 6).map(Decimal)


def _fill(f: Follower, decision: Decision) -> None:
    if decision.order is not None:
        f.set_position(decision.coin, decision.position + decision.order.signed_size)


def _band(f: Follower, sizing: AllocationSizing) -> Decimal:
    return sizing.band(f.equity, f.min_notional)


@settings(max_examples=60, deadline=None)
@given(band=bands, extra=bands, script=steps)
def test_allocation_never_trades_inside_the_band_but_closes_and_flips(
    band: Decimal, extra: Decimal, script: list[tuple[str, Decimal | None]]
) -> None:
    sizing = AllocationSizing(band_pct=band, trigger_pct=band + extra)
    f = Follower({"ETH": ETH}, min_notional=MIN_NOTIONAL, equity=Decimal(10_000))
    f.set_mid("ETH", Decimal(3000))
    f.set_source_equity(SRC, Decimal(100_000))
    f.follow(SRC, FollowConfig(sizing=sizing))
    source = Decimal(0)
    for kind, value in script:
        decisions: list[Decision] = []
        if kind == "source":
            assert value is not None
            decisions.append(f.on_change(Change(SRC, "ETH", source, value)))
            source = value
        elif kind == "equity":
            assert value is not None
            f.set_equity(value)
        elif kind == "mid":
            assert value is not None
            f.set_mid("ETH", value)
            decisions.append(f.check("ETH", Event.MID))
        else:
            decisions.extend(f.rebalance())
        for d in decisions:
            if d.order is not None:
                at_once = closes_or_flips(d.target, d.position, ETH)
                moved = drift(d.target, d.position, ETH, f.mids["ETH"])
                assert at_once or moved >= _band(f, sizing), d
                if d.event is not Event.REBALANCE:  # between ticks: the trigger band
                    assert at_once or moved >= sizing.trigger(f.equity, f.min_notional), d
            _fill(f, d)


@settings(max_examples=60, deadline=None)
@given(band=bands, script=steps, equity=equities)
def test_after_a_tick_every_pair_is_within_the_band_or_deferred_by_the_minimum(
    band: Decimal, script: list[tuple[str, Decimal | None]], equity: Decimal
) -> None:
    sizing = AllocationSizing(band_pct=band, trigger_pct=Decimal(100))
    f = Follower({"ETH": ETH}, min_notional=MIN_NOTIONAL, equity=equity)
    f.set_mid("ETH", Decimal(3000))
    f.set_source_equity(SRC, Decimal(100_000))
    f.follow(SRC, FollowConfig(sizing=sizing))
    source = Decimal(0)
    for kind, value in script:
        if kind == "source":
            assert value is not None
            _fill(f, f.on_change(Change(SRC, "ETH", source, value)))
            source = value
        elif kind == "equity":
            assert value is not None
            f.set_equity(value)
        elif kind == "mid":
            assert value is not None
            f.set_mid("ETH", value)
        else:
            for d in f.rebalance():
                _fill(f, d)
                assert d.event is (Event.REBALANCE if d.order is not None else Event.HOLD)
                pair = f.pairs["ETH"]
                assert pair.status is Status.TRACKING
                assert pair.ratio == f.equity / Decimal(100_000)  # ρ(now), k = 100
                assert pair.target == pair.ratio * pair.source_size
                left = drift(pair.target, f.position("ETH"), ETH, f.mids["ETH"])
                if d.order is not None:
                    assert f.position("ETH") == q_lot(pair.target, ETH.sz_decimals)
                else:
                    assert left < _band(f, sizing) or d.reason is Reason.DEFERRED_MIN_NOTIONAL, d


def test_a_drift_equal_to_the_trigger_waits_and_one_equal_to_the_band_trades(tmp_path: Path) -> None:
    """SPEC §9: between ticks a drift that *exceeds* the trigger goes at once; at a tick one of *at
    least* the band goes. E_F 10,000, ρ 0.1, ETH 2,500: 2 ETH → τ 0.2 = $500, the 5 % trigger exactly."""
    follow: dict[str, object] = {"strategy": "allocation", "rebalance_band_pct": "5"}
    doc = _scenario(follow | {"rebalance_trigger_pct": "5"}, {"source": {"ETH": "2"}}, {"tick": True})
    doc["steps"][0]["mids"] = {"ETH": "2500"}  # type: ignore[index]
    lines = simulate(doc, tmp_path)
    got = [(line["event"], line["reason"], line["order"] and line["order"]["size"]) for line in lines[1:]]
    assert got == [
        ("open", "awaiting_rebalance", None),  # $500 does not exceed the $500 trigger
        ("rebalance", None, "0.2"),  # $500 is at least the $500 band
    ]
