"""The ledger's reads and writes for the control room (bot/service/tenancy.py, approvals.py,
control.py): Telegram members and group policies, account ownership, pending changes and their votes,
control states, alert preferences, and the fills and decisions an owner's views show. A part of
`Ledger` (bot/ledger/repository.py), so that only `bot/ledger` speaks SQL.
Every write is one `_tx`: on SQLite it takes the writers' turn like the rest of the ledger.

Rules stay with the service: a write that must check the row it changes in the same transaction takes
the check as a callable (`set_account_owner`), which raises the service's own error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.ledger.base import LedgerBase
from bot.ledger.models import (
    Account,
    AlertPreference,
    Approval,
    ControlState,
    CopyInstruction,
    Fill,
    GroupPolicy,
    PendingChange,
    TelegramMember,
    utcnow,
)


class ControlRoomStore(LedgerBase):
    """A part of `Ledger`: reads in a session of their own, writes in the ledger's `_tx`."""

    # ---- Telegram members and group policies ------------------------------------------------------

    async def telegram_member(self, user_id: int) -> TelegramMember | None:
        async with self._sessions() as session:
            query = select(TelegramMember).where(TelegramMember.user_id == user_id)
            return (await session.exec(query)).first()

    async def telegram_members(self) -> list[TelegramMember]:
        async with self._sessions() as session:
            return list((await session.exec(select(TelegramMember))).all())

    async def activate_member(self, user_id: int, invited_by: str) -> bool:
        """Admit `user_id` (a new row, or an inactive one reactivated); True when this changed anything."""
        async with self._tx() as session:
            row = (
                await session.exec(select(TelegramMember).where(TelegramMember.user_id == user_id))
            ).first()
            changed = row is None or not row.active
            if row is None:
                session.add(TelegramMember(user_id=user_id, invited_by=invited_by))
            elif not row.active:
                row.active, row.updated_at, row.invited_by = True, utcnow(), invited_by
                session.add(row)
        return changed

    async def deactivate_member(self, user_id: int) -> bool:
        """True when an active member was deactivated."""
        async with self._tx() as session:
            row = (
                await session.exec(select(TelegramMember).where(TelegramMember.user_id == user_id))
            ).first()
            changed = row is not None and row.active
            if row is not None and row.active:
                row.active, row.updated_at = False, utcnow()
                session.add(row)
        return changed

    async def group_policy(self, chat_id: int) -> GroupPolicy | None:
        async with self._sessions() as session:
            return (await session.exec(select(GroupPolicy).where(GroupPolicy.chat_id == chat_id))).first()

    async def group_policies(self) -> list[GroupPolicy]:
        async with self._sessions() as session:
            return list((await session.exec(select(GroupPolicy))).all())

    async def save_group_policy(self, chat_id: int, admins: list[int], threshold: int, actor: str) -> None:
        async with self._tx() as session:
            row = (await session.exec(select(GroupPolicy).where(GroupPolicy.chat_id == chat_id))).first()
            if row is None:
                row = GroupPolicy(chat_id=chat_id, admins=admins, threshold=threshold, actor=actor)
            else:
                row.admins, row.threshold, row.actor, row.updated_at = admins, threshold, actor, utcnow()
            session.add(row)

    # ---- account ownership ------------------------------------------------------------------------

    async def accounts_owned_by(self, owner: str, venue: str) -> list[Account]:
        async with self._sessions() as session:
            query = (
                select(Account)
                .where(Account.owner == owner, Account.venue == venue)
                .order_by(col(Account.id))
            )
            return list((await session.exec(query)).all())

    async def account_owners(self) -> list[str]:
        """Every owner of at least one account, sorted."""
        async with self._sessions() as session:
            query = select(Account.owner).where(col(Account.owner).is_not(None)).distinct()
            return sorted(o for o in (await session.exec(query)).all() if o)

    async def set_account_owner(
        self, venue: str, address: str, owner: str, check: Callable[[Account | None], None]
    ) -> str | None:
        """Make `owner` the owner of the account, after `check(row)` (raising to refuse) in the same
        transaction; returns the owner before."""
        async with self._tx() as session:
            query = select(Account).where(Account.venue == venue, Account.address == address)
            account = (await session.exec(query)).first()
            check(account)
            assert account is not None
            before = account.owner
            account.owner = owner
            session.add(account)
        return before

    # ---- pending changes and votes ----------------------------------------------------------------

    async def add_pending_change(
        self, chat_id: int, action: str, payload: object, summary: str, proposer: str, voter: int
    ) -> int:
        """Record a pending change with the proposer's (`voter`) approval; returns its id."""
        async with self._tx() as session:
            row = PendingChange(
                chat_id=chat_id,
                action=action,
                payload=payload,
                summary=summary,
                proposer=proposer,
                status="pending",
            )
            session.add(row)
            await session.flush()
            assert row.id is not None
            session.add(Approval(change_id=row.id, user_id=voter, vote="approve"))
            return row.id

    async def pending_change(self, change_id: int) -> PendingChange | None:
        async with self._sessions() as session:
            return await session.get(PendingChange, change_id)

    async def pending_changes(self, chat_id: int) -> list[PendingChange]:
        """A group's changes still waiting for votes, oldest first."""
        async with self._sessions() as session:
            query = (
                select(PendingChange)
                .where(col(PendingChange.chat_id) == chat_id, col(PendingChange.status) == "pending")
                .order_by(col(PendingChange.id))
            )
            return list((await session.exec(query)).all())

    async def change_votes(self, change_id: int) -> list[Approval]:
        async with self._sessions() as session:
            return list((await session.exec(select(Approval).where(Approval.change_id == change_id))).all())

    async def add_vote(self, change_id: int, user_id: int, vote: str) -> bool:
        """False when `user_id` already voted on the change (one vote per admin)."""
        try:
            async with self._tx() as session:
                session.add(Approval(change_id=change_id, user_id=user_id, vote=vote))
        except IntegrityError:
            return False
        return True

    async def move_change(self, change_id: int, before: str, after: str) -> bool:
        """Move a change from status `before` to `after`; False if another caller moved it first."""
        async with self._tx() as session:
            result = await session.exec(
                update(PendingChange)
                .where(col(PendingChange.id) == change_id, col(PendingChange.status) == before)
                .values(status=after, decided_at=utcnow())
            )
            return bool(result.rowcount == 1)

    async def finish_change(self, change_id: int, status: str, result: str) -> None:
        async with self._tx() as session:
            await session.exec(
                update(PendingChange)
                .where(col(PendingChange.id) == change_id)
                .values(status=status, result=result, decided_at=utcnow())
            )

    # ---- control states and alert preferences -----------------------------------------------------

    async def add_control_states(self, followers: Sequence[str], state: str, actor: str) -> None:
        async with self._tx() as session:
            for follower in followers:
                session.add(ControlState(follower=follower, state=state, actor=actor))

    async def alert_preferences(self, owner: str) -> list[AlertPreference]:
        async with self._sessions() as session:
            query = select(AlertPreference).where(AlertPreference.owner == owner)
            return list((await session.exec(query)).all())

    async def set_alert_preferences(self, owner: str, kinds: Sequence[str], mode: str) -> None:
        async with self._tx() as session:
            query = select(AlertPreference).where(AlertPreference.owner == owner)
            rows = {row.kind: row for row in (await session.exec(query)).all()}
            for name in kinds:
                row = rows.get(name) or AlertPreference(owner=owner, kind=name, mode=mode)
                row.mode, row.updated_at = mode, utcnow()
                session.add(row)

    # ---- an owner's fills and decisions -----------------------------------------------------------

    async def fills_of(
        self, accounts: Sequence[str], since: datetime | None, limit: int | None
    ) -> list[Fill]:
        """The accounts' fills, newest first (since `since`, at most `limit`, when given)."""
        query = select(Fill).where(col(Fill.account).in_(list(accounts)))
        if since is not None:
            query = query.where(Fill.time >= since)
        query = query.order_by(col(Fill.time).desc(), col(Fill.id).desc())
        if limit is not None:
            query = query.limit(limit)
        async with self._sessions() as session:
            return list((await session.exec(query)).all())

    async def copied_fills(self, followers: Sequence[str]) -> list[tuple[Fill, str]]:
        """The followers' fills of copied orders, each with the source its order copied, oldest first
        (joined by cloid: a manual trade has no cloid of ours and is no follow's)."""
        query = (
            select(Fill, CopyInstruction.source)
            .join(CopyInstruction, col(CopyInstruction.cloid) == col(Fill.cloid))
            .where(col(Fill.account).in_(list(followers)))
            .order_by(col(Fill.time), col(Fill.id))
        )
        async with self._sessions() as session:
            return [(fill, str(source)) for fill, source in (await session.exec(query)).all()]

    async def recent_decisions(self, followers: Sequence[str], limit: int) -> list[CopyInstruction]:
        """The followers' latest decisions, newest first."""
        query = (
            select(CopyInstruction)
            .where(col(CopyInstruction.follower).in_(list(followers)))
            .order_by(col(CopyInstruction.created_at).desc(), col(CopyInstruction.id))
            .limit(limit)
        )
        async with self._sessions() as session:
            return list((await session.exec(query)).all())

    async def decisions_by_prefix(
        self, followers: Sequence[str], prefix: str, limit: int
    ) -> list[CopyInstruction]:
        """The followers' decisions whose id starts with `prefix` (lowercase hex), newest first."""
        if not prefix or any(c not in "0123456789abcdef" for c in prefix):
            return []  # only hex: nothing in the prefix can act as a LIKE wildcard
        query = (
            select(CopyInstruction)
            .where(
                col(CopyInstruction.follower).in_(list(followers)),
                col(CopyInstruction.id).startswith(prefix),
            )
            .order_by(col(CopyInstruction.created_at).desc())
            .limit(limit)
        )
        async with self._sessions() as session:
            return list((await session.exec(query)).all())

    async def coin_decisions(self, followers: Sequence[str], coin: str, limit: int) -> list[CopyInstruction]:
        """The followers' latest decisions in `coin`, newest first."""
        query = (
            select(CopyInstruction)
            .where(col(CopyInstruction.follower).in_(list(followers)), CopyInstruction.coin == coin)
            .order_by(col(CopyInstruction.created_at).desc())
            .limit(limit)
        )
        async with self._sessions() as session:
            return list((await session.exec(query)).all())
