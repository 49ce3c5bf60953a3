"""The reply keyboard of the common commands (freqtrade's Telegram bot has one): shown under the input
field after /start and /help in a private chat; a press sends the command as typed text.

Not in groups: a reply keyboard there shows to every member (Telegram has no per-member keyboard in a
plain reply), and most members of a treasury group only read; they type the commands they need.
Read commands and /close (which asks which position, then to confirm) only: nothing on it acts at
one press.
"""

from __future__ import annotations

from telegram import KeyboardButton, ReplyKeyboardMarkup

COMMON = (
    ("/status", "/positions", "/profit"),
    ("/daily", "/history", "/close"),
    ("/pnl", "/health", "/help"),
)


def common_keyboard() -> ReplyKeyboardMarkup:
    rows = [[KeyboardButton(text) for text in row] for row in COMMON]
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, is_persistent=True)
