"""Faults only the venue client sees (a 429 it backed off from, a 5xx or a timeout it retried or turned
into an unknown outcome, a websocket it reconnected, a fill delivered twice), reported to whoever runs
the client: the adapter cannot import the bot's alerts, so the runner sets `FaultRelay.hook` and
publishes each report as an alert. The codes are stable (docs/faults.md lists them with their rules).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

__all__ = [
    "DUPLICATE_FILL",
    "RATE_LIMITED",
    "VENUE_5XX",
    "VENUE_TIMEOUT",
    "VENUE_UNREACHABLE",
    "WS_DROPPED",
    "FaultHook",
    "FaultRelay",
]

log = logging.getLogger(__name__)

RATE_LIMITED: Final = "rate_limited"  # HTTP 429: the IP's weight budget is spent
VENUE_5XX: Final = "venue_5xx"  # HTTP 5xx from /info or /exchange
VENUE_TIMEOUT: Final = "venue_timeout"  # sent, no answer in time (or the connection was lost)
VENUE_UNREACHABLE: Final = "venue_unreachable"  # not sent: the connection could not be made
WS_DROPPED: Final = "ws_dropped"  # the fills websocket was lost: reconnected and backfilled
DUPLICATE_FILL: Final = "duplicate_fill"  # a live push repeated a fill already delivered: dropped

FaultHook = Callable[[str, str], None]  # (reason code, detail without secrets)


class FaultRelay:
    """Passes fault reports to `hook` (None: logged only). A failing hook never breaks the client."""

    def __init__(self, hook: FaultHook | None = None) -> None:
        self.hook = hook
        self.counts: dict[str, int] = {}  # reports by code, for health views and tests

    def __call__(self, code: str, detail: str) -> None:
        self.counts[code] = self.counts.get(code, 0) + 1
        log.warning("venue fault %s: %s", code, detail)
        if self.hook is not None:
            try:
                self.hook(code, detail)
            except Exception:
                log.exception("the fault hook failed for %s", code)
