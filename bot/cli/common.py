"""What every command of the CLI shares: loading the settings, running one service call with its
refusals turned into exit codes, printing (a rich table or JSON), and the flags several commands take.

Exit codes, for every command: 0 done, 1 refused or failed (the message says why), 2 bad input (the
message names the field and the accepted values).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from bot.config import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from rich.console import Console

    from bot.service import Actor, MirrorService

T = TypeVar("T")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
AccountOpt = Annotated[
    str | None, typer.Option("--account", help="Follower address (default: the only registered one).")
]
OnceOpt = Annotated[
    bool, typer.Option("--once", help="Start, apply the follows, one reconciliation pass, then stop.")
]
DurationOpt = Annotated[
    float | None, typer.Option(help="Stop cleanly after this many seconds (default: until Ctrl-C).")
]
CheckVenue = Annotated[
    bool | None,
    typer.Option(
        "--check-venue/--no-check-venue",
        help="Check against the venue (default: when it answers; --check-venue makes it required).",
    ),
]


def settings_or_exit() -> Settings:
    """Load settings; a bad one stops here with a message naming the variable (exit 2)."""
    try:
        return load_settings()
    except SettingsError as exc:
        typer.echo(f"mirrorbot: {exc}", err=True)
        raise typer.Exit(2) from None


def fail(message: str, code: int) -> typer.Exit:
    from bot.redaction import redact_text

    # An error may quote a URL (an RPC provider's API key, a database password) or a pasted key.
    typer.echo(f"mirrorbot: {redact_text(message)}", err=True)
    return typer.Exit(code)


def call_service(
    body: Callable[[MirrorService], Awaitable[T]],
    settings: Settings | None = None,
    *,
    read_only: bool = False,
) -> T:
    """Run one service call on the configured ledger and venue; service refusals become exit codes.
    `read_only`: a ledger that does not exist is reported in one line, never created."""
    from bot.ledger import LedgerError
    from bot.ledger.db import LedgerConfigError, LedgerMissing, LedgerUnavailable
    from bot.service import Conflict, InvalidInput, MirrorService, ServiceError, VenueUnreachable
    from bot.venues import Venues

    settings = settings or settings_or_exit()

    async def main() -> T:
        venues = Venues.for_reads(settings)  # each account read on its venue (GMX: MIRROR_GMX_*)
        async with MirrorService.connect(settings.db_url, venues, create=not read_only) as service:
            return await body(service)

    try:
        return asyncio.run(main())
    except (LedgerMissing, LedgerUnavailable) as exc:
        raise fail(str(exc), 1) from None
    except LedgerConfigError as exc:
        raise fail(str(exc), 2) from None
    except InvalidInput as exc:
        raise fail(str(exc), 2) from None
    except Conflict as exc:
        hint = " (pass --reassign to confirm)" if exc.holders else ""
        raise fail(f"{exc}{hint}", 1) from None
    except VenueUnreachable as exc:
        raise fail(f"{exc}; venue URL {settings.api_url} (MIRROR_NETWORK / MIRROR_HL_API_URL)", 1) from None
    except (ServiceError, LedgerError) as exc:
        raise fail(str(exc), 1) from None


def cli_actor() -> Actor:
    from bot.service import Actor

    return Actor.cli()


def rich_console() -> Console:
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=240)


def print_json(value: Any) -> None:
    from bot.service import jsonable

    typer.echo(json.dumps(jsonable(value), indent=2, ensure_ascii=False))


def keystore_password(settings: Settings, *, new: bool) -> str:
    """MIRROR_KEYSTORE_PASSWORD, else a hidden prompt (asked twice for a new keystore)."""
    if settings.keystore_password is not None:
        return settings.keystore_password.get_secret_value()
    entered: str = typer.prompt("Keystore password", hide_input=True, confirmation_prompt=new)
    return entered


def key_values(items: list[str] | None, field: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise fail(f"{field}: expected KEY=VALUE, got {item!r}", 2)
        out[key.strip()] = value.strip()
    return out


def venue_note(checked: bool, check: bool | None, what: str) -> None:
    if check is None and not checked:
        typer.echo(f"mirrorbot: note: the venue did not answer; {what} not checked on it", err=True)
