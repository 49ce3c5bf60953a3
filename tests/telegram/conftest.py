"""The real python-telegram-bot Application against the fake Bot API (tests/telegram/fakebot.py), on a
migrated SQLite ledger, with the localnet as the venue."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.hyperliquid.info import InfoClient
from adapters.hyperliquid.venue import HyperliquidVenue
from adapters.localnet.server import LocalnetThread
from bench.rig import LOCALNET_WEIGHT_PER_MINUTE
from bot.alerts import AlertBus
from bot.config import Settings, load_settings
from bot.ledger import Ledger, create_engine
from bot.telegram import AppContext, TelegramHandle, TelegramOptions, start_telegram
from bot.telegram.send import Limits
from tests.ledger.conftest import _pg_database, _sqlite_template, db_url  # noqa: F401  (fixtures)
from tests.ledger.support import sqlite_copy
from tests.service.support import FAST_KDF, unique_nonce
from tests.telegram.fakebot import FakeBotApi

TOKEN = "123456:TEST-token"
ADMIN = 1001
PASSWORD = "telegram-test-password"
FAST_LIMITS = Limits(private_per_s=200.0, group_per_s=200.0, burst=50, global_per_s=500.0, global_burst=100)


@pytest.fixture(scope="module")
def localnet() -> Iterator[LocalnetThread]:
    with LocalnetThread(seed=11) as net:
        yield net


@pytest.fixture(autouse=True)
def unique_sdk_nonces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("hyperliquid.exchange.get_timestamp_ms", unique_nonce)


@pytest.fixture
async def reads(localnet: LocalnetThread) -> AsyncIterator[HyperliquidVenue]:
    """A venue client on the localnet, as the service reads through (bot/venues.py)."""
    venue = HyperliquidVenue(localnet.url, data_dir=None)
    try:
        yield venue
    finally:
        await venue.close()


@pytest.fixture
async def info(localnet: LocalnetThread) -> AsyncIterator[InfoClient]:
    async with InfoClient(localnet.url) as client:
        yield client


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotApi]:
    api = FakeBotApi(TOKEN)
    await api.start()
    try:
        yield api
    finally:
        await api.close()


@pytest.fixture
def settings(
    fake_api: FakeBotApi,
    localnet: LocalnetThread,
    tmp_path: Path,
    _sqlite_template: Path,  # noqa: F811
) -> Settings:
    return load_settings(
        network="localnet",
        hl_api_url=localnet.url,
        data_dir=tmp_path,
        database_url=sqlite_copy(_sqlite_template, tmp_path),
        keystore_password=PASSWORD,
        telegram_token=TOKEN,
        telegram_api_url=fake_api.url,
        telegram_admins=str(ADMIN),
        hl_weight_per_minute=LOCALNET_WEIGHT_PER_MINUTE,
    )


@pytest.fixture
async def ledger(settings: Settings) -> AsyncIterator[Ledger]:
    store = Ledger(create_engine(settings.db_url))
    try:
        yield store
    finally:
        await store.close()


OPTIONS = TelegramOptions(poll_timeout_s=1, limits=FAST_LIMITS, kdf_iterations=FAST_KDF)


@dataclass
class Bot:
    """The running control room and the fake Telegram it talks to."""

    api: FakeBotApi
    handle: TelegramHandle
    alerts: AlertBus

    async def say(self, user: int, text: str, *, chat: int | None = None, chat_type: str = "private") -> int:
        """A user writes; returns the position in the call log to wait after."""
        mark = len(self.api.calls)
        self.api.push_message(user, text, chat_id=chat, chat_type=chat_type)
        return mark

    async def ask(
        self, user: int, text: str, contains: str, *, chat: int | None = None, chat_type: str = "private"
    ) -> str:
        mark = await self.say(user, text, chat=chat, chat_type=chat_type)
        call = await self.api.reply_to(chat if chat is not None else user, contains, after=mark)
        return call.text


@pytest.fixture
async def bot(
    fake_api: FakeBotApi, settings: Settings, ledger: Ledger, request: pytest.FixtureRequest
) -> AsyncIterator[Bot]:
    # A test module may run the control room with other options (BOT_OPTIONS: Telegram's real limits).
    options = getattr(request.module, "BOT_OPTIONS", OPTIONS)
    alerts = AlertBus()
    handle = await start_telegram(AppContext(settings, ledger=ledger, alerts=alerts, options=options))
    assert handle is not None
    try:
        yield Bot(fake_api, handle, alerts)
    finally:
        await handle.stop()
        if os.environ.get("MIRROR_TG_TRANSCRIPT"):  # debugging aid: what the bot said, in order
            for call in fake_api.calls:
                if call.method in ("sendMessage", "editMessageText", "sendPhoto"):
                    print(f"--- {call.method} to {call.chat_id}\n{call.text}")
