"""The ledger's follow plans: every settings change a new version; decisions name the version they used."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from bot.ledger.base import LedgerBase, _chunks
from bot.ledger.ids import normalise_account
from bot.ledger.models import FollowPlan
from bot.ledger.values import LedgerError

_PLAN_VERSION_ATTEMPTS = 5


class PlanStore(LedgerBase):
    # ---- follow plans ---------------------------------------------------------------------------

    async def new_plan_version(
        self, follower: str, source: str, settings: Mapping[str, Any], *, actor: str | None = None
    ) -> FollowPlan:
        """Store `settings` as the next version of the (follower, source) plan. Earlier versions stay:
        every decision names the version it used."""
        follower, source = normalise_account(follower), normalise_account(source)
        for _ in range(_PLAN_VERSION_ATTEMPTS):
            async with self._tx() as session:
                latest = await self._latest_version(session, follower, source)
                row = FollowPlan(
                    follower=follower, source=source, version=latest + 1, settings=dict(settings), actor=actor
                )
                if await self._insert_ignore(session, row):
                    return (await session.exec(self._plan_query(follower, source, latest + 1))).one()
        # Another writer took the next version every time; surface it rather than loop forever.
        raise LedgerError(f"could not store a new plan version for {follower} ← {source}: concurrent writers")

    async def current_plan(self, follower: str, source: str) -> FollowPlan | None:
        """The plan in force: the highest version."""
        follower, source = normalise_account(follower), normalise_account(source)
        async with self._tx() as session:
            latest = await self._latest_version(session, follower, source)
            return (await session.exec(self._plan_query(follower, source, latest))).first()

    async def plan_versions(self, follower: str, source: str) -> list[FollowPlan]:
        query = (
            select(FollowPlan)
            .where(
                FollowPlan.follower == normalise_account(follower),
                FollowPlan.source == normalise_account(source),
            )
            .order_by(col(FollowPlan.version))
        )
        async with self._tx() as session:
            return list((await session.exec(query)).all())

    async def plans_at(
        self, versions: Iterable[tuple[str, str, int]]
    ) -> dict[tuple[str, str, int], FollowPlan]:
        """The plan of each (follower, source, version) asked for, by that key (those not found are
        absent); one statement per 500 followers, for the followers a runner loads (not one each)."""
        wanted = {(normalise_account(f), normalise_account(s), v) for f, s, v in versions}
        found: dict[tuple[str, str, int], FollowPlan] = {}
        async with self._tx() as session:
            for chunk in _chunks(sorted({f for f, _, _ in wanted})):
                if not chunk:
                    continue
                query = select(FollowPlan).where(col(FollowPlan.follower).in_(chunk))
                for plan in (await session.exec(query)).all():
                    key = (plan.follower, plan.source, plan.version)
                    if key in wanted:
                        found[key] = plan
        return found

    async def current_plans(self, follower: str | None = None) -> list[FollowPlan]:
        """The current version of every plan (of one follower, or of all), ordered by follower, source."""
        latest = select(
            FollowPlan.follower, FollowPlan.source, func.max(FollowPlan.version).label("version")
        ).group_by(col(FollowPlan.follower), col(FollowPlan.source))
        if follower is not None:
            latest = latest.where(FollowPlan.follower == normalise_account(follower))
        heads = latest.subquery()
        query = (
            select(FollowPlan)
            .join(
                heads,
                (col(FollowPlan.follower) == heads.c.follower)
                & (col(FollowPlan.source) == heads.c.source)
                & (col(FollowPlan.version) == heads.c.version),
            )
            .order_by(col(FollowPlan.follower), col(FollowPlan.source))
        )
        async with self._tx() as session:
            return list((await session.exec(query)).all())

    @staticmethod
    async def _latest_version(session: AsyncSession, follower: str, source: str) -> int:
        query = select(func.max(FollowPlan.version)).where(
            FollowPlan.follower == follower, FollowPlan.source == source
        )
        return int((await session.exec(query)).one() or 0)

    @staticmethod
    def _plan_query(follower: str, source: str, version: int) -> SelectOfScalar[FollowPlan]:
        return select(FollowPlan).where(
            FollowPlan.follower == follower, FollowPlan.source == source, FollowPlan.version == version
        )
