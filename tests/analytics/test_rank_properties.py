"""Properties of the composite score (bot/analytics/rank.py) on generated rows: every score lies in
[0, 1]; the order given does not change anyone's score; a source at least as good as every other in
every measure used is ranked first with 1; a measure n/a for one source is out of every score."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from random import Random

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.analytics.history import make_history
from bot.analytics.rank import CRITERIA, Measures, measure, rank
from bot.analytics.stats import compute_stats

D = Decimal
_EMPTY = make_history("0x" + "0" * 39 + "1", [])
_BASE = measure(_EMPTY, compute_stats(_EMPTY), equity=None, replay=None)  # every field replaced below

VALUE = st.decimals(min_value=-100, max_value=100, places=3, allow_nan=False, allow_infinity=False)
# the fields CRITERIA read, in CRITERIA's order
FIELDS: tuple[str, ...] = ("return_pct", "drawdown_pct", "drawdown_frequency", "holding_cv", "gap_cv")
FIELDS += ("spread_bp", "cost_bp", "deferred_share")


def _row(address: str, v: dict[str, Decimal | None]) -> Measures:
    return replace(
        _BASE,
        address=address,
        return_pct=v["return_pct"],
        drawdown_pct=v["drawdown_pct"],
        drawdown_frequency=v["drawdown_frequency"],
        holding_cv=v["holding_cv"],
        gap_cv=v["gap_cv"],
        spread_bp=v["spread_bp"],
        cost_bp=v["cost_bp"],
        deferred_share=v["deferred_share"],
    )


@st.composite
def rows(draw: st.DrawFn) -> list[Measures]:
    count = draw(st.integers(2, 6))
    out = []
    for n in range(count):
        values = {f: draw(st.one_of(st.none(), VALUE) if f == "spread_bp" else VALUE) for f in FIELDS}
        out.append(_row(f"0x{n + 1:040x}", values))
    return out


@settings(max_examples=60, deadline=None)
@given(rows(), st.randoms(use_true_random=False))
def test_scores_are_in_range_and_independent_of_the_order(generated: list[Measures], rnd: Random) -> None:
    ranking = rank(generated)
    scores = {r.measures.address: r.score for r in ranking.rows}
    assert all(s is not None and 0 <= s <= 1 for s in scores.values())
    shuffled = list(generated)
    rnd.shuffle(shuffled)
    assert {r.measures.address: r.score for r in rank(shuffled).rows} == scores
    ordered = [r.score for r in ranking.rows]
    assert ordered == sorted(ordered, reverse=True)  # type: ignore[type-var]
    spread_known = all(m.spread_bp is not None for m in generated)
    assert ("spread" in {c.key for c in ranking.used}) == spread_known


@settings(max_examples=60, deadline=None)
@given(rows())
def test_a_source_best_in_every_measure_is_first_with_one(generated: list[Measures]) -> None:
    best: dict[str, Decimal | None] = {}
    for c, field in zip(CRITERIA, FIELDS, strict=True):
        values = [c.value(m) for m in generated]
        known = [v for v in values if v is not None]
        best[field] = None if len(known) < len(values) else max(known) if c.higher_is_better else min(known)
    champion = _row("0x" + "f" * 40, best)
    ranking = rank([*generated[1:], champion])
    assert ranking.rows[0].score == 1
    assert champion.address in {r.measures.address for r in ranking.rows if r.score == 1}
