"""Charts as PNG (matplotlib, Agg backend: no display needed): per-coin exposure, source vs you, and a
pair's tracking over time (the target τ of each decision vs the position the venue reported)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from bot.service.views import PositionRow


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def exposure(rows: Sequence[PositionRow]) -> bytes:
    """Signed notional per coin (USD at the mid): what the source holds × your target ratio is the
    target; bars show your position against it."""
    coins = [r.coin for r in rows if r.mid is not None]
    mine = [float(r.follower_size * r.mid) for r in rows if r.mid is not None]  # plotting only
    target = [float((r.target or 0) * r.mid) for r in rows if r.mid is not None]
    figure, axes = plt.subplots(figsize=(7, 4))
    xs = range(len(coins))
    axes.bar([x - 0.2 for x in xs], target, width=0.4, label="target (from the source)")
    axes.bar([x + 0.2 for x in xs], mine, width=0.4, label="you")
    axes.set_xticks(list(xs), coins)
    axes.axhline(0, color="grey", linewidth=0.8)
    axes.set_ylabel("notional, USD (+ long, − short)")
    axes.set_title("Exposure per coin")
    axes.legend()
    figure.tight_layout()
    return _png(figure)


def tracking(coin: str, points: Sequence[tuple[datetime, float, float | None]]) -> bytes:
    """Target τ and the position after each decision for one coin."""
    figure, axes = plt.subplots(figsize=(7, 4))
    start = points[0][0]
    hours = [(t - start).total_seconds() / 3600 for t, _, _ in points]
    axes.step(hours, [tau for _, tau, _ in points], where="post", label="target τ")
    known = [(h, p) for h, (_, _, p) in zip(hours, points, strict=True) if p is not None]
    axes.plot([h for h, _ in known], [p for _, p in known], "o", label="position before (venue)")
    axes.set_xlabel(f"hours since {start:%Y-%m-%d %H:%M} UTC")
    axes.set_title(f"Tracking: {coin}")
    axes.set_ylabel(f"{coin} size")
    axes.legend()
    figure.tight_layout()
    return _png(figure)


def equity(series: Sequence[tuple[str, Sequence[tuple[datetime, float]]]]) -> bytes:
    """Each account's return since its first recorded equity, in %: a follower that copies well runs
    close to its sources whatever the accounts' sizes (absolute USD would put them on different scales)."""
    figure, axes = plt.subplots(figsize=(7, 4))
    start = min(points[0][0] for _, points in series)
    for label, points in series:
        hours = [(t - start).total_seconds() / 3600 for t, _ in points]
        axes.plot(hours, [v for _, v in points], marker="." if len(points) < 30 else "", label=label)
    axes.axhline(0, color="grey", linewidth=0.8)
    axes.set_ylabel("return since the first reading, %")
    axes.set_xlabel(f"hours since {start:%Y-%m-%d %H:%M} UTC")
    axes.set_title("Equity: you vs your sources")
    axes.legend()
    figure.tight_layout()
    return _png(figure)
