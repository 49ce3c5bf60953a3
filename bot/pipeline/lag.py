"""The copy's stopwatch: how long after the source's fill on the venue its copy reached each stage.

Stages, in order: `seen` (the change reached the mirror), `decided` (every follower's decision made),
`sent` (a follower's order handed to the venue), `answered` (the venue's answer back). Whoever wants
the times (the ops port's histogram, bot/ops) adds a listener; with none the hot path pays one check.
Changes without a venue time (reconciliation passes, retries of a rest) are not timed.
"""

from __future__ import annotations

from collections.abc import Callable

LAG_STAGES = ("seen", "decided", "sent", "answered")

LagListener = Callable[[str, float], None]  # (stage, seconds since the source's fill)


class CopyClock:
    def __init__(self) -> None:
        self.listeners: list[LagListener] = []

    def reached(self, stage: str, event_time_ms: int | None, at_ms: int) -> None:
        """A copy of the fill made at `event_time_ms` reached `stage` at `at_ms` (both venue-epoch ms)."""
        if not self.listeners or event_time_ms is None:
            return
        seconds = max(0.0, (at_ms - event_time_ms) / 1000)  # a venue clock ahead of ours is not negative
        for listener in self.listeners:
            listener(stage, seconds)
