"""Charts a person reads at a glance (issue #19 item 11): time axes in UTC clock times or dates whose
labels do not collide, short titles, legends naming only what is drawn, USD units. Checked on the
figures before they become PNGs (the tick labels after a draw, as the PNG shows them)."""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy
import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgba, to_rgba_array
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from bot.analytics.charts import inspect_figure
from bot.analytics.history import make_history
from bot.analytics.stats import compute_stats
from bot.telegram.charts import equity_figure, tracking_figure
from tests.analytics.histories import HAND_FILLS, SOURCE, fill

CLOCK = re.compile(r"^\d{2}:\d{2}(:\d{2})?$")


def tick_labels(figure: Figure, axes: Axes) -> list[str]:
    """The x tick labels as drawn, after checking that no two of them overlap."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()  # type: ignore[no-untyped-call]  # untyped in matplotlib's stubs
    renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]
    shown = [t for t in axes.get_xticklabels() if t.get_text()]
    boxes = sorted((t.get_window_extent(renderer) for t in shown), key=lambda b: b.x0)
    for left, right in itertools.pairwise(boxes):
        assert left.x1 <= right.x0, f"tick labels collide: {[t.get_text() for t in shown]}"
    return [t.get_text() for t in shown]


def legend_matches_the_drawing(axes: Axes) -> list[str]:
    """Every legend entry is an artist with something drawn, in the colours drawn."""
    legend = axes.get_legend()
    assert legend is not None
    labels = [t.get_text() for t in legend.get_texts()]
    drawn = {a.get_label(): a for a in [*axes.lines, *axes.collections]}
    for label, handle in zip(labels, legend.legend_handles, strict=True):
        artist = drawn[label]
        if isinstance(artist, PolyCollection):
            area = [numpy.asarray(p.vertices) for p in artist.get_paths()]
            assert any(len(v) > 2 for v in area), f"{label!r} has no area"
            assert isinstance(handle, Rectangle)  # the legend's swatch: the shading's own colour
            shading = to_rgba_array(artist.get_facecolor())[0]
            assert list(to_rgba(handle.get_facecolor())) == pytest.approx(list(shading))
        else:
            assert isinstance(artist, Line2D)
            assert len(numpy.asarray(artist.get_xdata())) > 0, f"{label!r} has no points"
    return labels


def test_the_inspect_curve_of_five_minutes_reads_in_clock_times_with_a_short_title() -> None:
    stats = compute_stats(make_history(SOURCE, HAND_FILLS))
    figure = inspect_figure(stats)
    axes = figure.axes[0]
    labels = tick_labels(figure, axes)
    assert len(labels) >= 3 and all(CLOCK.match(label) for label in labels), labels
    assert axes.get_title() == "0xabab…abab: realised equity curve"
    assert "USD" in axes.get_ylabel() and "UTC" in axes.get_xlabel()
    legend = legend_matches_the_drawing(axes)
    assert any(label.startswith("drawdown from the peak (max ") for label in legend), legend
    assert "running peak" in legend


def test_a_curve_of_two_months_reads_in_dates() -> None:
    day = 86_400_000
    fills = [replace(f, time_ms=f.time_ms + i * 9 * day) for i, f in enumerate(HAND_FILLS)]
    figure = inspect_figure(compute_stats(make_history(SOURCE, fills)))
    labels = tick_labels(figure, figure.axes[0])
    assert labels and not any(CLOCK.match(label) for label in labels), labels


def test_a_curve_that_never_falls_names_no_drawdown() -> None:
    rising = [
        fill("ETH", "0", "B", "1", "2000", "0", oid=1),
        fill("ETH", "60", "A", "1", "2100", "1", pnl="100", oid=2),
    ]
    figure = inspect_figure(compute_stats(make_history(SOURCE, rising)))
    legend = legend_matches_the_drawing(figure.axes[0])
    assert not any("drawdown" in label or "peak" in label for label in legend), legend


def test_tracking_over_five_minutes_is_in_clock_times_not_hours_since() -> None:
    start = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
    points = [(start + timedelta(seconds=30 * i), 0.1 * (i % 3), None if i % 2 else 0.1) for i in range(11)]
    figure = tracking_figure("ETH", points)
    axes = figure.axes[0]
    labels = tick_labels(figure, axes)
    assert len(labels) >= 3 and all(CLOCK.match(label) for label in labels), labels
    assert "hours since" not in axes.get_xlabel() and "UTC" in axes.get_xlabel()
    assert axes.get_title() == "Tracking ETH"
    legend_matches_the_drawing(axes)


def test_the_equity_chart_is_on_a_time_axis() -> None:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    series = [
        ("you 0x1234…abcd", [(start + timedelta(hours=6 * i), float(i)) for i in range(20)]),
        ("source 0x5e9e…a1b2", [(start + timedelta(hours=6 * i), float(2 * i)) for i in range(20)]),
    ]
    figure = equity_figure(series)
    axes = figure.axes[0]
    assert tick_labels(figure, axes)
    assert legend_matches_the_drawing(axes) == ["you 0x1234…abcd", "source 0x5e9e…a1b2"]
    assert "hours since" not in axes.get_xlabel()


def test_usd_values_are_exact_before_they_are_drawn() -> None:
    stats = compute_stats(make_history(SOURCE, HAND_FILLS))
    assert isinstance(stats.drawdown.amount, Decimal)  # the legend's max drawdown comes from it
    legend = legend_matches_the_drawing(inspect_figure(stats).axes[0])
    assert any(f"{stats.drawdown.amount.quantize(Decimal('0.01')):,} USD" in label for label in legend)
