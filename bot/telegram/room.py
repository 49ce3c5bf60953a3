"""The control room's shared state and the per-update request object every handler works with.

`Room` holds the service layer (MirrorService, Tenancy, OwnerService, Approvals), pending choices, the
optional running pipeline and alert bus. `Ask` is one command or button press: who, where, the
arguments, the owner it acts for (the user in a private chat, the group in a group) and how to answer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from telegram import Bot, InlineKeyboardMarkup, Message, ReplyKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.alerts import AlertBus
from bot.service import Actor, MirrorService
from bot.service.approvals import Approvals, ChangeRequest
from bot.service.owner import OwnerService
from bot.service.tenancy import Tenancy, group_owner, user_owner
from bot.telegram.choices import Choices
from bot.telegram.intake import Doorman
from bot.telegram.send import ChatRateLimiter, edit_text, send_text

Context = ContextTypes.DEFAULT_TYPE
ROOM_KEY = "mirror_room"
MAX_NAMES = 10_000


@dataclass(frozen=True, slots=True)
class RoomConfig:
    keystore_password: SecretStr | None
    keystore_dir: Path
    confirm_ttl_s: float = 60.0  # a dangerous change's confirm button works this long
    connect_ttl_s: float = 300.0  # after /connect, the key is expected within this long
    api_url: str | None = None  # the venue's URL, named in reports ("from venue <url>")


@dataclass(frozen=True, slots=True)
class Picked:
    """A picker's answer (a source, a token, a percentage…): re-run `command` with `value` inserted
    among `args` at position `at` (0: as the first argument)."""

    command: str
    args: tuple[str, ...]
    value: str
    at: int = 0

    def arguments(self) -> list[str]:
        return [*self.args[: self.at], self.value, *self.args[self.at :]]


Pending = ChangeRequest | Picked


@dataclass
class Room:
    service: MirrorService
    tenancy: Tenancy
    control: OwnerService
    approvals: Approvals
    config: RoomConfig
    alerts: AlertBus | None = None
    runner: Any = None  # bot.pipeline.runner.Runner when started alongside it
    limiter: ChatRateLimiter | None = None
    doorman: Doorman | None = None  # who is known, in memory (bot.telegram.intake)
    choices: Choices[Pending] = field(default_factory=Choices)
    awaiting_key: dict[int, tuple[str, str | None, str | None, float]] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)  # user id -> how Telegram last showed them
    size_decimals: tuple[float, Mapping[str, int]] | None = None  # (read at, coin -> decimals): markets.py
    awaiting_master: dict[int, tuple[str, float]] = field(default_factory=dict)  # /builder approve
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def of(cls, context: Context) -> Room:
        room = context.bot_data[ROOM_KEY]
        assert isinstance(room, Room)
        return room

    def name_of(self, user_id: int) -> str:
        """A user as people know them (`Ann (@ann)`), from the updates seen; else their id."""
        return self.names.get(user_id) or f"user {user_id}"


@dataclass
class Ask:
    """One command (or button press) in one chat."""

    room: Room
    bot: Bot
    user_id: int
    chat_id: int
    chat_type: str
    args: list[str]
    message_id: int | None = None  # the user's message (None for a button press)
    edit_message_id: int | None = None  # a button press answers by editing this message

    @classmethod
    def of(cls, update: Update, context: Context) -> Ask:
        user, chat = update.effective_user, update.effective_chat
        assert user is not None and chat is not None
        query = update.callback_query
        edit = query.message.message_id if query is not None and query.message is not None else None
        message = update.effective_message if query is None else None
        room = Room.of(context)
        handle = f" (@{user.username})" if user.username else ""
        if len(room.names) >= MAX_NAMES and user.id not in room.names:
            room.names.clear()  # a cache: names are seen again with the next update
        room.names[user.id] = f"{user.full_name}{handle}"[:80]  # shown in votes (escaped there)
        return cls(
            room,
            context.bot,
            user.id,
            chat.id,
            chat.type,
            list(context.args or []),
            message.message_id if message is not None else None,
            edit,
        )

    @property
    def private(self) -> bool:
        return self.chat_type == ChatType.PRIVATE

    @property
    def actor(self) -> Actor:
        return Actor.telegram(self.user_id)

    @property
    def owner(self) -> str:
        """Whose accounts this chat acts on: the user's own in private, the group's in a group."""
        return user_owner(self.user_id) if self.private else group_owner(self.chat_id)

    async def followers(self) -> list[str]:
        return [a.address for a in await self.room.tenancy.accounts_of(self.owner)]

    async def follower(self, name: str | None) -> str:
        return await self.room.tenancy.follower_for(self.owner, name)

    async def reply(
        self,
        text: str,
        markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | None = None,
        *,
        silent: bool = False,
        spare: bool = False,
    ) -> Message | None:
        """Answer in the chat: by editing the pressed button's message, else with a new message (a
        reply keyboard always comes with a new one). `spare`: only with spare capacity, else
        `Throttled` (what strangers are told)."""
        if self.edit_message_id is not None and not isinstance(markup, ReplyKeyboardMarkup):
            await edit_text(self.bot, self.chat_id, self.edit_message_id, text, markup, spare=spare)
            return None
        return await send_text(self.bot, self.chat_id, text, markup, silent=silent, spare=spare)

    async def delete_message(self) -> None:
        """Delete the user's message (one that carried a key) before anything is said about it."""
        if self.message_id is not None:
            with contextlib.suppress(TelegramError):
                await self.bot.delete_message(self.chat_id, self.message_id)


Handler = Callable[[Ask], Awaitable[None]]
