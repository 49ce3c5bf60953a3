"""Changes as data, and k-of-n approvals for groups (DAO treasuries).

Every changing command (follow, unfollow, scale, tokens, copy current, limits, pause, resume, stop) is a
`ChangeRequest`: a JSON-able description of one service call. In a private chat it is executed at once
(after a confirmation when it is dangerous); in a group whose policy needs k > 1 approvals it becomes a
`PendingChange` row, and each admin's vote an `Approval` row (and an AuditLog entry). When k admins have
approved, the change is applied once — a status transition guarded in the database, so two admins
approving at the same moment cannot apply it twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot.ledger.models import PendingChange, utcnow
from bot.service.actor import Actor
from bot.service.errors import Conflict, InvalidInput, NotFound
from bot.service.owner import ControlResult, OwnerService
from bot.service.service import MirrorService
from bot.service.tenancy import Policy, Refused, Tenancy
from bot.service.views import PlanChange

ACTIONS = ("follow.add", "follow.update", "follow.remove", "control.pause", "control.resume", "control.stop")
PENDING_FOR = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ChangeRequest:
    action: str
    follower: str
    source: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)  # JSON-able keyword arguments of the call
    summary: str = ""

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise InvalidInput("action", f"unknown change {self.action!r}", ", ".join(ACTIONS))

    def payload(self) -> dict[str, Any]:
        return {"follower": self.follower, "source": self.source, "args": dict(self.args)}

    @classmethod
    def of(cls, row: PendingChange) -> ChangeRequest:
        doc = row.payload
        return cls(row.action, doc["follower"], doc.get("source"), doc.get("args") or {}, row.summary)

    def with_args(self, **args: Any) -> ChangeRequest:
        return ChangeRequest(self.action, self.follower, self.source, {**self.args, **args}, self.summary)


Outcome = PlanChange | ControlResult


async def execute(
    service: MirrorService, control: OwnerService, actor: Actor, request: ChangeRequest
) -> Outcome:
    """Carry out one change through the service layer (its checks and audit apply as for the CLI)."""
    args = dict(request.args)
    source = request.source or ""
    if request.action == "follow.add":
        return await service.follow_add(actor, request.follower, source, **args)
    if request.action == "follow.update":
        return await service.follow_update(actor, request.follower, source, **args)
    if request.action == "follow.remove":
        return await service.follow_remove(actor, request.follower, source, close=args["close"])
    followers = list(args.get("followers") or [request.follower])  # control acts on one or several
    if request.action == "control.pause":
        return await control.pause(actor, followers)
    if request.action == "control.resume":
        return await control.resume(actor, followers)
    return await control.stop(actor, followers)


def proposer_id(actor: str) -> int | None:
    """The Telegram user id in an actor name (`telegram:123`), else None."""
    channel, _, user = actor.partition(":")
    return int(user) if channel == "telegram" and user.isdigit() else None


@dataclass(frozen=True, slots=True)
class PendingView:
    id: int
    chat_id: int
    summary: str
    status: str
    approvals: tuple[int, ...]
    rejections: tuple[int, ...]
    needed: int
    result: str | None
    ready: bool = False  # this vote completed the approvals: the caller applies the change now (once)
    proposer: int | None = None  # the Telegram user who proposed it
    expires_at: datetime | None = None


class Approvals:
    def __init__(self, tenancy: Tenancy) -> None:
        self.tenancy = tenancy
        self.ledger = tenancy.ledger

    async def _audit(self, actor: Actor, action: str, details: Mapping[str, Any]) -> None:
        await self.ledger.audit(actor=actor.name, channel=actor.channel, action=action, details=dict(details))

    async def _policy(self, chat_id: int, user_id: int) -> Policy:
        policy = await self.tenancy.policy(chat_id)
        if policy is None or user_id not in policy.admins:
            raise Refused("only this group's listed admins may change its settings (see /group)")
        return policy

    async def propose(self, actor: Actor, chat_id: int, user_id: int, request: ChangeRequest) -> PendingView:
        """Record a change for the group's approval; the proposer's own approval counts."""
        await self._policy(chat_id, user_id)
        change_id = await self.ledger.add_pending_change(
            chat_id, request.action, request.payload(), request.summary or request.action, actor.name, user_id
        )
        await self._audit(
            actor, "approval.propose", {"chat": chat_id, "change": change_id, "summary": request.summary}
        )
        return await self.view(change_id)

    async def view(self, change_id: int) -> PendingView:
        row = await self.ledger.pending_change(change_id)
        if row is None:
            raise NotFound(f"no pending change #{change_id}")
        votes = await self.ledger.change_votes(change_id)
        policy = await self.tenancy.policy(row.chat_id)
        needed = policy.threshold if policy else 1
        assert row.id is not None
        return PendingView(
            row.id,
            row.chat_id,
            row.summary,
            row.status,
            tuple(v.user_id for v in votes if v.vote == "approve"),
            tuple(v.user_id for v in votes if v.vote == "reject"),
            needed,
            row.result,
            proposer=proposer_id(row.proposer),
            expires_at=row.created_at + PENDING_FOR,
        )

    async def waiting(self, chat_id: int) -> list[PendingView]:
        """The group's changes waiting for votes (those past their day are marked expired, not listed)."""
        out = []
        for row in await self.ledger.pending_changes(chat_id):
            assert row.id is not None
            if utcnow() - row.created_at > PENDING_FOR:
                await self._transition(row.id, "pending", "expired")
                continue
            out.append(await self.view(row.id))
        return out

    async def vote(
        self, actor: Actor, chat_id: int, change_id: int, user_id: int, approve: bool
    ) -> PendingView:
        """One admin's vote (once per admin). Returns the change as it now stands; `ready` is True for
        exactly one caller, the one whose vote completed the approvals: it applies the change
        (`request_of`, then `finish`)."""
        policy = await self._policy(chat_id, user_id)
        current = await self.view(change_id)
        if current.chat_id != chat_id:
            raise NotFound(f"no pending change #{change_id} in this group")
        if current.status != "pending":
            raise Conflict(f"change #{change_id} is already {current.status}")
        row = await self.ledger.pending_change(change_id)
        assert row is not None
        if utcnow() - row.created_at > PENDING_FOR:
            await self._transition(change_id, "pending", "expired")
            raise Conflict(f"change #{change_id} expired (pending changes last {PENDING_FOR})")
        if not await self.ledger.add_vote(change_id, user_id, "approve" if approve else "reject"):
            raise Conflict(f"you already voted on change #{change_id}")
        await self._audit(
            actor,
            "approval.vote",
            {"chat": chat_id, "change": change_id, "approve": approve, "user": user_id},
        )
        now = await self.view(change_id)
        if len(now.approvals) >= policy.threshold and await self._transition(
            change_id, "pending", "approved"
        ):
            return replace(await self.view(change_id), ready=True)
        if len(policy.admins) - len(now.rejections) < policy.threshold and await self._transition(
            change_id, "pending", "rejected"
        ):
            await self._audit(actor, "approval.rejected", {"chat": chat_id, "change": change_id})
            return await self.view(change_id)
        return now

    async def request_of(self, change_id: int) -> ChangeRequest:
        row = await self.ledger.pending_change(change_id)
        if row is None:
            raise NotFound(f"no pending change #{change_id}")
        return ChangeRequest.of(row)

    async def finish(self, actor: Actor, change_id: int, ok: bool, result: str) -> None:
        """Record what applying an approved change did (applied, or failed and why)."""
        await self.ledger.finish_change(change_id, "applied" if ok else "failed", result[:2000])
        await self._audit(
            actor, "approval.applied" if ok else "approval.failed", {"change": change_id, "result": result}
        )

    async def _transition(self, change_id: int, before: str, after: str) -> bool:
        """Move a change from `before` to `after`; False if another caller moved it first."""
        return await self.ledger.move_change(change_id, before, after)
