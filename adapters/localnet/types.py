"""Types shared by the localnet's exchange core (`exchange.py`) and its wire layer (`server.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Channel = Literal[
    "allMids", "l2Book", "trades", "userFills", "orderUpdates", "userEvents", "userNonFundingLedgerUpdates"
]


@dataclass(frozen=True, slots=True)
class LocalEvent:
    """Something to push on the websocket. `user` is set for per-user channels (lower-case address),
    `coin` for per-coin channels; `data` is already venue-shaped (the `data` field of the WS message)."""

    channel: Channel
    data: Any
    user: str | None = None
    coin: str | None = None


class ExchangeError(Exception):
    """An /exchange request refused as a whole; `str(exc)` is the venue's wording
    (e.g. `User or API Wallet 0x… does not exist.`). The wire layer answers
    `{"status": "err", "response": str(exc)}`."""


class InfoError(Exception):
    """A malformed /info request; the wire layer answers HTTP 422 with this text."""
