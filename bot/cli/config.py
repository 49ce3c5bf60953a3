"""`mirrorbot config`: check the settings and print them, secrets hidden."""

from __future__ import annotations

import typer

from bot.cli.common import settings_or_exit


def config() -> None:
    """Check the settings and print the effective values (secrets hidden)."""
    from bot.redaction import redact_text

    settings = settings_or_exit()
    for name, value in settings.model_dump().items():
        secret = ("token" in name or "password" in name) and value is not None
        # URLs keep their shape, without their password or API key (bot/redaction.py).
        typer.echo(f"MIRROR_{name.upper()}={'**********' if secret else redact_text(str(value))}")
    typer.echo(f"# venue URL: {redact_text(settings.api_url)}")
    typer.echo(f"# database:  {redact_text(settings.db_url)}")
