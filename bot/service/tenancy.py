"""Who may use the bot and whose accounts are whose (SPEC §8, docs/decisions/telegram.md).

- Members: the admins named in MIRROR_TELEGRAM_ADMINS, plus users an admin invited (`/invite`).
- Owners: every follower account has an owner, `telegram:<user id>` or `telegram-group:<chat id>` (a DAO
  treasury's group); nobody sees or changes another owner's accounts or their follows. An account with
  no owner is the operator's (registered with the CLI) and is not visible from Telegram.
- Groups: a group that owns accounts lists its admins and how many of them (k of n) must approve a
  settings change (bot/service/approvals.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.ledger import Account, Ledger
from bot.service import inputs
from bot.service.actor import Actor
from bot.service.errors import Conflict, InvalidInput, NotFound, ServiceError
from bot.service.service import VENUE

USER_OWNER = "telegram:"
GROUP_OWNER = "telegram-group:"
MAX_GROUP_ADMINS = 50


def user_owner(user_id: int) -> str:
    return f"{USER_OWNER}{user_id}"


def group_owner(chat_id: int) -> str:
    return f"{GROUP_OWNER}{chat_id}"


def owner_chat(owner: str) -> int | None:
    """The Telegram chat that hears about an owner's accounts (a user's private chat, or the group)."""
    for prefix in (GROUP_OWNER, USER_OWNER):
        if owner.startswith(prefix):
            rest = owner.removeprefix(prefix)
            return int(rest) if rest.lstrip("-").isdigit() else None
    return None


class Refused(ServiceError):
    """The caller may not do this (not a member, not an admin, not the owner)."""


@dataclass(frozen=True, slots=True)
class Policy:
    chat_id: int
    admins: tuple[int, ...]
    threshold: int

    @property
    def needs_approval(self) -> bool:
        return self.threshold > 1


class Tenancy:
    def __init__(self, ledger: Ledger, admins: frozenset[int]) -> None:
        self.ledger = ledger
        self.admins = admins

    async def _audit(self, actor: Actor, action: str, details: Mapping[str, Any]) -> None:
        await self.ledger.audit(actor=actor.name, channel=actor.channel, action=action, details=dict(details))

    # ---- members ---------------------------------------------------------------------------------

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.admins

    async def is_member(self, user_id: int) -> bool:
        if user_id in self.admins:
            return True
        row = await self.ledger.telegram_member(user_id)
        return row is not None and row.active

    async def known_users(self) -> frozenset[int]:
        """Everyone the bot answers: its admins, active members and the groups' listed admins (who may
        vote without being members)."""
        members = await self.ledger.telegram_members()
        policies = await self.ledger.group_policies()
        known = {m.user_id for m in members if m.active} | {int(a) for p in policies for a in p.admins}
        return frozenset(known | self.admins)

    async def refuse(self, actor: Actor, what: str, details: Mapping[str, Any] | None = None) -> None:
        """Log a refused request (unknown user, a group member who is not an admin, …)."""
        await self._audit(actor, "telegram.refused", {"refused": what, **(details or {})})

    async def invite(self, actor: Actor, admin_id: int, user_id: int | str) -> bool:
        """Admit `user_id`; True when this changed anything. Only admins invite."""
        if not self.is_admin(admin_id):
            await self.refuse(actor, "invite: not an admin", {"user": user_id})
            raise Refused("only the bot's admins (MIRROR_TELEGRAM_ADMINS) can invite users")
        user_id = inputs.telegram_user(user_id, "user")
        changed = await self.ledger.activate_member(user_id, actor.name)
        await self._audit(actor, "telegram.invite", {"user": user_id, "changed": changed})
        return changed

    async def revoke(self, actor: Actor, admin_id: int, user_id: int) -> bool:
        if not self.is_admin(admin_id):
            await self.refuse(actor, "revoke: not an admin", {"user": user_id})
            raise Refused("only the bot's admins (MIRROR_TELEGRAM_ADMINS) can revoke users")
        changed = await self.ledger.deactivate_member(user_id)
        await self._audit(actor, "telegram.revoke", {"user": user_id, "changed": changed})
        return changed

    # ---- ownership -------------------------------------------------------------------------------

    async def accounts_of(self, owner: str) -> list[Account]:
        return await self.ledger.accounts_owned_by(owner, VENUE)

    async def owners(self) -> list[str]:
        """Every Telegram owner of at least one account."""
        return await self.ledger.account_owners()

    async def owner_of(self, address: str) -> str | None:
        account = await self.ledger.get_account(VENUE, address.lower())
        return None if account is None else account.owner

    async def check_claimable(self, address: str, owner: str) -> None:
        """Refuse before registering an account that someone else (or the operator) already holds."""
        account = await self.ledger.get_account(VENUE, inputs.address(address, "address"))
        if account is not None and account.owner != owner:
            raise Conflict(f"account {account.address} is already registered by someone else")

    async def claim(
        self, actor: Actor, address: str, owner: str, *, transfer_from: str | None = None
    ) -> None:
        """Make `owner` the owner of a registered account: a new one (no owner yet), or, with
        `transfer_from`, one that owner holds now (a user hands an account to a group)."""
        address = inputs.address(address, "address")

        def check(account: Account | None) -> None:
            if account is None:
                raise NotFound(f"account {address} is not registered (connect it first: /connect)")
            if account.owner not in (None, owner, transfer_from) or (account.owner is None and transfer_from):
                raise Conflict(f"account {address} belongs to someone else")

        before = await self.ledger.set_account_owner(VENUE, address, owner, check)
        await self._audit(actor, "account.owner", {"address": address, "owner": owner, "before": before})

    async def follower_for(self, owner: str, name: str | None) -> str:
        """The owner's follower account named by label, address, unique address prefix or short form
        (`inputs.address_ref`); or the only one."""
        accounts = await self.accounts_of(owner)
        if not accounts:
            raise NotFound("you have no follower account yet: connect one with /connect (in a private chat)")
        if name is None:
            if len(accounts) > 1:
                labels = ", ".join(a.label or a.address for a in accounts)
                raise InvalidInput("account", "you have several accounts: name one with on=…", labels)
            return accounts[0].address
        wanted = name.strip().lower()
        found = [a for a in accounts if (a.label or "").lower() == wanted]
        if not found and wanted.startswith("0x"):  # an address, its prefix or its short form
            ref = inputs.address_ref(name, "account")
            found = [a for a in accounts if inputs.refers_to(ref, a.address)]
        if len(found) != 1:
            labels = ", ".join(a.label or a.address for a in accounts)
            raise InvalidInput("account", f"no single account of yours matches {inputs.shown(name)}", labels)
        return found[0].address

    async def check_owns(self, owner: str, follower: str) -> None:
        if await self.owner_of(follower) != owner:
            raise NotFound(f"account {follower} is not one of yours")

    # ---- groups ----------------------------------------------------------------------------------

    async def policy(self, chat_id: int) -> Policy | None:
        row = await self.ledger.group_policy(chat_id)
        if row is None:
            return None
        return Policy(row.chat_id, tuple(int(a) for a in row.admins), row.threshold)

    async def set_policy(
        self, actor: Actor, chat_id: int, admins: Sequence[int | str], threshold: int
    ) -> Policy:
        """List a group's admins and the approvals (k of n) its settings changes need."""
        unique = sorted({inputs.telegram_user(a, "admins") for a in admins})
        if not unique or len(unique) > MAX_GROUP_ADMINS:
            raise InvalidInput("admins", f"{len(unique)} admins", f"1 to {MAX_GROUP_ADMINS} numeric user ids")
        if isinstance(threshold, bool) or not isinstance(threshold, int) or not 1 <= threshold <= len(unique):
            raise InvalidInput(
                "k", f"{inputs.shown(threshold)} approvals", f"1 to {len(unique)} (the number of admins)"
            )
        await self.ledger.save_group_policy(chat_id, unique, threshold, actor.name)
        await self._audit(actor, "group.policy", {"chat": chat_id, "admins": unique, "threshold": threshold})
        return Policy(chat_id, tuple(unique), threshold)

    async def is_group_admin(self, chat_id: int, user_id: int) -> bool:
        policy = await self.policy(chat_id)
        return policy is not None and user_id in policy.admins
