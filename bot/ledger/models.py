"""The ledger's entities (SPEC §5): LeaderEvent → CopyInstruction → OrderIntent → VenueOrder (+ status
rows) → Fill → PositionSnapshot; FollowPlan versions; AuditLog; Account.

Tables live in their own metadata (with a naming convention, so migrations name constraints the same
on SQLite and PostgreSQL). Enumerated columns are plain strings checked by the `Ledger` API against the
enums below: a new venue status never needs a schema migration.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKeyConstraint, Index, MetaData, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from bot.ledger.types import ExactDecimal, JSONText, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ledger_registry = registry(metadata=MetaData(naming_convention=NAMING_CONVENTION))


class LedgerModel(SQLModel, registry=ledger_registry):
    """Base of the ledger tables (their own metadata, separate from any other SQLModel tables)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class AccountKind(StrEnum):
    MASTER = "master"
    SUB_ACCOUNT = "sub_account"
    VAULT = "vault"


class IntentStatus(StrEnum):
    PENDING = "pending"  # recorded, not yet sent
    SUBMITTED = "submitted"  # sent, no answer yet
    UNKNOWN = "unknown"  # sent, the answer was lost (timeout): look it up by cloid before resending
    ACCEPTED = "accepted"  # the venue took it (its fate is in VenueOrder's status history)
    REJECTED = "rejected"  # the venue refused it
    FAILED = "failed"  # never reached the venue (e.g. a guard or a local error after recording)


# An intent whose outcome is not recorded yet: looked up by cloid (and resent only if the venue has no
# trace of it) by start-up recovery, the reconciliation pass and a replayed decision.
OPEN_INTENT_STATUSES: frozenset[str] = frozenset(
    {IntentStatus.PENDING.value, IntentStatus.SUBMITTED.value, IntentStatus.UNKNOWN.value}
)


class SnapshotOrigin(StrEnum):
    VENUE = "venue"  # read from the venue (clearinghouseState)
    FILL = "fill"  # derived from a fill (start position + size)
    DERIVED = "derived"  # the position before an order ± the filled size its answer reported
    RECONCILE = "reconcile"  # taken by the reconciliation pass
    PAPER = "paper"  # simulated execution


class AuditChannel(StrEnum):
    CLI = "cli"
    TELEGRAM = "telegram"
    SYSTEM = "system"


class Account(LedgerModel, table=True):
    """A follower account. Key material only ever as a path to, or the text of, an encrypted keystore."""

    __tablename__ = "account"
    __table_args__ = (UniqueConstraint("venue", "address"),)

    id: int | None = Field(default=None, primary_key=True)
    venue: str
    address: str
    kind: str = AccountKind.MASTER.value
    label: str | None = None
    agent_address: str | None = None
    keystore_path: str | None = None
    keystore_json: str | None = None  # an eth-account v3 keystore (encrypted); validated on insert
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Who may see and change this account and its follows: `telegram:<user id>` or `telegram-group:<chat
    # id>` (a DAO treasury). None: the operator's (CLI) account, invisible from Telegram. Revision 0002.
    owner: str | None = Field(default=None, index=True)


class LeaderEvent(LedgerModel, table=True):
    """One source change as observed (normalised) plus the raw venue payload it came from."""

    __tablename__ = "leader_event"
    __table_args__ = (UniqueConstraint("venue", "source", "event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    venue: str
    source: str
    coin: str
    event_id: str
    old_size: Decimal = Field(sa_type=ExactDecimal)
    new_size: Decimal = Field(sa_type=ExactDecimal)
    avg_px: Decimal | None = Field(default=None, sa_type=ExactDecimal)
    time: datetime = Field(sa_type=UTCDateTime)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    payload: Any = Field(default=None, sa_type=JSONText, nullable=True)


class FollowPlan(LedgerModel, table=True):
    """One version of a follow's settings. Never updated: a change is a new row with version + 1."""

    __tablename__ = "follow_plan"
    __table_args__ = (UniqueConstraint("follower", "source", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    follower: str
    source: str
    version: int
    settings: Any = Field(sa_type=JSONText)
    actor: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CopyInstruction(LedgerModel, table=True):
    """A decision: what the engine wanted for (follower, coin) after one source event, and why.

    `id` = sha256(follower, coin, source_event_id, revision) and `cloid` derives from it, so the same
    decision can be recorded (and placed) only once.
    """

    __tablename__ = "copy_instruction"
    __table_args__ = (
        UniqueConstraint("follower", "coin", "source_event_id", "revision"),
        ForeignKeyConstraint(
            ["follower", "source", "plan_version"],
            ["follow_plan.follower", "follow_plan.source", "follow_plan.version"],
        ),
    )

    id: str = Field(primary_key=True, max_length=64)
    cloid: str = Field(unique=True, max_length=34)
    follower: str
    source: str
    coin: str
    source_event_id: str
    revision: int = 0
    leader_event_id: int | None = Field(default=None, foreign_key="leader_event.id", index=True)
    plan_version: int | None = None
    strategy: str
    event_kind: str | None = None  # open / increase / decrease / close / flip / copy_current / …
    ratio: Decimal | None = Field(default=None, sa_type=ExactDecimal)  # ρ₀ in force after the decision
    target_before: Decimal = Field(sa_type=ExactDecimal)  # τ before
    target_after: Decimal = Field(sa_type=ExactDecimal)  # τ after
    position: Decimal | None = Field(default=None, sa_type=ExactDecimal)  # p as the venue reported it
    delta: Decimal = Field(sa_type=ExactDecimal)  # Δ = q(τ) − p, signed (0 when nothing is sent)
    mid: Decimal | None = Field(default=None, sa_type=ExactDecimal)
    guards: Any = Field(default_factory=list, sa_type=JSONText)  # codes of the guards that acted
    reason: str | None = None  # why no (or a smaller) order: deferred_min_notional, paused, a guard …
    # volatility scaling (SPEC §10), when the follow uses it: σ (annualised %; null = unknown) and m
    vol_sigma: Decimal | None = Field(default=None, sa_type=ExactDecimal)
    vol_mult: Decimal | None = Field(default=None, sa_type=ExactDecimal)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OrderIntent(LedgerModel, table=True):
    """The order we mean to send for one instruction (at most one: the cloid is the instruction's)."""

    __tablename__ = "order_intent"

    id: int | None = Field(default=None, primary_key=True)
    instruction_id: str = Field(foreign_key="copy_instruction.id", unique=True, max_length=64)
    cloid: str = Field(unique=True, max_length=34)
    venue: str
    account: str
    coin: str
    side: str
    size: Decimal = Field(sa_type=ExactDecimal)
    limit_px: Decimal = Field(sa_type=ExactDecimal)
    tif: str
    reduce_only: bool
    status: str = IntentStatus.PENDING.value
    error: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class VenueOrder(LedgerModel, table=True):
    """The venue's side of an intent: its order id and latest status (history in VenueOrderStatus).

    `oid` is empty for an order the venue refused outright (no id is assigned then).
    """

    __tablename__ = "venue_order"
    __table_args__ = (UniqueConstraint("venue", "oid"),)

    id: int | None = Field(default=None, primary_key=True)
    intent_id: int = Field(foreign_key="order_intent.id", unique=True)
    venue: str
    oid: int | None = Field(default=None, sa_type=BigInteger)
    status: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class VenueOrderStatus(LedgerModel, table=True):
    """One status the venue reported for an order (append-only history)."""

    __tablename__ = "venue_order_status"

    id: int | None = Field(default=None, primary_key=True)
    venue_order_id: int = Field(foreign_key="venue_order.id", index=True)
    status: str
    time: datetime = Field(sa_type=UTCDateTime)
    details: Any = Field(default=None, sa_type=JSONText, nullable=True)


class Fill(LedgerModel, table=True):
    """One execution on a follower account. Joined to its order by (venue, oid), not by a foreign key:
    a fill can arrive (websocket) before the order's acknowledgement (HTTP), and manual trades have no
    order of ours at all."""

    __tablename__ = "fill"
    __table_args__ = (
        UniqueConstraint("venue", "account", "trade_id"),
        Index(None, "venue", "oid"),
        Index(None, "account", "coin", "time"),
    )

    id: int | None = Field(default=None, primary_key=True)
    venue: str
    account: str
    trade_id: str
    coin: str
    side: str
    price: Decimal = Field(sa_type=ExactDecimal)
    size: Decimal = Field(sa_type=ExactDecimal)  # unsigned
    fee: Decimal = Field(sa_type=ExactDecimal)
    fee_token: str | None = None
    # The part of `fee` paid to a builder (a leader commission, SPEC §14); None: recorded before it was kept.
    builder_fee: Decimal | None = Field(default=None, sa_type=ExactDecimal)
    closed_pnl: Decimal = Field(default=Decimal(0), sa_type=ExactDecimal)
    start_position: Decimal | None = Field(default=None, sa_type=ExactDecimal)
    time: datetime = Field(sa_type=UTCDateTime)
    oid: int | None = Field(default=None, sa_type=BigInteger)
    cloid: str | None = Field(default=None, max_length=34, index=True)
    payload: Any = Field(default=None, sa_type=JSONText, nullable=True)


class PositionSnapshot(LedgerModel, table=True):
    """A follower's position in one coin at one moment, and where the figure came from."""

    __tablename__ = "position_snapshot"
    __table_args__ = (Index(None, "account", "coin", "time"),)

    id: int | None = Field(default=None, primary_key=True)
    venue: str
    account: str
    coin: str
    size: Decimal = Field(sa_type=ExactDecimal)  # signed
    entry_px: Decimal | None = Field(default=None, sa_type=ExactDecimal)
    time: datetime = Field(sa_type=UTCDateTime)
    origin: str
    fill_id: int | None = Field(default=None, foreign_key="fill.id", index=True)


class AuditLog(LedgerModel, table=True):
    """Who did what, from where (a CLI user, a Telegram user, or the system itself)."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    time: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor: str
    channel: str
    action: str
    details: Any = Field(default=None, sa_type=JSONText, nullable=True)


# ---- the control room (Telegram and its CLI twins; revision 0002) ------------------------------------


CONTROL_RUNNING = "running"  # a follower's control state when none was ever set (ControlState.state)


class ControlState(LedgerModel, table=True):
    """A follower's copying state as its owner set it. Append-only: the latest row is in force.
    `running`; `paused` (no new exposure, reductions still mirror); `stopped` (the kill switch: our
    open orders cancelled, mirrored positions closed, copying off until resumed)."""

    __tablename__ = "control_state"
    __table_args__ = (Index(None, "follower", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    follower: str
    state: str
    actor: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TelegramMember(LedgerModel, table=True):
    """A Telegram user an admin invited (the admins themselves come from MIRROR_TELEGRAM_ADMINS)."""

    __tablename__ = "telegram_member"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_type=BigInteger, unique=True)
    invited_by: str
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AlertPreference(LedgerModel, table=True):
    """How an owner wants one kind of alert pushed: on, silent (no notification sound) or off."""

    __tablename__ = "alert_preference"
    __table_args__ = (UniqueConstraint("owner", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    owner: str
    kind: str
    mode: str
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class GroupPolicy(LedgerModel, table=True):
    """A Telegram group that owns follows (a DAO treasury): its admins and the approvals (k of n) a
    settings change needs."""

    __tablename__ = "group_policy"

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_type=BigInteger, unique=True)
    admins: Any = Field(sa_type=JSONText)  # sorted list of Telegram user ids
    threshold: int
    actor: str
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PendingChange(LedgerModel, table=True):
    """A group's settings change waiting for its approvals; applied once `threshold` admins approved."""

    __tablename__ = "pending_change"

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_type=BigInteger, index=True)
    action: str
    payload: Any = Field(sa_type=JSONText)
    summary: str
    proposer: str
    status: str  # pending / applied / rejected / expired / failed
    result: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Approval(LedgerModel, table=True):
    """One admin's vote on a pending change (one vote per admin per change)."""

    __tablename__ = "approval"
    __table_args__ = (UniqueConstraint("change_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    change_id: int = Field(foreign_key="pending_change.id", index=True)
    user_id: int = Field(sa_type=BigInteger)
    vote: str  # approve / reject
    time: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# ---- equity history (charts: follower vs source equity; revision 0003) ------------------------------


class EquitySnapshot(LedgerModel, table=True):
    """An account's equity (USD) at a moment, as the pipeline read it. At most one row per (address,
    role, UTC minute): the first reading of a minute is kept, a repeat is ignored (bot/service/equity.py)."""

    __tablename__ = "equity_snapshot"
    __table_args__ = (UniqueConstraint("address", "role", "minute"), Index(None, "address", "time"))

    id: int | None = Field(default=None, primary_key=True)
    address: str
    role: str  # follower / source
    minute: int = Field(sa_type=BigInteger)  # epoch minutes (UTC) of `time`
    time: datetime = Field(sa_type=UTCDateTime)
    equity: Decimal = Field(sa_type=ExactDecimal)


# ---- the running bot's health (`mirrorbot status`; revision 0004) ------------------------------------


class RunnerHealth(LedgerModel, table=True):
    """What the running bot last said about itself (bot/pipeline/health.py): one row per runner name,
    rewritten in place at every heartbeat (a heartbeat, not history; the alert counts are its own)."""

    __tablename__ = "runner_health"

    name: str = Field(primary_key=True)
    started_at: datetime = Field(sa_type=UTCDateTime)
    heartbeat_at: datetime = Field(sa_type=UTCDateTime)
    stopped_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    doc: Any = Field(default_factory=dict, sa_type=JSONText)  # last pass, scores, dead-man, alert counts


# ---- one runner per follower venue (bot/ledger/lease.py; revision 0005) ------------------------------


class RunnerLease(LedgerModel, table=True):
    """Who runs the copy loop for a scope (`follower_venue:<venue>`): the holder's identity, its
    heartbeat, and the fencing epoch, raised at every acquisition. A row, not a file lock, because the
    ledger may be PostgreSQL shared by several hosts."""

    __tablename__ = "runner_lease"

    scope: str = Field(primary_key=True)
    epoch: int = Field(sa_type=BigInteger)
    token: str  # the holding Runner's random id: only it renews or releases the lease
    pid: int = Field(sa_type=BigInteger)
    host: str
    node: str  # boot id + pid namespace: where `pid` names this very process (empty: unknown)
    acquired_at: datetime = Field(sa_type=UTCDateTime)
    heartbeat_at: datetime = Field(sa_type=UTCDateTime)
    released_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class OwnershipLease(LedgerModel, table=True):
    """Who owns one source (its watcher) or one follower (its copy worker) in the distributed roles
    (issue #15, bot/ledger/ownership.py): the holding process, the fencing epoch — raised at every
    acquisition, never lowered — and when the holder's heartbeat expires. An intent for a follower is
    written only with that follower's current epoch (the fencing rule)."""

    __tablename__ = "ownership_lease"

    kind: str = Field(primary_key=True)  # LeaseKind: "source" | "follower" | a process's role
    name: str = Field(
        primary_key=True
    )  # the source's or follower's address (lower-case), or the process's name
    epoch: int = Field(sa_type=BigInteger)
    holder: str = Field(index=True)  # the holding process's random token: only it renews or releases
    pid: int = Field(sa_type=BigInteger)
    host: str
    acquired_at: datetime = Field(sa_type=UTCDateTime)
    heartbeat_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)  # past it, another process may take the lease
    released_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    # A process's row (kind "watcher" | "worker" | "control", name: its name) carries the egress budget it
    # declared: websocket users and request weight per minute (None on the rows of sources and followers).
    ws_users: int | None = Field(default=None, nullable=True)
    weight_per_min: int | None = Field(default=None, nullable=True)


# The lineage and plan tables (the control room's tables above are listed in CONTROL_TABLES).
TABLES = (
    Account,
    LeaderEvent,
    FollowPlan,
    CopyInstruction,
    OrderIntent,
    VenueOrder,
    VenueOrderStatus,
    Fill,
    PositionSnapshot,
    AuditLog,
)
CONTROL_TABLES = (ControlState, TelegramMember, AlertPreference, GroupPolicy, PendingChange, Approval)
EQUITY_TABLES = (EquitySnapshot,)
HEALTH_TABLES = (RunnerHealth,)
LEASE_TABLES = (RunnerLease, OwnershipLease)
metadata = ledger_registry.metadata


class GuardState(LedgerModel, table=True):
    """One follower's runtime-guard state in the distributed roles (bot/risk/book.py's per-follower part:
    peak and day-start equity, trips, the follows a source guard dropped, the control carried out). In
    the ledger, not a worker's file, so it moves with the follower's lease: a follower taken over kept
    its drawdown peak and its trips. Written only under the follower's current lease epoch."""

    __tablename__ = "guard_state"

    follower: str = Field(primary_key=True)  # lower-case address
    state: Any = Field(sa_type=JSONText)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class SourcePeak(LedgerModel, table=True):
    """A source's peak equity (the source drawdown guard), shared by every worker copying it: it only
    rises (a write lower than the stored peak leaves it)."""

    __tablename__ = "source_peak"

    source: str = Field(primary_key=True)  # lower-case address
    peak: Decimal = Field(sa_type=ExactDecimal)
    updated_at: datetime = Field(sa_type=UTCDateTime)
