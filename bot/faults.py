"""The fault catalogue: one stable reason code per fault (issue #5), and the helpers that turn what a
stage saw into that code. docs/faults.md gives each code's rule and where it is handled.

Codes the venue client reports itself (`adapters/hyperliquid/faults.py`: rate_limited, venue_5xx,
venue_timeout, venue_unreachable, ws_dropped, duplicate_fill) reach the bot through the venue's
`on_fault` hook; the runner publishes them with `fault_alert`. The others are the pipeline's own.
"""

from __future__ import annotations

from typing import Final

from bot.alerts import Alert, AlertKind
from bot.domain import SourceFill
from bot.domain.refusals import Refusal, refusal_of

RATE_LIMITED: Final = "rate_limited"
VENUE_5XX: Final = "venue_5xx"
VENUE_TIMEOUT: Final = "venue_timeout"
VENUE_UNREACHABLE: Final = "venue_unreachable"
WS_DROPPED: Final = "ws_dropped"
DUPLICATE_FILL: Final = "duplicate_fill"
OUT_OF_ORDER_FILL: Final = "out_of_order_fill"
SOURCE_GAP: Final = "source_gap"
IOC_PARTIAL: Final = "ioc_partial"
REJECTED_MARGIN: Final = "rejected_margin"
REJECTED_TICK: Final = "rejected_tick"
REJECTED_REDUCE_ONLY: Final = "rejected_reduce_only"
REJECTED_SIZE: Final = "rejected_size"
REJECTED_MIN_VALUE: Final = "rejected_min_value"
REJECTED_OTHER: Final = "venue_rejected"  # any other refusal: the alert carries the venue's words

# What a refusal is about (the venues' words, classified in bot/domain/refusals.py) → its code. An IOC
# that found no liquidity is not a rejection to alert: the copier retries it (`unfilled_ioc`).
_CODES: Final = {
    Refusal.MARGIN: REJECTED_MARGIN,
    Refusal.TICK: REJECTED_TICK,
    Refusal.REDUCE_ONLY: REJECTED_REDUCE_ONLY,
    Refusal.SIZE: REJECTED_SIZE,
    Refusal.MIN_VALUE: REJECTED_MIN_VALUE,
    Refusal.RATE_LIMITED: RATE_LIMITED,
    Refusal.UNREACHABLE: VENUE_UNREACHABLE,
}

ALL_CODES: Final = frozenset(
    {
        RATE_LIMITED,
        VENUE_5XX,
        VENUE_TIMEOUT,
        VENUE_UNREACHABLE,
        WS_DROPPED,
        DUPLICATE_FILL,
        OUT_OF_ORDER_FILL,
        SOURCE_GAP,
        IOC_PARTIAL,
        *_CODES.values(),
        REJECTED_OTHER,
    }
)


def rejection_code(error: str | None) -> str:
    """The stable code of a venue refusal, from its words."""
    refusal = refusal_of(error)
    return _CODES.get(refusal, REJECTED_OTHER) if refusal is not None else REJECTED_OTHER


def unfilled_ioc(error: str | None) -> bool:
    """The venue's words for an IOC that found no liquidity (nothing traded)."""
    return refusal_of(error) is Refusal.UNFILLED_IOC


def fault_alert(code: str, detail: str) -> Alert:
    """A fault the venue client reported (no follower or coin attached: it concerns the connection)."""
    return Alert(AlertKind.FAULT, code, detail)


def out_of_order_alert(source: str, fill: SourceFill, absorbed: bool) -> Alert:
    """A source fill that arrived after a later fill of its coin."""
    rule = (
        "the venue's later startPosition already counts it: not applied twice"
        if absorbed
        else "sorted into place before its change was computed"
    )
    return Alert(
        AlertKind.FAULT,
        OUT_OF_ORDER_FILL,
        f"{fill.coin}: a fill of {fill.time_ms} (oid {fill.oid}) arrived after a later one; {rule}",
        source=source,
        coin=fill.coin,
        details={"oid": fill.oid, "tid": fill.tid, "time_ms": fill.time_ms, "absorbed": absorbed},
    )
