"""Start-up recovery: each pair as its latest recorded decision left it, and stored intents as requests.

The ledger reads the rows (`Ledger.latest_decisions`, `open_intents`, `unrecorded_fill_orders`); this
module derives pair state from them, which the copier puts into the engines (`Copier.restore`) before
it settles the orders (`Copier.resume_intents`, `Copier.record_missing_fills`).
docs/decisions/reconcile.md says how a pair's state is derived from its latest decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.domain import OrderRequest, Side, Tif
from bot.ledger import CopyInstruction, Ledger, OrderIntent
from strategies.model import PairState, Reason, Status

_UNTRACKED = frozenset({Reason.UNTRACKED.value})
_WAITING = frozenset({Reason.COPY_CURRENT_DEVIATION.value, Reason.ENTRY_PRICE_UNKNOWN.value})
_RELEASED = frozenset({Reason.DETACHED.value})


@dataclass(frozen=True, slots=True)
class PairRecord:
    """A pair as its latest decision left it. `source_size` is the raw source size that decision
    mirrored (from its source change), or None when the ledger cannot tell (a follow or plan decision
    not preceded by a source change: the source's size then is taken from the venue at start-up)."""

    follower: str
    source: str
    coin: str
    plan_version: int | None
    status: Status
    ratio: Decimal | None
    target: Decimal
    source_size: Decimal | None
    waiting_join: bool

    def state(self, effective_source_size: Decimal) -> PairState:
        return PairState(
            self.coin,
            self.source,
            self.status,
            self.ratio,
            effective_source_size,
            self.target,
            self.waiting_join,
        )


def _status(row: CopyInstruction) -> tuple[Status, bool] | None:
    """The pair's status after `row`; None when the decision released the pair (no pair left)."""
    if row.reason in _RELEASED or (row.event_kind == "unfollow" and row.target_after == 0):
        return None
    if row.target_after != 0:
        return Status.TRACKING, False
    if row.reason in _UNTRACKED:
        return Status.UNTRACKED, False
    if row.reason in _WAITING:
        return Status.UNTRACKED, True
    return Status.FLAT, False


async def latest_pairs(ledger: Ledger, followers: set[str]) -> list[PairRecord]:
    """The latest decision of every (follower, coin) of `followers`, as pair state."""
    out: list[PairRecord] = []
    for latest in await ledger.latest_decisions(followers):
        row = latest.row
        status = _status(row)
        if status is None:
            continue
        out.append(
            PairRecord(
                row.follower,
                row.source,
                row.coin,
                row.plan_version,
                status[0],
                row.ratio,
                row.target_after,
                latest.source_size,
                status[1],
            )
        )
    return out


def request_of_intent(intent: OrderIntent) -> OrderRequest:
    """The stored intent as the request it is (or was) sent as: same cloid, same bytes to sign."""
    return OrderRequest(
        intent.coin,
        intent.side == Side.BUY.value,
        intent.size,
        intent.limit_px,
        intent.reduce_only,
        Tif(intent.tif),
        intent.cloid,
    )
