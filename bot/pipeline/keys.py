"""What makes a decision's instruction id (the executor records under it; a price outlier's hold keeps
it for the release)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DecisionKey:
    """What makes a decision's instruction id: (follower, coin, source event id, revision)."""

    source: str
    source_event_id: str
    revision: int = 0
    leader_event_id: int | None = None
    event_kind: str | None = None  # overrides the engine's event (e.g. "retry")
    event_time_ms: int | None = None  # the source event's time, for the copy latency
    record_idle: bool = True  # record a decision that sends nothing (False: reconciliation passes)
