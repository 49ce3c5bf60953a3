"""Charts as PNG (matplotlib without pyplot: no global state, safe in a worker thread): per-coin
exposure, source vs you, a pair's tracking over time (the target τ of each decision vs the position the
venue reported) and equity returns. Time axes show UTC clock times or dates (`time_axis`); each
`*_figure` builds the figure, so what it shows (titles, labels, legend) is testable before the PNG."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bot.analytics.charts import png, time_axis, utc_ms
from bot.ledger.types import to_ms
from bot.service.views import PositionRow

SIZE_INCHES = (7.0, 4.0)
DPI = 110


def _figure() -> tuple[Figure, Axes]:
    figure = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
    return figure, figure.add_subplot()


def _timed(axes: Axes) -> None:
    axes.set_xlabel("time (UTC)")
    axes.grid(True, alpha=0.3)
    time_axis(axes)


def exposure_figure(rows: Sequence[PositionRow]) -> Figure:
    """Signed notional per coin (USD at the mid): what the source holds × your target ratio is the
    target; bars show your position against it."""
    coins = [r.coin for r in rows if r.mid is not None]
    mine = [float(r.follower_size * r.mid) for r in rows if r.mid is not None]  # plotting only
    target = [float((r.target or 0) * r.mid) for r in rows if r.mid is not None]
    figure, axes = _figure()
    xs = range(len(coins))
    axes.bar([x - 0.2 for x in xs], target, width=0.4, label="target (from the source)")
    axes.bar([x + 0.2 for x in xs], mine, width=0.4, label="you")
    axes.set_xticks(list(xs), coins)
    axes.axhline(0, color="grey", linewidth=0.8)
    axes.set_ylabel("notional, USD (+ long, − short)")
    axes.set_title("Exposure per coin")
    axes.legend()
    return figure


def exposure(rows: Sequence[PositionRow]) -> bytes:
    return png(exposure_figure(rows))


def tracking_figure(coin: str, points: Sequence[tuple[datetime, float, float | None]]) -> Figure:
    """Target τ and the position before each decision for one coin, against the decisions' UTC times."""
    figure, axes = _figure()
    times = utc_ms([to_ms(t) for t, _, _ in points])
    axes.step(times, [tau for _, tau, _ in points], where="post", label="target τ")
    known = [(to_ms(t), p) for t, _, p in points if p is not None]
    if known:
        axes.plot(utc_ms([t for t, _ in known]), [p for _, p in known], "o", label="position before (venue)")
    axes.set_title(f"Tracking {coin}")
    axes.set_ylabel(f"{coin} size (+ long, − short)")
    _timed(axes)
    axes.legend()
    return figure


def tracking(coin: str, points: Sequence[tuple[datetime, float, float | None]]) -> bytes:
    return png(tracking_figure(coin, points))


def equity_figure(series: Sequence[tuple[str, Sequence[tuple[datetime, float]]]]) -> Figure:
    """Each account's return since its first recorded equity, in %: a follower that copies well runs
    close to its sources whatever the accounts' sizes (absolute USD would put them on different scales;
    the caption gives the USD first → last)."""
    figure, axes = _figure()
    for label, points in series:
        axes.plot(
            utc_ms([to_ms(t) for t, _ in points]),
            [v for _, v in points],
            marker="." if len(points) < 30 else "",
            label=label,
        )
    axes.axhline(0, color="grey", linewidth=0.8)
    axes.set_ylabel("return since the first reading, %")
    axes.set_title("Equity: you vs your sources")
    _timed(axes)
    axes.legend()
    return figure


def equity(series: Sequence[tuple[str, Sequence[tuple[datetime, float]]]]) -> bytes:
    return png(equity_figure(series))
