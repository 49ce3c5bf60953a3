"""Talking to Telegram within its limits: every message in HTML (bot/telegram/text.py: plain text is
escaped whole, so nothing a user or venue wrote becomes markup), chunked under 4096 characters,
"message is not modified" tolerated on edits, and flood control (a per-chat and a global token bucket
on every Bot API call, and RetryAfter honoured by waiting the time Telegram asks for, then retrying).

A call made with `spare=True` (what the bot says to strangers) never waits: it goes only when its chat
has a token and the global bucket keeps a reserve for members, else it raises `Throttled` at once."""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, Message, ReplyKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, RetryAfter, TelegramError
from telegram.ext import BaseRateLimiter, ExtBot
from telegram.warnings import PTBDeprecationWarning

from bot.telegram.text import Html, as_html, esc, plain

log = logging.getLogger(__name__)

MAX_MESSAGE = 4096
MAX_CAPTION = 1024
SPARE = "spare"  # rate_limit_args of a call that may only use spare capacity (never waits)


class Throttled(TelegramError):
    """A `spare` call found no spare capacity: it was not sent."""


def _spare(bot: Bot, spare: bool) -> dict[str, Any]:
    if not spare:
        return {}
    assert isinstance(bot, ExtBot), "spare calls need the Application's bot (it has the rate limiter)"
    return {"rate_limit_args": SPARE}


def chunks(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Split `text` into pieces of at most `limit` characters, at line breaks where possible (a line
    longer than the limit is cut). Nothing is lost or reordered; only the line breaks at the cuts and
    whitespace-only pieces (Telegram refuses blank messages) are dropped. `Html` comes back as `Html`
    pieces: markup never spans a line break (text.py's helpers), so each piece is well-formed; a line
    too long for one message is sent as its plain text (escaped), cut where no tag can be split."""
    if len(text) <= limit:
        return [text]
    markup = isinstance(text, Html)
    out: list[str] = []
    current = ""
    for line in text.split("\n"):
        if len(line) > limit:
            if current:
                out.append(current)
                current = ""
            if markup:  # an escape is at most 5 characters: cut the plain text at a fifth
                seen = plain(Html(line))
                cut = limit // 5
                pieces = [esc(seen[at : at + cut]) for at in range(0, len(seen), cut)]
            else:
                pieces = [line[at : at + limit] for at in range(0, len(line), limit)]
            out += pieces[:-1]
            line = pieces[-1] if pieces else ""
        candidate = line if not current else f"{current}\n{line}"
        if len(candidate) > limit:
            out.append(current)
            current = line
        else:
            current = candidate
    out.append(current)
    kept = [piece for piece in out if piece.strip()] or [text[:limit]]
    return [Html(piece) for piece in kept] if markup else kept


async def send_text(
    bot: Bot,
    chat_id: int,
    text: str,
    markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | None = None,
    *,
    silent: bool = False,
    spare: bool = False,
) -> Message:
    """Send `text` in as many messages as it needs; the keyboard goes under the last. Returns the last.
    Plain text is escaped (it shows exactly as written); `Html` is sent as markup."""
    pieces = chunks(as_html(text))
    message: Message | None = None
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        message = await bot.send_message(
            chat_id,
            piece,
            parse_mode=ParseMode.HTML,
            reply_markup=markup if last else None,
            disable_notification=silent,
            **_spare(bot, spare),
        )
    assert message is not None
    return message


def not_modified(exc: BadRequest) -> bool:
    return "message is not modified" in str(exc).lower()


async def edit_text(
    bot: Bot,
    chat_id: int,
    message_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    spare: bool = False,
) -> bool:
    """Replace a message's text (a refresh button, a confirmation's outcome). Returns False when the
    content was already the same (Telegram's "message is not modified", which is no error here). Text
    too long for one message keeps its first chunk in place and sends the rest as new messages."""
    pieces = chunks(as_html(text))
    try:
        await bot.edit_message_text(
            pieces[0],
            chat_id=chat_id,
            message_id=message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=markup if len(pieces) == 1 else None,
            **_spare(bot, spare),
        )
    except BadRequest as exc:
        if not_modified(exc):
            return False
        raise
    if len(pieces) > 1:
        await send_text(bot, chat_id, Html("\n".join(pieces[1:])), markup, spare=spare)
    return True


@dataclass(frozen=True, slots=True)
class Limits:
    """Telegram's published flood limits: about one message a second per chat (bursts allowed), 20 a
    minute in a group, 30 a second overall."""

    private_per_s: float = 1.0
    group_per_s: float = 20 / 60
    burst: int = 5
    global_per_s: float = 30.0
    global_burst: int = 30
    max_retries: int = 3
    max_retry_wait_s: float = 120.0  # a longer RetryAfter fails the call instead of blocking the bot


class TokenBucket:
    def __init__(self, rate: float, capacity: int, clock: Callable[[], float]) -> None:
        self.rate, self.capacity, self.clock = rate, capacity, clock
        self.tokens = float(capacity)
        self.stamp = clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_s(self) -> float:
        """Take a token; the seconds to wait before the request may go (0: at once)."""
        self._refill()
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    def spare(self, reserve: float = 0.0) -> bool:
        """Whether a token can be taken now leaving `reserve` tokens (nothing is taken)."""
        self._refill()
        return self.tokens - 1 >= reserve

    def take(self) -> bool:
        """Take a token if one is there now (never waits)."""
        if not self.spare():
            return False
        self.tokens -= 1
        return True

    @property
    def full(self) -> bool:
        self._refill()
        return self.tokens >= self.capacity


class ChatRateLimiter(BaseRateLimiter[str]):
    """python-telegram-bot's rate-limiter hook: every Bot API call passes through here."""

    def __init__(self, limits: Limits | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits or Limits()
        self._clock = clock
        self._global = TokenBucket(self.limits.global_per_s, self.limits.global_burst, clock)
        self._chats: dict[int, TokenBucket] = {}
        self.waited_s = 0.0  # total time spent waiting (flood control), for /health
        self.retries = 0
        self.spared = 0  # spare calls not sent (no spare capacity)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    def _bucket(self, chat_id: int) -> TokenBucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            rate = self.limits.private_per_s if chat_id > 0 else self.limits.group_per_s
            bucket = self._chats[chat_id] = TokenBucket(rate, self.limits.burst, self._clock)
        return bucket

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: str | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if endpoint != "getUpdates":
            chat = data.get("chat_id")
            buckets = [self._global]
            if isinstance(chat, int | str) and str(chat).lstrip("-").isdigit():
                buckets.append(self._bucket(int(chat)))
            # A spare call leaves half the global burst for members: strangers never make them wait.
            if rate_limit_args == SPARE and not all(
                b.spare(b.capacity / 2 if b is self._global else 0) for b in buckets
            ):
                self.spared += 1
                raise Throttled(f"{endpoint}: no spare capacity")
            delay = max(b.wait_s() for b in buckets)
            if delay > 0:
                self.waited_s += delay
                await asyncio.sleep(delay)
        attempt = 0
        while True:
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                with warnings.catch_warnings():  # PTB 22 warns the type will become timedelta
                    warnings.simplefilter("ignore", PTBDeprecationWarning)
                    wait = exc.retry_after
                seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
                if (
                    rate_limit_args == SPARE
                    or attempt >= self.limits.max_retries
                    or seconds > self.limits.max_retry_wait_s
                ):
                    raise
                attempt += 1
                self.retries += 1
                self.waited_s += seconds
                log.warning(
                    "telegram flood control on %s: waiting %.1f s (attempt %d)", endpoint, seconds, attempt
                )
                await asyncio.sleep(seconds)
