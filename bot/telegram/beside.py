"""The control room beside a running pipeline: what `mirrorbot run` hands the runner to start once it is up
(the pipeline itself knows nothing of Telegram)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.alerts import Alert, AlertKind
from bot.telegram.app import AppContext, TelegramHandle, TelegramOptions, start_telegram

log = logging.getLogger(__name__)


def beside_runner(
    options: TelegramOptions | None = None,
) -> Callable[[Any], Awaitable[TelegramHandle | None]]:
    """A starter for `Runner(companions=…)`: the control room on the runner's settings, ledger and alert
    bus, attached to the runner (None without a token). Copying matters more than the chat: a control
    room that cannot start is reported, and the pipeline runs on without it."""

    async def start(runner: Any) -> TelegramHandle | None:
        token = runner.settings.telegram_token
        if token is None or not token.get_secret_value():
            return None
        context = AppContext(
            runner.settings,
            ledger=runner.ledger,
            alerts=runner.alerts,
            runner=runner,
            options=options or TelegramOptions(),
        )
        handle = None
        try:
            handle = await start_telegram(context)
            if handle is not None:
                await handle.attach_runner(runner)
            return handle
        except BaseException as exc:
            if handle is not None:  # started, then failed or cancelled (a stop during start-up): no leak
                await handle.stop()
            if not isinstance(exc, Exception):
                raise
            log.exception("telegram_start_failed")
            runner.alerts.publish(Alert(AlertKind.FAILURE, "telegram_start_failed", f"Telegram: {exc}"))
            return None

    return start
