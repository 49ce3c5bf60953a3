"""`mirrorbot run`: the copy pipeline, live."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import SecretStr

from bot.cli.common import settings_or_exit

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.pipeline.runner_options import CompanionStarter


def run(
    once: Annotated[
        bool, typer.Option("--once", help="Start, apply the follows, one reconciliation pass, then stop.")
    ] = False,
    duration: Annotated[
        float | None, typer.Option(help="Stop cleanly after this many seconds (default: until Ctrl-C).")
    ] = None,
) -> None:
    """Run the copy pipeline: watch the sources and mirror them into the followers.

    SIGINT/SIGTERM stop it cleanly; with MIRROR_TELEGRAM_TOKEN set the Telegram control room runs too,
    with MIRROR_METRICS_PORT the ops port (/metrics, /healthz, /readyz: docs/operations.md)."""
    import sys

    from bot.ops.runtime import ops_observer
    from bot.telegram.beside import beside_runner

    settings = settings_or_exit()
    if settings.keystore_password is None and sys.stdin.isatty():
        password = typer.prompt("Keystore password", hide_input=True, default="", show_default=False)
        if password:
            settings = settings.model_copy(update={"keystore_password": SecretStr(password)})
    raise typer.Exit(
        run_process(
            settings,
            once=once,
            duration_s=duration,
            companions=[beside_runner()],
            observers=[ops_observer(settings)],
        )
    )


def run_process(
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
    import asyncio
    import logging
    import sys

    from bot.ledger.db import LedgerConfigError
    from bot.logs import configure_from_settings, log_event
    from bot.pipeline.runner import Runner, RunnerError, StoppedBeforeStart
    from bot.redaction import redact_text

    log = logging.getLogger("bot.pipeline.runner")

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
