"""What reaches the command handlers, decided before any of them runs (issue #14).

- Updates of different chats are handled concurrently; one chat's updates in the order they came (a
  pasted key after its /connect, a button after the question). So a chat waiting in its own send
  throttle delays only itself, and a slow command in one chat never holds up /stop in another.
- Everyone in a group with listed admins (a DAO's group) gets through: its listed admins change, its
  other members read the group's read-outs (bot/telegram/gate.py, Standing).
- Strangers (users the bot does not know: not an admin, a member or a group's listed admin) cost
  nothing: whether a user is known is decided in memory, and a stranger is let through to be refused
  (one database read, one audit row, one answer) only within a budget per user and one for all
  strangers together; beyond it the update is dropped before any handler, database or Bot API call
  (a message that looks like a private key is still deleted, with spare capacity only).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import BaseUpdateProcessor

from bot.service.inputs import looks_like_key
from bot.service.tenancy import Tenancy
from bot.telegram.send import SPARE, TokenBucket

log = logging.getLogger(__name__)

MAX_TRACKED_STRANGERS = 10_000  # per-user budgets kept; beyond it the refilled ones are forgotten


@dataclass(frozen=True, slots=True)
class DoorLimits:
    per_user_burst: int = 2  # answers a stranger gets at once…
    per_user_every_s: float = 30.0  # …then one per this long
    overall_burst: int = 5  # answers all strangers together get at once…
    overall_per_s: float = 1.0  # …then this many a second
    refresh_s: float = 30.0  # the known users are re-read at most this often (a miss after it)


class Doorman:
    """Who the bot knows, in memory, and the strangers' budgets."""

    def __init__(
        self, tenancy: Tenancy, limits: DoorLimits | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.tenancy = tenancy
        self.limits = limits or DoorLimits()
        self._clock = clock
        self._known: frozenset[int] = frozenset()
        self._groups: frozenset[int] = frozenset()  # chats with listed admins
        self._loaded_at: float | None = None
        self._reload = asyncio.Lock()
        self._overall = TokenBucket(self.limits.overall_per_s, self.limits.overall_burst, clock)
        self._budgets: dict[int, TokenBucket] = {}
        self.let_through = 0  # strangers' updates handed to the handlers (to be refused)
        self.dropped = 0  # strangers' updates dropped unanswered

    async def known(self, user_id: int, chat_id: int | None = None) -> bool:
        """Whether the user is known, or writes in (`chat_id`) a group with listed admins."""
        if user_id in self.tenancy.admins or user_id in self._known or chat_id in self._groups:
            return True
        loaded = self._loaded_at
        if loaded is None or self._clock() - loaded >= self.limits.refresh_s:
            async with self._reload:
                if self._loaded_at == loaded:  # nobody reloaded while this waited
                    self._known = await self.tenancy.known_users()
                    policies = await self.tenancy.ledger.group_policies()
                    self._groups = frozenset(p.chat_id for p in policies)
                    self._loaded_at = self._clock()
        return user_id in self._known or chat_id in self._groups

    def govern(self, chat_id: int) -> None:
        """A group was given its admins here: its members get through at once."""
        self._groups |= {chat_id}

    def admit(self, user_id: int) -> None:
        """A user was invited here: known at once."""
        self._known |= {user_id}
        self._budgets.pop(user_id, None)

    def forget(self, user_id: int) -> None:
        """A user's access was revoked here: a stranger at once (with a fresh budget)."""
        self._known -= {user_id}
        self._budgets.pop(user_id, None)

    def let_in(self, user_id: int) -> bool:
        """Whether a stranger's update may go on to be refused (spends the budgets)."""
        budget = self._budgets.get(user_id)
        if budget is None:
            if len(self._budgets) >= MAX_TRACKED_STRANGERS:
                self._budgets = {u: b for u, b in self._budgets.items() if not b.full}
            rate = 1 / self.limits.per_user_every_s
            budget = self._budgets[user_id] = TokenBucket(rate, self.limits.per_user_burst, self._clock)
        if budget.spare() and self._overall.take():
            budget.take()
            self.let_through += 1
            return True
        self.dropped += 1
        return False


def _chat_key(update: object) -> object:
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:
            return ("user", update.effective_user.id)
    return None


class ChatQueues(BaseUpdateProcessor):
    """python-telegram-bot's update processor: concurrent across chats, in order within one, with the
    doorman in front."""

    def __init__(self, doorman: Doorman, delete: Callable[[int, int], Awaitable[Any]] | None = None) -> None:
        # The cap only bounds tasks in flight; a chat's updates wait on its own lock, not on the cap.
        super().__init__(max_concurrent_updates=100_000)
        self.doorman = doorman
        self.delete = delete  # (chat, message) → delete it with spare capacity
        self._locks: dict[object, asyncio.Lock] = {}
        self._holders: dict[object, int] = {}

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if isinstance(update, Update) and not await self._admitted(update):
            if inspect.iscoroutine(coroutine):
                coroutine.close()  # never awaited: nothing of it ran
            return
        key = _chat_key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._holders[key] = self._holders.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._holders[key] -= 1
            if not self._holders[key]:
                del self._holders[key], self._locks[key]

    async def _admitted(self, update: Update) -> bool:
        user, chat = update.effective_user, update.effective_chat
        group = chat.id if chat is not None and chat.type != "private" else None
        if user is None or await self.doorman.known(user.id, group) or self.doorman.let_in(user.id):
            return True
        message = update.message or update.edited_message
        if self.delete is not None and message is not None and looks_like_key(message.text or ""):
            with contextlib.suppress(TelegramError):
                await self.delete(message.chat_id, message.message_id)
        return False


def spare_delete(bot: Any) -> Callable[[int, int], Awaitable[Any]]:
    async def delete(chat_id: int, message_id: int) -> Any:
        return await bot.delete_message(chat_id, message_id, rate_limit_args=SPARE)

    return delete
