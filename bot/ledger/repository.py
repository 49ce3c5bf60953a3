"""The ledger's API for the pipeline, the service layer and the CLI: `Ledger`, assembled from one part per
aggregate (accounts, plans, fills, audit, status, control room, decisions, orders: bot/ledger/*_store.py;
the pipeline's reads: pipeline_reads.py; the shared base: base.py). The hot path's writes
(decision_store.py, order_store.py) go in batches of one transaction.

Every method is one transaction. Recording is idempotent wherever the venue or a restart can repeat
a message: leader events (by venue+source+event id), instructions (by their deterministic id), intents
(one per instruction), venue-order statuses (a repeat of the last status is not appended again) and
fills (by venue+account+trade id). Idempotent inserts are `INSERT … ON CONFLICT DO NOTHING` followed
by a read, so two concurrent writers of the same record never collide.
"""

from __future__ import annotations

from bot.ledger.account_store import AccountStore
from bot.ledger.audit_store import AuditStore
from bot.ledger.control_room_store import ControlRoomStore
from bot.ledger.decision_store import (
    DecisionDraft,
    DecisionStore,
    IntentDraft,
    RecordedDecision,
    instruction_values,
    leader_event_row,
)
from bot.ledger.fill_store import FillStore
from bot.ledger.guard_store import GuardStore
from bot.ledger.order_store import OrderAnswer, OrderStore
from bot.ledger.pipeline_reads import PipelineReads
from bot.ledger.plan_store import PlanStore
from bot.ledger.status_store import StatusStore
from bot.ledger.values import (
    TIME_IN_FORCE,
    LedgerError,
    Recorded,
    check_keystore,
    fill_trade_id,
)

__all__ = [
    "TIME_IN_FORCE",
    "DecisionDraft",
    "IntentDraft",
    "Ledger",
    "LedgerError",
    "OrderAnswer",
    "Recorded",
    "RecordedDecision",
    "check_keystore",
    "fill_trade_id",
    "instruction_values",
    "leader_event_row",
]


class Ledger(
    AccountStore,
    PlanStore,
    FillStore,
    AuditStore,
    PipelineReads,
    StatusStore,
    ControlRoomStore,
    DecisionStore,
    OrderStore,
    GuardStore,
):
    """The ledger over one database (SQLite or PostgreSQL), one part per aggregate: accounts, follow
    plans, fills, audit, the status views' reads (`StatusStore`), the control room (`ControlRoomStore`),
    the pipeline's reads (`PipelineReads`), and the hot path's writes: decisions (`DecisionStore`:
    leader events, instructions) and orders (`OrderStore`: intents, venue orders); the distributed roles'
    guard state (`GuardStore`)."""
