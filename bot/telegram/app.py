"""Building and running the Telegram control room (python-telegram-bot 22, async; JobQueue on
APScheduler 3).

- `start_telegram(AppContext)` starts it inside a running event loop (next to the pipeline) and returns
  a `TelegramHandle` whose `stop()` is clean; it returns None when no token is configured, so the bot
  then simply runs without Telegram.
- `run_standalone(settings)` is `mirrorbot telegram`: the control room alone, until interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass, field
from datetime import UTC, time
from pathlib import Path
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

import bot.telegram.commands_rank
import bot.telegram.commands_strategy  # noqa: F401  (registers /strategy)
from bot.alerts import AlertBus
from bot.config import Settings
from bot.ledger import Ledger
from bot.service import MirrorService
from bot.service.approvals import Approvals
from bot.service.owner import OwnerService
from bot.service.tenancy import Tenancy
from bot.telegram import (
    buttons,
    commands_analytics,
    commands_close,
    commands_commission,
    commands_follow,
    commands_profit,
    commands_read,
    commands_setup,
)
from bot.telegram.choices import Choices
from bot.telegram.gate import COMMANDS, answering, handler, unknown_command
from bot.telegram.intake import ChatQueues, DoorLimits, Doorman, spare_delete
from bot.telegram.push import AlertPusher, daily_summary_job
from bot.telegram.room import ROOM_KEY, Context, Room, RoomConfig
from bot.telegram.runner_link import RunnerHooks
from bot.telegram.send import ChatRateLimiter, Limits
from bot.venues import Venues

log = logging.getLogger(__name__)
# Importing the command modules registers their commands.
_ = (
    commands_analytics,
    commands_close,
    commands_commission,
    commands_follow,
    commands_profit,
    commands_read,
    commands_setup,
)


@dataclass(frozen=True, slots=True)
class TelegramOptions:
    poll_timeout_s: int = 10  # getUpdates long-poll
    limits: Limits = field(default_factory=Limits)
    door: DoorLimits = field(default_factory=DoorLimits)  # what strangers may cost
    confirm_ttl_s: float = 60.0
    connect_ttl_s: float = 300.0
    kdf_iterations: int | None = None  # scrypt n for keystores written from /connect (None: eth-account's)
    daily_summary_at: time = time(0, 0, tzinfo=UTC)


@dataclass
class AppContext:
    """What the runner hands over: its settings, ledger, alert bus and itself (all but settings optional)."""

    settings: Settings
    ledger: Ledger | None = None
    alerts: AlertBus | None = None
    runner: Any = None
    options: TelegramOptions = field(default_factory=TelegramOptions)


class TelegramHandle:
    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        room: Room,
        pusher: AlertPusher,
        owned: list[Any],
    ) -> None:
        self.application = application
        self.room = room
        self.pusher = pusher
        self._owned = owned  # what this handle opened and closes (venue client, ledger)

    async def attach_runner(self, runner: Any) -> None:
        """Tell the control room about a pipeline started after it: pause / stop then act on it at once
        (and a pause recorded before the start is applied now)."""
        self.room.runner = runner
        hooks = RunnerHooks(runner)
        self.room.control.hooks = hooks
        await hooks.restore()

    async def stop(self) -> None:
        """Stop polling, the jobs and the alert pushes; close what start_telegram opened. Idempotent."""
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await self.pusher.stop()
        with contextlib.suppress(RuntimeError):
            await app.shutdown()
        while self._owned:
            resource = self._owned.pop()
            await resource.close()


def _commands() -> list[BotCommand]:
    return [BotCommand(c.name, c.summary[:256]) for c in COMMANDS.values()]


def build_application(
    settings: Settings, room: Room, options: TelegramOptions
) -> Application[Any, Any, Any, Any, Any, Any]:
    assert settings.telegram_token is not None
    limiter = ChatRateLimiter(options.limits)
    room.limiter = limiter
    room.doorman = Doorman(room.tenancy, options.door)
    queues = ChatQueues(room.doorman)
    base = settings.telegram_api_url.rstrip("/")
    app = (
        Application.builder()
        .token(settings.telegram_token.get_secret_value())
        .base_url(base)
        .base_file_url(base.removesuffix("/bot") + "/file/bot")
        .rate_limiter(limiter)
        .concurrent_updates(queues)
        .build()
    )
    queues.delete = spare_delete(app.bot)
    app.bot_data[ROOM_KEY] = room
    for cmd in COMMANDS.values():
        app.add_handler(CommandHandler([cmd.name, *cmd.aliases], handler(cmd)))
    app.add_handler(CallbackQueryHandler(answering("button", buttons.on_button)))
    plain = (filters.TEXT | filters.CAPTION) & ~filters.COMMAND
    app.add_handler(MessageHandler(plain, answering("message", commands_setup.on_text)))
    # Last in its group: only a command none of the above took.
    app.add_handler(MessageHandler(filters.COMMAND, answering("command", unknown_command)))
    app.add_error_handler(_on_error)
    return app


async def _on_error(update: object, context: Context) -> None:
    # The exception's type only: an update may carry a pasted key, so neither is logged in full.
    log.error("telegram handler failed: %s", type(context.error).__name__, exc_info=context.error)


async def start_telegram(context: AppContext) -> TelegramHandle | None:
    """Start the control room in the running loop; None (and a log line) when no token is set."""
    settings, options = context.settings, context.options
    if settings.telegram_token is None or not settings.telegram_token.get_secret_value():
        log.info("MIRROR_TELEGRAM_TOKEN is not set: running without Telegram")
        return None
    owned: list[Any] = []
    ledger = context.ledger
    if ledger is None:
        ledger = await Ledger.open(settings.db_url)
        owned.append(ledger)
    # Each account is read on its own venue (a GMX one refused, naming the setting, without MIRROR_GMX_*).
    venues = Venues.for_reads(settings)
    owned.append(venues)
    service = MirrorService(ledger, venues, kdf_iterations=options.kdf_iterations)
    tenancy = Tenancy(ledger, settings.telegram_admin_ids)
    hooks = RunnerHooks(context.runner) if context.runner is not None else None
    control = OwnerService(service, hooks)
    room = Room(
        service,
        tenancy,
        control,
        Approvals(tenancy),
        RoomConfig(
            settings.keystore_password,
            Path(settings.data_dir) / "keystores",
            options.confirm_ttl_s,
            options.connect_ttl_s,
            settings.api_url,
        ),
        alerts=context.alerts,
        runner=context.runner,
        choices=Choices(options.confirm_ttl_s),
    )
    app = build_application(settings, room, options)
    pusher = AlertPusher(room, app.bot)
    app.bot_data["mirror_pusher"] = pusher
    handle = TelegramHandle(app, room, pusher, owned)
    try:
        await app.initialize()
        await app.bot.set_my_commands(_commands())
        if app.job_queue is not None:
            app.job_queue.run_daily(daily_summary_job, options.daily_summary_at, name="daily_summary")
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=options.poll_timeout_s, allowed_updates=Update.ALL_TYPES)
        if context.alerts is not None:
            pusher.start(context.alerts)
        if hooks is not None:
            await hooks.restore()
    except BaseException:  # failed or cancelled half-way (a stop during start-up): leave nothing running
        await handle.stop()
        raise
    log.info("telegram control room started (%d commands)", len(COMMANDS))
    return handle


def run_standalone(settings: Settings) -> int:
    """`mirrorbot telegram`: the control room alone (the pipeline runs with `mirrorbot run`)."""
    if settings.telegram_token is None:
        log.error("MIRROR_TELEGRAM_TOKEN is not set: nothing to run")
        return 2

    async def main() -> None:
        handle = await start_telegram(AppContext(settings))
        if handle is None:
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await handle.stop()

    asyncio.run(main())
    return 0
