"""Telegram `/status` tests use the control room's own fixtures (a fake Telegram, a real localnet)."""

from tests.ledger.conftest import _pg_database, _sqlite_template, db_url
from tests.telegram.conftest import bot, fake_api, info, ledger, localnet, settings, unique_sdk_nonces

__all__ = [
    "_pg_database",
    "_sqlite_template",
    "bot",
    "db_url",
    "fake_api",
    "info",
    "ledger",
    "localnet",
    "settings",
    "unique_sdk_nonces",
]
