"""The Telegram control room (SPEC §8): thin views over the service layer. See docs/telegram.md and
docs/decisions/telegram.md."""

from bot.telegram.app import AppContext, TelegramHandle, TelegramOptions, run_standalone, start_telegram

__all__ = ["AppContext", "TelegramHandle", "TelegramOptions", "run_standalone", "start_telegram"]
