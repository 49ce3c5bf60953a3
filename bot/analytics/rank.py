"""Ranking sources side by side (`mirrorbot rank`, `/rank`; docs/analytics.md, "rank"): each source's
measures and a composite score whose weights are printed with it. Pure: a `History`, its `SourceStats`
(bot.analytics.stats) and, for copyability, a backtest's decisions in; figures out. Descriptive only:
how the sources compare over a past window, never a recommendation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise

from bot.analytics.backtest import BacktestResult, Outcome
from bot.analytics.curve import Point
from bot.analytics.history import DAY_MS, History
from bot.analytics.roundtrips import lifecycles
from bot.analytics.stats import SourceStats
from strategies.num import CTX, ZERO, add, div, mag, mul, sub

DRAWDOWN_THRESHOLD = Decimal("0.05")  # a drop counts when it exceeds 5 % of the equity at its peak
FREQUENCY_DAYS = 30  # drawdown frequency: drops per 30 days
HISTORY_REACH = 10_000  # Hyperliquid keeps a wallet's last 10,000 fills reachable by time
BP = Decimal(10_000)
SCORE_STEP = Decimal("0.000001")

# `mid_at(coin, time_ms)`: the venue's mid when the fill happened, if known. A fill history holds none.
MidAt = Callable[[str, int], Decimal | None]


@dataclass(frozen=True, slots=True)
class Measures:
    """One source's row. Ratios are fractions (0.05 = 5 %); None: not computable (the reason is in
    docs/analytics.md: no equity, too few round trips or gaps, no mid, no decisions)."""

    address: str
    origin: str
    start_ms: int
    end_ms: int
    fills: int
    equity: Decimal | None  # today's (online) or as given (offline)
    net_pnl: Decimal
    return_pct: Decimal | None
    max_drawdown: Decimal
    drawdown_pct: Decimal | None
    drawdowns: int | None  # drops over DRAWDOWN_THRESHOLD
    drawdown_frequency: Decimal | None  # per FREQUENCY_DAYS days
    holding_cv: Decimal | None
    gap_cv: Decimal | None
    spread_bp: Decimal | None
    taker_share: Decimal | None
    fees: Decimal
    funding: Decimal
    funding_note: str
    cost_bp: Decimal | None  # (fees − funding) / traded volume
    decisions: int | None
    deferred: int | None
    deferred_share: Decimal | None
    cut: bool  # the window reaches back past the venue's last 10,000 fills


def start_equity(equity: Decimal | None, net_pnl: Decimal) -> Decimal | None:
    """The equity at the window start, estimated as today's equity − the window's net PnL (no deposits
    or withdrawals assumed); None when unknown or not positive."""
    if equity is None:
        return None
    start = sub(equity, net_pnl)
    return start if start > 0 else None


def drawdown_count(curve: Sequence[Point], base: Decimal) -> int:
    """Peak-to-trough drops of the realised equity curve deeper than DRAWDOWN_THRESHOLD of the equity
    at the peak (`base` + the curve's peak). A drop is counted once; the next one needs the curve back
    at its peak first."""
    count, armed = 0, True
    peak: Decimal | None = None
    for point in curve:
        if peak is None or point.value >= peak:
            peak, armed = point.value, True
            continue
        at_peak = add(base, peak)
        if armed and at_peak > 0 and div(sub(peak, point.value), at_peak) > DRAWDOWN_THRESHOLD:
            count, armed = count + 1, False
    return count


def variation(values: Sequence[Decimal]) -> Decimal | None:
    """Coefficient of variation: population standard deviation / mean; None with fewer than 2 values
    or a mean of 0."""
    if len(values) < 2:
        return None
    n = Decimal(len(values))
    mean = div(add(*values), n)
    if mean == 0:
        return None
    spread = div(add(*(mul(sub(v, mean), sub(v, mean)) for v in values)), n)
    return div(CTX.sqrt(spread), mean)


def trade_gaps(history: History) -> list[Decimal]:
    """Times between consecutive position changes (any coin; changes at one time are one trade), ms."""
    times = sorted({c.time_ms for c in history.changes})
    return [Decimal(b - a) for a, b in pairwise(times)]


def spread(history: History, mid_at: MidAt | None) -> tuple[Decimal | None, Decimal | None]:
    """Mean `|px − mid| / mid` in bp over the fills whose mid is known, and the taker share (fills that
    crossed the book / fills)."""
    fills = history.fills
    taker = None if not fills else div(Decimal(sum(1 for f in fills if f.crossed)), Decimal(len(fills)))
    costs = []
    for fill in fills:
        mid = None if mid_at is None else mid_at(fill.coin, fill.time_ms)
        if mid is not None and mid > 0:
            costs.append(mul(div(mag(sub(fill.px, mid)), mid), BP))
    bp = div(add(*costs), Decimal(len(costs))) if costs else None
    return bp, taker


def measure(
    history: History,
    stats: SourceStats,
    *,
    equity: Decimal | None,
    replay: BacktestResult | None,
    mid_at: MidAt | None = None,
) -> Measures:
    """The row of one source: `stats = compute_stats(history)` with `history.account` carrying `equity`
    (the drawdown % is inspect's), `equity` the source's equity at the window's end, `replay` a backtest
    of copying it at the follower's equity (None: not run)."""
    base = start_equity(equity, stats.net_pnl)
    drawdowns = None if base is None else drawdown_count(stats.curve, base)
    frequency = None
    if drawdowns is not None and history.span_ms > 0:
        frequency = div(mul(Decimal(drawdowns), Decimal(FREQUENCY_DAYS * DAY_MS)), Decimal(history.span_ms))
    trips = lifecycles(history.fills, history.changes).trips
    holding = [Decimal(t.holding_ms) for t in trips if t.holding_ms is not None]
    volume = add(*(mul(f.px, f.sz) for f in history.fills))
    spread_bp, taker = spread(history, mid_at)
    decisions = deferred = None
    if replay is not None:
        decisions, deferred = len(replay.decisions), replay.count(Outcome.DEFERRED)
    return Measures(
        address=history.address,
        origin=history.origin,
        start_ms=history.start_ms,
        end_ms=history.end_ms,
        fills=len(history.fills),
        equity=equity,
        net_pnl=stats.net_pnl,
        return_pct=None if base is None else div(stats.net_pnl, base),
        max_drawdown=stats.drawdown.amount,
        drawdown_pct=None if base is None else stats.drawdown_pct if stats.drawdown.amount > 0 else ZERO,
        drawdowns=drawdowns,
        drawdown_frequency=frequency,
        holding_cv=variation(holding),
        gap_cv=variation(trade_gaps(history)),
        spread_bp=spread_bp,
        taker_share=taker,
        fees=stats.fees,
        funding=stats.funding,
        funding_note=stats.funding_note,
        cost_bp=None if volume == 0 else mul(div(sub(stats.fees, stats.funding), volume), BP),
        decisions=decisions,
        deferred=deferred,
        deferred_share=None if not decisions else div(Decimal(deferred or 0), Decimal(decisions)),
        cut=len(history.fills) >= HISTORY_REACH,
    )


# --- the composite score ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Criterion:
    key: str
    label: str
    weight: Decimal
    higher_is_better: bool
    value: Callable[[Measures], Decimal | None]


CRITERIA: tuple[Criterion, ...] = (
    Criterion("return", "return %", Decimal("0.25"), True, lambda m: m.return_pct),
    Criterion("max_drawdown", "max drawdown %", Decimal("0.20"), False, lambda m: m.drawdown_pct),
    Criterion(
        "drawdown_frequency",
        "drawdowns > 5 % per 30 d",
        Decimal("0.10"),
        False,
        lambda m: m.drawdown_frequency,
    ),
    Criterion("holding_cv", "holding-time CV", Decimal("0.05"), False, lambda m: m.holding_cv),
    Criterion("gap_cv", "trade-gap CV", Decimal("0.05"), False, lambda m: m.gap_cv),
    Criterion("spread", "spread cost bp", Decimal("0.10"), False, lambda m: m.spread_bp),
    Criterion("cost", "fees − funding bp of volume", Decimal("0.05"), False, lambda m: m.cost_bp),
    Criterion("deferred", "deferred share at E", Decimal("0.20"), False, lambda m: m.deferred_share),
)


@dataclass(frozen=True, slots=True)
class Ranked:
    measures: Measures
    score: Decimal | None  # in [0, 1]; None when no criterion is known for every source
    parts: dict[str, Decimal]  # criterion key → normalised value in [0, 1]


@dataclass(frozen=True, slots=True)
class Ranking:
    rows: tuple[Ranked, ...]  # best score first (ties: by address)
    used: tuple[Criterion, ...]
    left_out: tuple[Criterion, ...]  # not known for every source: out of the score for all


def _normalised(value: Decimal, values: Sequence[Decimal], higher_is_better: bool) -> Decimal:
    best, worst = (max(values), min(values)) if higher_is_better else (min(values), max(values))
    if best == worst:
        return Decimal(1)
    return max(ZERO, div(sub(value, worst), sub(best, worst)))  # ZERO first: never a -0


def rank(rows: Sequence[Measures], criteria: Sequence[Criterion] = CRITERIA) -> Ranking:
    """Score = Σ weight × normalised value / Σ weights over the criteria known for every source; each
    value normalised across these sources to [0, 1] (1 the best of them, 0 the worst; all equal: 1)."""
    used = tuple(c for c in criteria if rows and all(c.value(m) is not None for m in rows))
    left_out = tuple(c for c in criteria if c not in used)
    total = add(*(c.weight for c in used))
    ranked = []
    for m in rows:
        parts: dict[str, Decimal] = {}
        for c in used:
            values = [v for v in (c.value(r) for r in rows) if v is not None]
            mine = c.value(m)
            assert mine is not None
            parts[c.key] = _normalised(mine, values, c.higher_is_better)
        score = None
        if total > 0:
            exact = div(add(*(mul(c.weight, parts[c.key]) for c in used)), total)
            score = exact.quantize(SCORE_STEP, context=CTX)
        ranked.append(Ranked(m, score, parts))
    ranked.sort(key=lambda r: (-(r.score if r.score is not None else Decimal(-1)), r.measures.address))
    return Ranking(tuple(ranked), used, left_out)
