"""`mirrorbot run`: the copy pipeline, live."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import SecretStr

from bot.cli.common import settings_or_exit


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
    from bot.pipeline.runner_main import main as run_main
    from bot.telegram.beside import beside_runner

    settings = settings_or_exit()
    if settings.keystore_password is None and sys.stdin.isatty():
        password = typer.prompt("Keystore password", hide_input=True, default="", show_default=False)
        if password:
            settings = settings.model_copy(update={"keystore_password": SecretStr(password)})
    raise typer.Exit(
        run_main(
            settings,
            once=once,
            duration_s=duration,
            companions=[beside_runner()],
            observers=[ops_observer(settings)],
        )
    )
