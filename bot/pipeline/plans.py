"""Follows started, changed and ended: follow plans and the runtime guards, into each engine's decisions.

A plan version brings an engine's follow up to date (a new follow decides Copy Current on the source's
open positions; a settings change resizes nothing; an unfollow closes or keeps). A guard that ended a
follow (max drawdown, a source's drawdown) unfollows it the same way. Every decision is carried out
through the `Executor` under its pair's lock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from bot.alerts import Alert, AlertKind
from bot.ledger import FollowPlan
from bot.ledger.ids import normalise_account
from bot.logs import log_event
from bot.pipeline.account_sync import AccountSync
from bot.pipeline.desk import Desk, LoadedPlan
from bot.pipeline.execute import DecisionKey, Executor
from bot.pipeline.followers import Followers
from bot.pipeline.guard_gate import RiskGate
from bot.pipeline.tell import Teller
from strategies.engine import AssignmentRefused
from strategies.model import Decision

log = logging.getLogger(__name__)

# Followers whose plans are applied at once: a few keep the venue and the ledger busy (one follower's
# decision transaction overlaps another's orders), not so many that they flood SQLite's write turn or
# PostgreSQL's pool (5 + 10 connections): a follower's plan is one decision transaction, then its orders'
# answers and settles (`Executor.run`). 4 and 8 measured alike (docs/benchmarks.md, bench.load).
APPLY_CONCURRENCY = 4


class Plans:
    def __init__(
        self,
        followers: Followers,
        accounts: AccountSync,
        executor: Executor,
        risk: RiskGate,
        teller: Teller,
    ) -> None:
        self.followers = followers
        self.accounts = accounts
        self.executor = executor
        self.risk = risk
        self.teller = teller

    async def apply(self, plans: Sequence[FollowPlan]) -> list[Alert]:
        """Bring each engine to the current plan versions: new follows (Copy Current decides on the
        source's open positions), settings changes (nothing resized), unfollows (close or keep).
        Releases go first, so a token handed from one source to another is freed before it is taken.
        Returns the `following` alerts (copying started / stopped) for the caller to publish once the
        sources' watch matches: "started" must mean the source's trades are being copied."""
        changed: list[tuple[Desk, LoadedPlan]] = []
        for plan in plans:
            desk = self.followers.desks.get(normalise_account(plan.follower))
            applied = desk.plan_for(plan.source) if desk is not None else None
            if desk is not None and (applied is None or applied.version != plan.version):
                changed.append((desk, LoadedPlan.of(plan)))
        if not changed:
            self.accounts.kept = None  # recovery's read was for this apply only: no later one takes it
            return []
        # Recovery's read moments ago stands for the accounts nothing moved since (account_sync.py).
        await self.accounts.refresh({plan.plan.source for _, plan in changed}, reuse=True)
        for desk, loaded in changed:  # a new follow's engine learns its source now (Copy Current)
            if not desk.knows(loaded.plan.source):
                self.accounts.tell(desk, loaded.plan.source)
        await self.enforce_risk()
        mids = await self.followers.mids()  # a Copy Current join or a close is priced now
        held = {  # what a join would size with σ (SPEC §10): the coins the source holds
            coin
            for desk, loaded in changed
            if loaded.settings.config.vol is not None
            for (source, coin), position in desk.engine.sources.items()
            if source == loaded.plan.source and position.size != 0
        }
        await self.followers.vols.refresh(self.followers.venue, filter(self.followers.vols.stale, held))
        for desk, _ in changed:
            self.followers.set_mids(desk, mids)
            self.followers.set_vols(desk, held)
        # (False, …) sorts first: releases before takes
        changed.sort(key=lambda item: item[1].settings.active and item[1].settings.release is None)
        told = await self._apply_each(changed)
        return [alert for alert in told if alert is not None]

    async def _apply_each(self, changed: Sequence[tuple[Desk, LoadedPlan]]) -> list[Alert | None]:
        """`_apply` each: one follower's plans one after the other, in `changed`'s order (releases
        before takes: a token it hands from one source to another is freed first), different followers
        at once, at most APPLY_CONCURRENCY — a start-up's first apply of hundreds of followers was one
        decision transaction after another (issue #15). Followers share nothing here: each has its
        engine and its pairs' locks, and the executor already carries out many followers' decisions at
        once (a fan-out). What each told, in `changed`'s order; the first failure raised once all end."""
        told: list[Alert | None] = [None] * len(changed)
        by_desk: dict[Desk, list[int]] = {}
        for i, (desk, _) in enumerate(changed):
            by_desk.setdefault(desk, []).append(i)
        gate = asyncio.Semaphore(APPLY_CONCURRENCY)

        async def each(indices: list[int]) -> None:
            async with gate:
                for i in indices:
                    told[i] = await self._apply(*changed[i])

        ended = await asyncio.gather(*(each(indices) for indices in by_desk.values()), return_exceptions=True)
        for failure in ended:
            if isinstance(failure, BaseException):
                raise failure
        return told

    async def _apply(self, desk: Desk, loaded: LoadedPlan) -> Alert | None:
        source, version, engine = loaded.plan.source, loaded.version, desk.engine
        previous = desk.plan_for(source)
        desk.plans[source] = loaded
        was_active = source in engine.follows
        settings = loaded.settings
        told: Alert | None = None
        if not settings.active:
            if not was_active:
                return None
            decisions = engine.unfollow(source, close=settings.release == "close")
            event_id = f"unfollow:{source}:v{version}"
            kept = "closed" if settings.release == "close" else "kept, no longer managed"
            told = Teller.following(
                "copying_stopped",
                f"Copying stopped: {desk.address} no longer follows {source} (its positions are {kept})",
                desk,
                source,
                version,
            )
        elif not was_active:
            try:
                decisions = engine.follow(source, settings.config)
            except AssignmentRefused as exc:
                self.teller.alert(AlertKind.SKIPPED, "held_by_other_source", str(exc), desk, source, exc.coin)
                desk.plans[source] = previous if previous is not None else loaded
                return None
            event_id = f"follow:{source}:v{version}"
            told = Teller.following(
                "copying_started",
                f"Copying started: {desk.address} follows {source} (plan v{version}); its trades are "
                "copied from now on",
                desk,
                source,
                version,
            )
        else:
            decisions = self._release_dropped(desk, source, loaded) + engine.update_config(
                source, settings.config
            )
            event_id = f"plan:{source}:v{version}"
        log_event(log, "plan_applied", follower=desk.address, source=source, version=version)
        await self._carry_out(desk, decisions, DecisionKey(source, event_id))
        return told

    def _release_dropped(self, desk: Desk, source: str, loaded: LoadedPlan) -> list[Decision]:
        """Tokens this version stops covering: close them (τ := 0) or detach them, per `release`."""
        settings = loaded.settings
        return desk.engine.release_uncovered(source, settings.config, close=settings.release == "close")

    async def enforce_risk(self) -> None:
        """Carry out the follows a guard ended (max drawdown, a source's drawdown): unfollow, closing
        or detaching per the setting. Idempotent: a restart meets the same decision ids again."""
        desks = list(self.followers.desks.values())
        drops = [(desk, drop) for desk in desks for drop in self.risk.drops(desk)]
        mids = await self.followers.mids() if drops else {}  # the closes are priced now
        for desk, drop in drops:
            self.followers.set_mids(desk, mids)
            plan = desk.plan_for(drop.source)
            decisions = desk.engine.unfollow(drop.source, close=drop.close)
            version = plan.version if plan else 0
            key = DecisionKey(drop.source, f"{drop.reason.value}:{drop.source}:v{version}")
            await self._carry_out(desk, decisions, key)

    async def _carry_out(self, desk: Desk, decisions: Sequence[Decision], key: DecisionKey) -> None:
        markets = self.followers.markets
        await self.executor.locked(desk, [d for d in decisions if d.coin in markets], key)
