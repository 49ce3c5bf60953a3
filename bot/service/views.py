"""What service calls return: plain frozen records, the same for the CLI and (later) Telegram.
`jsonable` turns any of them into JSON-ready data (decimals as exact strings, times ISO 8601 UTC)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from bot.ledger import Account, CopyInstruction, FollowPlan, Lineage
from bot.ledger.types import decimal_text
from bot.service.coverage import Coverage
from bot.service.inactivity import InactiveFollow
from bot.service.settings import settings_from_json


@dataclasses.dataclass(frozen=True, slots=True)
class KeystoreView:
    path: Path
    address: str


@dataclasses.dataclass(frozen=True, slots=True)
class AccountView:
    address: str
    kind: str
    label: str | None
    agent: str | None
    keystore: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: Account) -> AccountView:
        return cls(row.address, row.kind, row.label, row.agent_address, row.keystore_path, row.created_at)


@dataclasses.dataclass(frozen=True, slots=True)
class FollowView:
    follower: str
    source: str
    version: int
    active: bool
    tokens: str  # human description of the coverage: "ETH, BTC", "every token except SOL"
    strategy: str
    scaling: Mapping[str, str]
    copy_current: bool
    release: str | None
    actor: str | None
    created_at: datetime
    settings: Mapping[str, Any]

    @classmethod
    def of(cls, plan: FollowPlan) -> FollowView:
        parsed = settings_from_json(plan.settings)
        doc = plan.settings
        return cls(
            follower=plan.follower,
            source=plan.source,
            version=plan.version,
            active=parsed.active,
            tokens=Coverage.of(parsed.config.filters).describe() if parsed.active else "none (unfollowed)",
            strategy=str(doc.get("strategy", "mirror")),
            scaling=dict(doc.get("scaling") or {}),
            copy_current=parsed.config.copy_current,
            release=parsed.release,
            actor=plan.actor,
            created_at=plan.created_at,
            settings=doc,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class PlanChange:
    """A follow command's outcome: the plan now in force, whether a version was written, and the plans
    of other sources that gave up tokens to it (re-assignment)."""

    plan: FollowView
    changed: bool
    released: tuple[FollowView, ...] = ()
    venue_checked: bool = False
    before: Mapping[str, Any] | None = None  # an update: the settings it replaced (to show what changed)


@dataclasses.dataclass(frozen=True, slots=True)
class DecisionView:
    time: datetime
    follower: str
    source: str
    coin: str
    event: str | None
    target: Decimal
    delta: Decimal
    reason: str | None
    plan_version: int | None
    cloid: str
    id: str = ""  # the decision (instruction) id: `why` takes it, or a unique prefix of it

    @classmethod
    def of(cls, row: CopyInstruction) -> DecisionView:
        return cls(
            row.created_at,
            row.follower,
            row.source,
            row.coin,
            row.event_kind,
            row.target_after,
            row.delta,
            row.reason,
            row.plan_version,
            row.cloid,
            row.id,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class StatusView:
    accounts: tuple[AccountView, ...]
    follows: tuple[FollowView, ...]
    decisions: tuple[DecisionView, ...]
    counts: Mapping[str, int]
    # The running bot's health as it last persisted it (bot/service/runner_health.runner_health): runner
    # (None: never ran here), last_reconcile, sync_score, dead_man_switch, alerts_last_hour; and the
    # ledger's last_leader_event_at.
    health: Mapping[str, Any]
    inactive: tuple[InactiveFollow, ...] = ()  # follows whose source went quiet (SPEC §12)


NOT_JOINED = "not joined (Copy Current off)"
STOPPED = "copying stopped"


@dataclasses.dataclass(frozen=True, slots=True)
class PositionRow:
    follower: str
    source: str | None  # None: a follower position no follow manages
    coin: str
    source_size: Decimal | None
    follower_size: Decimal
    target: Decimal | None  # q(τ): the ledger's latest decision, else what a join would target now
    target_basis: str | None  # "ledger", "estimate" or None (unknown)
    drift: Decimal | None  # follower − target
    mid: Decimal | None
    drift_usd: Decimal | None
    # Why the row has no target or drift: NOT_JOINED (Copy Current off: the follower never held the
    # source's position from before the follow) or STOPPED (/stop: the source still holds it).
    note: str | None = None
    # The follower's own position as the venue reports it (None: no position of the follower).
    entry_px: Decimal | None = None
    unrealized_pnl: Decimal | None = None  # USD
    sz_decimals: int | None = None  # the coin's lot precision (None: the venue did not list it)


@dataclasses.dataclass(frozen=True, slots=True)
class PositionsView:
    rows: tuple[PositionRow, ...]
    equities: Mapping[str, Decimal]


@dataclasses.dataclass(frozen=True, slots=True)
class WhyView:
    ref: str
    chains: int
    text: str
    redacted: bool = False  # the reference looked like a private key and named nothing: not shown
    lineages: tuple[Lineage, ...] = ()  # the chains shown (a chat renders them its own way)


def jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(jsonable(v) for v in value)
    return value


@dataclasses.dataclass(frozen=True, slots=True)
class AccountRemoved:
    account: AccountView
    unfollowed: tuple[str, ...]  # the sources it followed, unfollowed with their positions kept
    keystore: str | None  # the keystore file, left in place (never deleted by `account remove`)


@dataclasses.dataclass(frozen=True, slots=True)
class AccountAdded:
    account: AccountView
    created: bool  # False: it was already registered with the same agent and keystore
    venue_checked: bool  # False: the venue was not asked (no venue, unreachable, or told not to)
    replaced: str | None = None  # the agent this registration replaced (account_add replace_agent)
