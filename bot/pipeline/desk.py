"""One follower as the pipeline holds it: its engine, trading account, loaded plans and per-coin locks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.domain import OrderRequest, Side, TradingAccount
from bot.ledger import FollowPlan
from bot.ledger.ids import normalise_account
from bot.ledger.repository import DecisionDraft, IntentDraft, instruction_values
from bot.service.settings import FollowSettings, settings_from_json
from strategies.engine import Follower

# (follower, source, version, written at) → its settings parsed (`LoadedPlan.parsed`).
_PARSED: dict[tuple[str, str, int, datetime], FollowSettings] = {}
_PARSED_MAX = 200_000  # emptied past this: a bound on memory, not a policy


@dataclass(frozen=True, slots=True)
class LoadedPlan:
    plan: FollowPlan
    settings: FollowSettings

    @classmethod
    def of(cls, plan: FollowPlan) -> LoadedPlan:
        return cls(plan, cls.parsed(plan))

    @staticmethod
    def parsed(plan: FollowPlan) -> FollowSettings:
        """`plan`'s settings, parsed once per version: plan versions never change once written, and a
        worker's plans job, its watcher's and every heartbeat's lease order read every plan — at 10,000
        follows, parsing each settings document every time cost ~0.4 s of CPU a pass. Keyed by when
        the version was written too: two ledgers in one process (tests) may hold the same follower,
        source and version with other settings."""
        key = (plan.follower, plan.source, plan.version, plan.created_at)
        settings = _PARSED.get(key)
        if settings is None:
            if len(_PARSED) >= _PARSED_MAX:
                _PARSED.clear()
            settings = _PARSED[key] = settings_from_json(plan.settings)
        return settings

    @staticmethod
    def active_of(plan: FollowPlan) -> bool:
        """Whether `plan` is an active follow (its settings parsed once per version: `parsed`)."""
        return LoadedPlan.parsed(plan).active

    @property
    def version(self) -> int:
        return self.plan.version

    @property
    def strategy(self) -> str:
        return str(self.plan.settings.get("strategy") or "mirror")


@dataclass(eq=False)
class Desk:
    """A pair's decide → send → position update runs under the pair's lock, so a second change of the
    same coin is decided against the position the first one left (never against a stale `p`). Pairs
    of different coins run concurrently."""

    account: TradingAccount
    engine: Follower
    plans: dict[str, LoadedPlan] = field(default_factory=dict)  # by source, the version applied
    out_of_sync: set[str] = field(default_factory=set)  # coins whose last order left them off target
    sync_score: Decimal | None = None  # 0..100 at the last reconciliation pass (reconcile.sync_score)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _epochs: dict[str, int] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return normalise_account(self.account.address)

    def lock(self, coin: str) -> asyncio.Lock:
        return self._locks.setdefault(coin, asyncio.Lock())

    def epoch(self, coin: str) -> int:
        """Bumped whenever an order for `coin` is sent: a periodic account read that started before
        it must not overwrite the position the order left."""
        return self._epochs.get(coin, 0)

    def bump(self, coin: str) -> None:
        self._epochs[coin] = self.epoch(coin) + 1

    def active_sources(self) -> set[str]:
        return set(self.engine.follows)

    def knows(self, source: str) -> bool:
        """Whether this follower follows `source` or has a plan of it applied (its engine keeps what it
        knows of that source)."""
        return source in self.plans or source in self.engine.follows

    def plan_for(self, source: str) -> LoadedPlan | None:
        return self.plans.get(source)

    def strategy_for(self, source: str) -> str:
        plan = self.plan_for(source)
        return plan.strategy if plan else "mirror"

    def decision_fields(self, source: str, coin: str, **fields: Any) -> dict[str, Any]:
        """A decision of this follower's `coin` pair as the ledger's instruction fields (the arguments of
        `Ledger.record_instruction` / `instruction_values`): the follower, the applied plan's version
        and strategy, the mid now, plus `fields` (event id, kind, targets, position, delta, reason …)."""
        plan = self.plan_for(source)
        return {
            "follower": self.address,
            "source": source,
            "coin": coin,
            "strategy": self.strategy_for(source),
            "plan_version": plan.version if plan else None,
            "mid": self.engine.mids.get(coin),
            **fields,
        }

    def draft(
        self,
        source: str,
        coin: str,
        *,
        request: Callable[[str], OrderRequest] | None = None,
        **fields: Any,
    ) -> DecisionDraft:
        """A decision of this follower's `coin` pair as the ledger records it: the instruction's columns
        (`decision_fields`) and, when it sends an order, that order's intent (`request` builds it from
        the instruction's cloid). The copier's decisions and the protector's trigger placements and
        fires all map through here."""
        row = instruction_values(**self.decision_fields(source, coin, **fields))
        return DecisionDraft(row, None if request is None else intent_of(request(row["cloid"])))


def intent_of(request: OrderRequest) -> IntentDraft:
    """An order's intent columns, as every order the pipeline sends is recorded."""
    side = Side.BUY if request.is_buy else Side.SELL
    return IntentDraft(side, request.size, request.limit_px, request.tif.value, request.reduce_only)
