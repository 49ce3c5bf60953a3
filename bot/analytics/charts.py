"""PNG charts (matplotlib, Agg backend: no display needed). Floats appear here only, to draw: every
figure the charts show was computed exactly before."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC
from typing import TYPE_CHECKING

from bot.analytics.backtest import BacktestResult
from bot.analytics.curve import Point
from bot.analytics.definitions import DISCLAIMER
from bot.analytics.render import short_address, usd
from bot.analytics.stats import SourceStats

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import NDArray

SIZE_INCHES = (9.0, 4.8)
DPI = 100


def utc_ms(times_ms: Sequence[int]) -> NDArray[np.datetime64]:
    """UTC milliseconds as matplotlib plots times (numpy datetimes carry no zone: UTC by construction)."""
    import numpy

    return numpy.array(times_ms, dtype="datetime64[ms]")


def _times(points: Sequence[Point]) -> NDArray[np.datetime64]:
    return utc_ms([p.time_ms for p in points])


def _values(points: Sequence[Point]) -> list[float]:
    return [float(p.value) for p in points]


def time_axis(axes: Axes) -> None:
    """Readable UTC times on the x-axis at any span: as many ticks as fit, each labelled only with what
    changes (clock times within a day, days within a month…), the rest once in the corner."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator(tz=UTC, minticks=3, maxticks=7)  # type: ignore[no-untyped-call]  # untyped stub
    formatter = ConciseDateFormatter(locator, tz=UTC, show_offset=True)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(formatter)


def _figure(*, times: bool = True) -> tuple[Figure, Axes]:
    """A chart's figure; `times`: its x-axis is UTC time (False: the caller's own scale, e.g. scores)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")  # no pyplot: thread-safe
    axes = figure.add_subplot()
    axes.grid(True, alpha=0.3)
    axes.set_ylabel("USD")
    if times:
        axes.set_xlabel("time (UTC)")
        time_axis(axes)
    figure.supxlabel(DISCLAIMER, x=0.01, ha="left", fontsize=6, color="grey")  # in the layout: no overlap
    return figure, axes


def png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def inspect_figure(stats: SourceStats) -> Figure:
    """The realised equity curve; where it is below its running peak, the peak and the fall from it
    are drawn (and only then named in the legend)."""
    figure, axes = _figure()
    times, values = _times(stats.curve), _values(stats.curve)
    peaks: list[float] = []
    for value in values:
        peaks.append(max(value, peaks[-1]) if peaks else value)
    axes.step(times, values, where="post", label="net realised PnL (closedPnl − fees + funding)")
    if any(value < peak for value, peak in zip(values, peaks, strict=True)):
        axes.step(times, peaks, where="post", linestyle=":", color="grey", label="running peak")
        axes.fill_between(
            times,
            values,
            peaks,
            step="post",
            alpha=0.25,
            color="red",
            label=f"drawdown from the peak (max {usd(stats.drawdown.amount)})",
        )
    axes.set_title(f"{short_address(stats.address)}: realised equity curve")
    axes.set_ylabel("net realised PnL, USD")
    axes.legend(loc="best", fontsize=8)
    return figure


def inspect_chart(stats: SourceStats) -> bytes:
    return png(inspect_figure(stats))


def backtest_figure(result: BacktestResult) -> Figure:
    """Follower PnL against the ideal (ratio × source) PnL, and the source's own PnL on a second axis."""
    figure, axes = _figure()
    axes.plot(_times(result.follower_curve), _values(result.follower_curve), label="follower PnL (backtest)")
    ideal = result.ideal_curve
    axes.plot(_times(ideal), _values(ideal), "--", label="ideal: ratio × source PnL")
    source_axes = axes.twinx()
    source_axes.plot(
        _times(result.source_curve), _values(result.source_curve), ":", color="grey", label="source PnL"
    )
    axes.set_ylabel("follower PnL, USD")
    source_axes.set_ylabel("source PnL, USD")
    axes.set_title(f"Copying {short_address(result.address)}: follower vs source")
    lines, labels = axes.get_legend_handles_labels()
    more, more_labels = source_axes.get_legend_handles_labels()
    axes.legend(lines + more, labels + more_labels, loc="best", fontsize=8)
    return figure


def backtest_chart(result: BacktestResult) -> bytes:
    return png(backtest_figure(result))
