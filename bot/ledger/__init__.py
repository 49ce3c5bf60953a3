"""The ledger: every leader event, decision, order, fill and position, with full lineage (SPEC §5)."""

from bot.ledger.db import create_engine, init_db
from bot.ledger.ids import cloid_for, instruction_id
from bot.ledger.lineage import Lineage
from bot.ledger.models import (
    OPEN_INTENT_STATUSES,
    Account,
    AccountKind,
    AuditChannel,
    AuditLog,
    CopyInstruction,
    Fill,
    FollowPlan,
    IntentStatus,
    LeaderEvent,
    OrderIntent,
    PositionSnapshot,
    SnapshotOrigin,
    VenueOrder,
    VenueOrderStatus,
)
from bot.ledger.render import render_lineage, render_lineages
from bot.ledger.repository import Ledger, LedgerError, Recorded

__all__ = [
    "OPEN_INTENT_STATUSES",
    "Account",
    "AccountKind",
    "AuditChannel",
    "AuditLog",
    "CopyInstruction",
    "Fill",
    "FollowPlan",
    "IntentStatus",
    "LeaderEvent",
    "Ledger",
    "LedgerError",
    "Lineage",
    "OrderIntent",
    "PositionSnapshot",
    "Recorded",
    "SnapshotOrigin",
    "VenueOrder",
    "VenueOrderStatus",
    "cloid_for",
    "create_engine",
    "init_db",
    "instruction_id",
    "render_lineage",
    "render_lineages",
]
