"""Injected faults for the wire layer: HTTP 429 / 5xx answers, added latency, dropped websockets, and
`userFills` pushes duplicated, reordered or held back (a fill the websocket delivers twice, late, or
not until told).

(Rejected orders and partial fills are the exchange core's attributes; the control endpoint sets
those directly.) Every random draw comes from one `random.Random(seed)`, so a run with the same seed
and the same request sequence meets the same faults.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Literal

FaultScope = Literal["all", "exchange", "info"]
FAULT_SCOPES: tuple[FaultScope, ...] = ("all", "exchange", "info")
STATUS_5XX: tuple[int, ...] = (500, 502, 503, 504)

# Bodies as plain text: the SDK turns a 4xx it cannot parse as JSON into ClientError(status, text)
# and any 5xx into ServerError(status, text).
TOO_MANY_REQUESTS = "Too many requests (localnet fault)"
SERVER_ERROR = "Internal server error (localnet fault)"


@dataclass(slots=True)
class HttpFaults:
    rate_429: float = 0.0
    rate_5xx: float = 0.0
    status_5xx: int = 500
    latency_ms: float = 0.0
    scope: FaultScope = "all"
    drop_ws_rate: float = 0.0
    duplicate_ws_fills: float = 0.0  # chance that a userFills push is sent twice
    reorder_ws_fills: bool = False  # each userFills push waits for the user's next one, then follows it
    hold_ws_fills: int = 0  # the next N userFills pushes are held until released (or the faults cleared)


class Faults:
    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._rng = random.Random(seed)
        self.settings = HttpFaults()

    @property
    def active(self) -> bool:
        s = self.settings
        return s.rate_429 > 0 or s.rate_5xx > 0 or s.latency_ms > 0

    def applies_to(self, endpoint: Literal["exchange", "info"]) -> bool:
        return self.settings.scope in ("all", endpoint)

    def draw_http_error(self) -> int | None:
        """The HTTP status to answer instead of serving the request, or None to serve it."""
        s = self.settings
        if s.rate_429 > 0 and self._rng.random() < s.rate_429:
            return 429
        if s.rate_5xx > 0 and self._rng.random() < s.rate_5xx:
            return s.status_5xx
        return None

    def draw_ws_drop(self) -> bool:
        """Whether to drop a websocket connection instead of delivering its next message."""
        rate = self.settings.drop_ws_rate
        return rate > 0 and self._rng.random() < rate

    def draw_ws_duplicate(self) -> bool:
        """Whether to send a userFills push a second time (drawn only while the rate is set)."""
        rate = self.settings.duplicate_ws_fills
        return rate > 0 and self._rng.random() < rate

    def clear(self) -> None:
        self.settings = HttpFaults()

    def reset(self) -> None:
        """Clear, and restart the random sequence as if freshly started."""
        self.clear()
        self._rng = random.Random(self._seed)

    def to_json(self) -> dict[str, Any]:
        s = self.settings
        return {
            "rate429": s.rate_429,
            "rate5xx": s.rate_5xx,
            "status5xx": s.status_5xx,
            "latencyMs": s.latency_ms,
            "scope": s.scope,
            "dropWsRate": s.drop_ws_rate,
            "duplicateWsFills": s.duplicate_ws_fills,
            "reorderWsFills": s.reorder_ws_fills,
            "holdWsFills": s.hold_ws_fills,
        }
