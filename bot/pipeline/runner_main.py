"""`mirrorbot run`'s process around the `Runner` (bot/pipeline/runner.py): start, run until a signal, stop,
and the exit code (0 after a clean stop, 2 when it cannot start, 1 when its lease was taken over)."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence

from bot.config import Settings
from bot.logs import log_event
from bot.pipeline.runner import CompanionStarter, Runner, RunnerError, StoppedBeforeStart

log = logging.getLogger("bot.pipeline.runner")  # its events keep the runner's logger name


def main(
    settings: Settings,
    *,
    once: bool = False,
    duration_s: float | None = None,
    companions: Sequence[CompanionStarter] = (),
    observers: Sequence[CompanionStarter] = (),
) -> int:
    """`mirrorbot run`: 0 after a clean stop, 2 when it cannot start (the message says why).
    `companions`: what runs beside the pipeline (the command passes the Telegram control room);
    `observers`: what watches it from before start-up to after the stop (the ops port, bot/ops)."""
    from bot.ledger.db import LedgerConfigError
    from bot.logs import configure_from_settings
    from bot.redaction import redact_text

    configure_from_settings(settings)
    runner = Runner(settings, companions=companions, observers=observers)
    try:
        asyncio.run(runner.run(duration_s=duration_s, once=once))
    except StoppedBeforeStart as exc:
        print(f"mirrorbot run: {exc}", file=sys.stderr)
        return 0
    except (RunnerError, LedgerConfigError) as exc:
        log_event(log, "runner_refused", level=logging.ERROR, error=str(exc))
        print(f"mirrorbot run: {redact_text(str(exc))}", file=sys.stderr)
        return 2
    if runner.lease is not None and runner.lease.lost:
        print(f"mirrorbot run: stopped: {runner.lease.lost}", file=sys.stderr)
        return 1
    return 0
