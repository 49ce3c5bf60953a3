"""PNG charts (matplotlib, Agg backend: no display needed). Floats appear here only, to draw: every
figure the charts show was computed exactly before."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.analytics.backtest import BacktestResult
from bot.analytics.curve import Point
from bot.analytics.definitions import DISCLAIMER
from bot.analytics.stats import SourceStats

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import NDArray

SIZE_INCHES = (9.0, 4.8)
DPI = 100


def _times(points: Sequence[Point]) -> NDArray[np.datetime64]:
    import numpy

    return numpy.array([p.time_ms for p in points], dtype="datetime64[ms]")  # UTC, exact


def _values(points: Sequence[Point]) -> list[float]:
    return [float(p.value) for p in points]


def _figure() -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=SIZE_INCHES, dpi=DPI)  # no pyplot: no global state, thread-safe
    axes = figure.add_subplot()
    axes.grid(True, alpha=0.3)
    axes.set_xlabel("time (UTC)")
    axes.set_ylabel("USD")
    figure.text(0.01, 0.01, DISCLAIMER, fontsize=6, color="grey")
    return figure, axes


def _png(figure: Figure) -> bytes:
    figure.autofmt_xdate()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def inspect_chart(stats: SourceStats) -> bytes:
    """The realised equity curve, with the running peak and the maximum drawdown marked."""
    figure, axes = _figure()
    times, values = _times(stats.curve), _values(stats.curve)
    peaks: list[float] = []
    for value in values:
        peaks.append(max(value, peaks[-1]) if peaks else value)
    axes.step(times, values, where="post", label="net realised PnL (closedPnl − fees + funding)")
    axes.fill_between(times, values, peaks, step="post", alpha=0.2, color="red", label="drawdown from peak")
    axes.set_title(f"{stats.address}: realised equity curve")
    axes.legend(loc="best", fontsize=8)
    return _png(figure)


def backtest_chart(result: BacktestResult) -> bytes:
    """Follower PnL against the ideal (ratio × source) PnL, and the source's own PnL on a second axis."""
    figure, axes = _figure()
    axes.plot(_times(result.follower_curve), _values(result.follower_curve), label="follower PnL (backtest)")
    ideal = result.ideal_curve
    axes.plot(_times(ideal), _values(ideal), "--", label="ideal: ratio × source PnL")
    source_axes = axes.twinx()
    source_axes.plot(
        _times(result.source_curve), _values(result.source_curve), ":", color="grey", label="source PnL"
    )
    source_axes.set_ylabel("source USD")
    axes.set_title(f"Copying {result.address}: follower vs source")
    lines, labels = axes.get_legend_handles_labels()
    more, more_labels = source_axes.get_legend_handles_labels()
    axes.legend(lines + more, labels + more_labels, loc="best", fontsize=8)
    return _png(figure)
