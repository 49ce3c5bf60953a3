"""The in-process alert bus: typed alerts the pipeline publishes and the user is told about.

Telegram (later) and the CLI subscribe; the pipeline never waits for a subscriber. Every alert has a
`kind` (what happened) and a stable `reason` code (why: a `strategies.model.Reason` value, the venue's
outcome, …), so a subscriber can filter without parsing text.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from bot.logs import log_event

log = logging.getLogger(__name__)


class AlertKind(StrEnum):
    COPIED = "copied"  # a follower order filled (in full or in part)
    SKIPPED = "skipped"  # a source change was not copied (paused, a filter, a guard …)
    DEFERRED = "deferred"  # below the venue's minimum order value: sent later
    GUARD = "guard"  # a guard lowered the target
    REJECTED = "rejected"  # the venue refused an order (reason: its words)
    UNKNOWN_OUTCOME = "unknown_outcome"  # no answer and no trace of the order after the grace window
    OUT_OF_SYNC = "out_of_sync"  # a pair could not be brought to its target
    SOURCE_GAP = "source_gap"  # the source's position moved in a way its fills do not explain
    FAILURE = "failure"  # a pipeline stage failed (the venue unreachable, a watcher stopped …)
    FAULT = "fault"  # a venue or feed fault, handled by its rule (reason: its code, docs/faults.md)
    FOLLOWING = "following"  # a follow took effect in the running pipeline (copying started / stopped)
    COMMISSION = "commission"  # a follow's leader commission cannot ride on its orders (told once)
    SOURCE_INACTIVE = "source_inactive"  # a source has not filled for its follow's inactive_after (§12)


@dataclass(frozen=True, slots=True)
class Alert:
    kind: AlertKind
    reason: str
    message: str
    follower: str | None = None
    source: str | None = None
    coin: str | None = None
    details: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


class AlertBus:
    """Fan-out to subscribers' bounded queues; a slow subscriber loses its oldest alerts, never blocks
    the pipeline. `recent` keeps the last `history` alerts for status views and tests."""

    def __init__(self, *, history: int = 1000, queue_size: int = 1000) -> None:
        self.recent: deque[Alert] = deque(maxlen=history)
        self._queue_size = queue_size
        self._subscribers: list[asyncio.Queue[Alert]] = []

    def subscribe(self) -> asyncio.Queue[Alert]:
        queue: asyncio.Queue[Alert] = asyncio.Queue(self._queue_size)
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Alert]) -> None:
        if queue in self._subscribers:
            self._subscribers.remove(queue)

    def publish(self, alert: Alert) -> None:
        self.recent.append(alert)
        log_event(
            log,
            "alert",
            level=logging.WARNING
            if alert.kind not in (AlertKind.COPIED, AlertKind.DEFERRED, AlertKind.FOLLOWING)
            else logging.INFO,
            kind=alert.kind,
            reason=alert.reason,
            alert=alert.message,
            follower=alert.follower,
            source=alert.source,
            coin=alert.coin,
        )
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()  # drop the oldest: the newest state matters most
            queue.put_nowait(alert)

    def of_kind(self, kind: AlertKind) -> list[Alert]:
        return [a for a in self.recent if a.kind is kind]
