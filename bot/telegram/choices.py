"""Inline-button choices that expire: confirmations of dangerous changes (confirm / cancel), the
close-or-keep question, source pickers. A button's callback data is a short random token; what it
stands for stays here, in memory (a restart forgets pending choices, which then read as expired)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

T = TypeVar("T")
PREFIX = "ch:"


@dataclass(frozen=True, slots=True)
class Choice(Generic[T]):
    label: str
    value: T | None  # None: cancel


@dataclass(frozen=True, slots=True)
class Offer(Generic[T]):
    """One question's buttons; pressing any of them answers (and retires) the whole question."""

    group: str
    user_id: int  # only the user who asked may answer
    chat_id: int
    expires_at: float
    choices: dict[str, Choice[T]]


class Choices(Generic[T]):
    def __init__(self, ttl_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._by_token: dict[str, Offer[T]] = {}

    def offer(
        self, user_id: int, chat_id: int, choices: Sequence[Choice[T]], *, columns: int = 2
    ) -> InlineKeyboardMarkup:
        self._expire()
        group = secrets.token_urlsafe(6)
        tokens = {secrets.token_urlsafe(9): choice for choice in choices}
        offer = Offer(group, user_id, chat_id, self._clock() + self.ttl_s, tokens)
        for token in tokens:
            self._by_token[token] = offer
        buttons = [InlineKeyboardButton(c.label, callback_data=f"{PREFIX}{t}") for t, c in tokens.items()]
        return InlineKeyboardMarkup([buttons[i : i + columns] for i in range(0, len(buttons), columns)])

    def take(self, data: str, user_id: int) -> tuple[str, Choice[T] | None]:
        """Answer a question: ('ok', choice) | ('expired', None) | ('not yours', None). An answered
        question's other buttons are retired with it."""
        token = data.removeprefix(PREFIX)
        offer = self._by_token.get(token)
        if offer is None or offer.expires_at < self._clock():
            self._expire()
            return "expired", None
        if offer.user_id != user_id:
            return "not yours", None
        for other in offer.choices:
            self._by_token.pop(other, None)
        return "ok", offer.choices[token]

    def _expire(self) -> None:
        now = self._clock()
        for token in [t for t, o in self._by_token.items() if o.expires_at < now]:
            del self._by_token[token]
