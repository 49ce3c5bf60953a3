"""The service API of ranking (`mirrorbot rank`, Telegram `/rank`): `rank_inputs` checks what the user
typed (bot/service/inputs.py, docs/inputs.md), `rank_sources` reads each source's history through the
same `load_history` as `inspect` (the `Venue` protocol online, a recording offline), measures it
(bot.analytics.rank) and returns a `RankReport` that renders as text, JSON and PNG. Refusals raise
`InvalidInput` naming the field; venue trouble `VenueError` / `VenueUnreachable`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from bot.analytics import charts
from bot.analytics.backtest import Backtest
from bot.analytics.definitions import DISCLAIMER
from bot.analytics.fetch import Report
from bot.analytics.history import History
from bot.analytics.rank import CRITERIA, FREQUENCY_DAYS, HISTORY_REACH, Measures, Ranking, measure, rank
from bot.analytics.render import duration, num, pct, ratio_json, short_address, usd, usd_json, utc
from bot.analytics.service import (
    BACKTEST_RANGES,
    DEFAULT_FOLLOWER_EQUITY,
    _days,
    backtest_inputs,
    load_history,
)
from bot.analytics.stats import compute_stats
from bot.domain import AccountState, Venue
from bot.service import inputs
from bot.service.errors import InvalidInput
from bot.venues import hyperliquid_reads

if TYPE_CHECKING:
    from matplotlib.figure import Figure

NOT_ADVICE: Final = (
    "Descriptive, not advice: how these sources compare over a past window. It is not a recommendation "
    "to follow any of them, and not a forecast."
)
NO_MID: Final = "spread cost n/a: a fill history holds no mid at fill time (the taker share needs none)"

RANK: Final[dict[str, str]] = {
    "return": (
        "Net PnL (Σ closedPnl − fees + funding) / the equity at the window start, estimated as the "
        "source's equity at the end − the net PnL (online: today's; offline: as given)."
    ),
    "max_drawdown": (
        "The largest fall of the realised equity curve from its running peak (as inspect), % of the "
        "equity at that peak."
    ),
    "drawdown_frequency": (
        f"Peak-to-trough drops of the realised equity curve deeper than 5 % of the equity at the peak "
        f"(each counted once, until the curve is back at its peak), per {FREQUENCY_DAYS} days of window."
    ),
    "timing": (
        "Coefficient of variation (population standard deviation / mean) of the holding times of round "
        "trips opened and closed in the window, and of the gaps between consecutive trades (position "
        "changes, any coin)."
    ),
    "spread": (
        "Mean |fill price − mid| / mid over the fills, bp (needs the mid at each fill); taker share = "
        "fills that crossed the book / fills."
    ),
    "fees": "Σ fees and Σ funding of the window (as inspect); cost = (fees − funding) / Σ px · sz, bp.",
    "deferred": (
        "Copyability at the follower equity E: the share of a backtest's decisions (docs/analytics.md, "
        "backtest defaults, no market impact) deferred under the venue's minimum order value."
    ),
    "score": (
        "Σ weight × normalised measure / Σ weights used. Each measure is normalised across these sources "
        "to [0, 1] (1 the best of them in its direction, 0 the worst; all equal: 1). A measure not known "
        "for every source is left out of every score."
    ),
}


# rank's own numeric inputs (docs/inputs.md, `rank.*`): the same ranges as backtest's
RANK_RANGES: dict[str, inputs.Range] = {k: BACKTEST_RANGES[k] for k in ("equity", "source_equity")}


@dataclass(frozen=True, slots=True)
class RankInputs:
    addresses: tuple[str, ...]
    days: int | None
    follower_equity: Decimal
    fills_files: tuple[Path, ...] | None  # offline: one recording per address, in order
    source_equities: tuple[Decimal, ...] | None  # one per address, in order (online: the venue's)


def rank_inputs(
    addresses: Sequence[object],
    *,
    days: object | None = None,
    equity: object | None = None,
    fills_files: Sequence[Path] | None = None,
    source_equities: Sequence[object] | None = None,
) -> RankInputs:
    """Check every input before anything is read; refusals name the field."""
    low, high = inputs.RANK_SOURCES
    checked = inputs.addresses(list(addresses), "addresses", low=low, high=high)
    files = tuple(fills_files) if fills_files else None
    if files is not None and len(files) != len(checked):
        raise InvalidInput("fills", f"{len(files)} files for {len(checked)} addresses", "one per address")
    given = None
    if source_equities:
        if len(source_equities) != len(checked):
            problem = f"{len(source_equities)} values for {len(checked)} addresses"
            raise InvalidInput("source_equity", problem, "one per address")
        given = tuple(RANK_RANGES["source_equity"].read(e, "source_equity") for e in source_equities)
    return RankInputs(
        addresses=checked,
        days=_days(days, offline=files is not None),
        follower_equity=DEFAULT_FOLLOWER_EQUITY
        if equity is None
        else RANK_RANGES["equity"].read(equity, "equity"),
        fills_files=files,
        source_equities=given,
    )


@dataclass(frozen=True, slots=True)
class RankReport:
    ranking: Ranking
    follower_equity: Decimal
    notes: tuple[str, ...]  # per source: where its figures came from and what they lack

    def text(self) -> str:
        return rank_text(self)

    def to_json(self) -> dict[str, Any]:
        return rank_json(self)

    def png(self) -> bytes:
        return charts.png(rank_figure(self))


# --- text ---------------------------------------------------------------------------------------------

_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("score", lambda r: num(r.score, "0.001")),
    ("return", lambda r: pct(r.measures.return_pct)),
    ("net PnL", lambda r: usd(r.measures.net_pnl).removesuffix(" USD")),
    ("max DD", lambda r: pct(r.measures.drawdown_pct)),
    ("DD>5%/30d", lambda r: num(r.measures.drawdown_frequency)),
    ("CV hold", lambda r: num(r.measures.holding_cv)),
    ("CV gaps", lambda r: num(r.measures.gap_cv)),
    ("spread bp", lambda r: num(r.measures.spread_bp)),
    ("taker", lambda r: pct(r.measures.taker_share, "1")),
    ("fees", lambda r: usd(r.measures.fees).removesuffix(" USD")),
    ("funding", lambda r: usd(r.measures.funding).removesuffix(" USD")),
    ("cost bp", lambda r: num(r.measures.cost_bp)),
    ("deferred", lambda r: pct(r.measures.deferred_share, "0.1")),
)


def _table(report: RankReport) -> list[str]:
    header = ["#", "source", *(name for name, _ in _COLUMNS)]
    rows = [
        [str(n), short_address(r.measures.address), *(cell(r) for _, cell in _COLUMNS)]
        for n, r in enumerate(report.ranking.rows, start=1)
    ]
    widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        left = [c.ljust(w) for c, w in zip(cells[:2], widths[:2], strict=True)]
        right = [c.rjust(w) for c, w in zip(cells[2:], widths[2:], strict=True)]
        return "  ".join(left + right).rstrip()

    return [line(header), *(line(r) for r in rows)]


def rank_text(report: RankReport) -> str:
    ranking = report.ranking
    total = sum((c.weight for c in ranking.used), Decimal(0))
    out = [f"Ranking {len(ranking.rows)} sources side by side", NOT_ADVICE, "", *_table(report), ""]
    used = ", ".join(
        f"{c.label} {c.weight} ({'higher' if c.higher_is_better else 'lower'} is better)"
        for c in ranking.used
    )
    out.append(f"Score weights (of {total} used): {used or 'none'}")
    if ranking.left_out:
        out.append(
            "Left out of the score (not known for every source): "
            + ", ".join(f"{c.label} {c.weight}" for c in ranking.left_out)
        )
    out.append(f"Copyability at follower equity {usd(report.follower_equity)}.")
    out += ["", "Sources:"]
    for n, r in enumerate(ranking.rows, start=1):
        m = r.measures
        window = f"{utc(m.start_ms)} to {utc(m.end_ms)} ({duration(m.end_ms - m.start_ms)})"
        equity = "n/a" if m.equity is None else usd(m.equity)
        decisions = "n/a" if m.decisions is None else f"{m.deferred}/{m.decisions} deferred"
        out.append(f"  {n}. {m.address}: {m.fills} fills, {window}, from {m.origin}")
        out.append(f"     equity at the end {equity}; max drawdown {usd(m.max_drawdown)}; {decisions}")
    out += [f"  note: {note}" for note in report.notes]
    out += ["", "Definitions:"]
    out += [f"  {key}: {text}" for key, text in RANK.items()]
    out += ["", DISCLAIMER]
    return "\n".join(out)


# --- JSON and chart -----------------------------------------------------------------------------------


def _row_json(n: int, score: Decimal | None, parts: dict[str, Decimal], m: Measures) -> dict[str, Any]:
    return {
        "rank": n,
        "address": m.address,
        "origin": m.origin,
        "start_ms": m.start_ms,
        "end_ms": m.end_ms,
        "fills": m.fills,
        "score": ratio_json(score),
        "parts": {key: ratio_json(value) for key, value in parts.items()},
        "equity": usd_json(m.equity),
        "net_pnl": usd_json(m.net_pnl),
        "return": ratio_json(m.return_pct),
        "max_drawdown_usd": usd_json(m.max_drawdown),
        "max_drawdown": ratio_json(m.drawdown_pct),
        "drawdowns_over_5pct": m.drawdowns,
        "drawdown_frequency_per_30d": ratio_json(m.drawdown_frequency),
        "holding_time_cv": ratio_json(m.holding_cv),
        "trade_gap_cv": ratio_json(m.gap_cv),
        "spread_cost_bp": ratio_json(m.spread_bp),
        "taker_share": ratio_json(m.taker_share),
        "fees": usd_json(m.fees),
        "funding": usd_json(m.funding),
        "funding_note": m.funding_note,
        "cost_bp": ratio_json(m.cost_bp),
        "decisions": m.decisions,
        "deferred": m.deferred,
        "deferred_share": ratio_json(m.deferred_share),
        "history_cut": m.cut,
    }


def rank_json(report: RankReport) -> dict[str, Any]:
    ranking = report.ranking
    return {
        "disclaimer": NOT_ADVICE,
        "follower_equity": usd_json(report.follower_equity),
        "weights": {c.key: str(c.weight) for c in CRITERIA},
        "used": [c.key for c in ranking.used],
        "left_out": [c.key for c in ranking.left_out],
        "sources": [_row_json(n, r.score, r.parts, r.measures) for n, r in enumerate(ranking.rows, start=1)],
        "notes": list(report.notes),
        "definitions": RANK,
    }


def rank_figure(report: RankReport) -> Figure:
    """Each source's score as a bar stacked from its criteria's shares (weight × normalised / Σ weights)."""
    figure, axes = charts._figure(times=False)
    ranking = report.ranking
    rows = list(reversed(ranking.rows))  # the best at the top
    names = [short_address(r.measures.address) for r in rows]
    total = float(sum((c.weight for c in ranking.used), Decimal(0))) or 1.0
    left = [0.0] * len(rows)
    for criterion in ranking.used:
        widths = [float(criterion.weight) * float(r.parts[criterion.key]) / total for r in rows]
        axes.barh(names, widths, left=left, label=f"{criterion.label} ({criterion.weight})")
        left = [a + b for a, b in zip(left, widths, strict=True)]
    axes.set_xlim(0, 1)
    axes.set_xlabel("composite score (0 to 1, within these sources)")
    axes.set_ylabel("")
    axes.set_title("Sources side by side: composite score (descriptive, not advice)")
    axes.legend(loc="lower right", fontsize=7)
    return figure


# --- the service call -------------------------------------------------------------------------------


async def rank_sources(
    checked: RankInputs,
    *,
    api_url: str | None = None,
    venue: Venue | None = None,
    now_ms: int | None = None,
    report: Report | None = None,
) -> RankReport:
    """Read, measure and rank each source of `checked = rank_inputs(...)` (docs/analytics.md, "rank")."""
    own = None
    if checked.fills_files is None and venue is None and api_url is not None:
        own = venue = hyperliquid_reads(api_url)  # one client for every source
    try:
        rows, notes = [], []
        for n, address in enumerate(checked.addresses):
            files, given = checked.fills_files, checked.source_equities
            history = await load_history(
                address,
                days=checked.days,
                fills_file=None if files is None else files[n],
                api_url=api_url,
                venue=venue,
                now_ms=now_ms,
            )
            equity = given[n] if given is not None else None
            if equity is not None:  # the equity the user gave stands for today's
                held = () if history.account is None else history.account.positions
                history = replace(history, account=AccountState(address, equity, held, history.end_ms))
            elif history.account is not None:
                equity = history.account.equity
            # the replay and the statistics are CPU work: off the event loop (Telegram answers meanwhile)
            rows.append(await asyncio.to_thread(_measure, history, equity, checked.follower_equity))
            notes += _notes(address, history.funding_note, rows[-1], equity)
            if report is not None:
                report("sources", n + 1, len(checked.addresses))
    finally:
        if own is not None:
            await own.close()
    if any(m.spread_bp is None for m in rows):
        notes.append(NO_MID)
    return RankReport(rank(rows), checked.follower_equity, tuple(notes))


def _measure(history: History, equity: Decimal | None, follower_equity: Decimal) -> Measures:
    replay = None
    if equity is not None and equity > 0:
        params = backtest_inputs(equity=follower_equity, source_equity=equity, depth="inf").params(history)
        replay = Backtest(history, history.markets, params).run()
    return measure(history, compute_stats(history), equity=equity, replay=replay)


def _notes(address: str, funding_note: str, m: Measures, equity: Decimal | None) -> list[str]:
    who = short_address(address)
    out = []
    if funding_note and funding_note != "userFunding":
        out.append(f"{who}: {funding_note}")
    if equity is None:
        out.append(f"{who}: equity unknown (offline, none given): return, drawdown % and copyability n/a")
    if m.cut:
        out.append(
            f"{who}: history cut: the venue keeps only the last {HISTORY_REACH:,} fills reachable; "
            "the window's earlier fills are missing"
        )
    return out
