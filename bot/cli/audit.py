"""`mirrorbot audit export` and `mirrorbot audit verify` (SPEC §15; the format: bot/ops/audit_export.py)."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import fail, settings_or_exit

audit_app = typer.Typer(help="The tamper-evident audit export (SPEC section 15).", no_args_is_help=True)


def _fail(message: str, code: int = 1) -> typer.Exit:
    return fail(f"audit: {message}", code)


def _write_new(path: Path, data: bytes, field: str) -> None:
    """Create `path` (mode 0600); an existing file is never overwritten."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise _fail(f"{field}: {path} exists; it is never overwritten", 2) from None
    except OSError as exc:
        raise _fail(f"{field}: cannot create {path}: {exc.strerror or exc}", 2) from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


@audit_app.command("export")
def export(
    since: Annotated[str, typer.Option(help="From (ISO-8601, UTC when no offset), included.")],
    until: Annotated[str, typer.Option(help="To (ISO-8601, UTC when no offset), excluded.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write here (a new file; default: stdout).")
    ] = None,
    key_out: Annotated[
        Path | None,
        typer.Option("--key-out", help="Where the pseudonym key goes (a new 0600 file; default: OUT.key)."),
    ] = None,
) -> None:
    """One JSON line per conversion (leader event → decision → order → fills), accounts as keyed
    pseudonyms, each line chained to the previous one by SHA-256."""
    from bot.ledger import Ledger, LedgerError
    from bot.ledger.db import LedgerConfigError
    from bot.ops.audit_export import Pseudonyms, export_lines
    from bot.service.errors import InvalidInput
    from bot.service.inputs import utc_time

    try:
        start, end = utc_time(since, "--since"), utc_time(until, "--until")
    except InvalidInput as exc:
        raise _fail(str(exc), 2) from None
    if end <= start:
        raise _fail("--until: must be after --since", 2)
    if key_out is None and out is None:
        raise _fail("--key-out: needed when the export goes to stdout (the key is for the operator only)", 2)
    key_path = key_out or Path(f"{out}.key")
    for path, field in ((out, "--out"), (key_path, "--key-out")):
        if path is not None and path.exists():
            raise _fail(f"{field}: {path} exists; it is never overwritten", 2)
    settings = settings_or_exit()

    async def read() -> list[str]:
        ledger = await Ledger.open(settings.db_url, create=False)
        try:
            names = Pseudonyms.fresh()
            chains = await ledger.conversions(start, end)
            lines = list(export_lines(chains, names, since=start, until=end, made_at=datetime.now(UTC)))
            _write_new(key_path, names.key.hex().encode() + b"\n", "--key-out")
            return lines
        finally:
            await ledger.close()

    try:
        lines = asyncio.run(read())
    except (LedgerError, LedgerConfigError) as exc:
        raise _fail(str(exc)) from None
    text = "".join(line + "\n" for line in lines)
    if out is None:
        typer.echo(text, nl=False)
    else:
        _write_new(out, text.encode(), "--out")
    typer.echo(f"{len(lines) - 2} conversion(s); pseudonym key in {key_path}", err=True)


@audit_app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="An export written by `mirrorbot audit export`.")],
    key_file: Annotated[
        Path | None, typer.Option("--key-file", help="The export's key: also checks the chain's MAC.")
    ] = None,
) -> None:
    """Check an export: any edited, removed or reordered line is found (exit 1, naming the line)."""
    from bot.ops.audit_export import KEY_BYTES, AuditFileError, read_lines, verify_lines
    from bot.service.errors import InvalidInput
    from bot.service.inputs import read_text

    key = None
    if key_file is not None:
        try:
            raw = read_text(key_file, "--key-file", limit=1024).strip()
            try:
                key = bytes.fromhex(raw)
            except ValueError:
                key = b""
            if len(key) != KEY_BYTES:
                raise InvalidInput("--key-file", "not an export key", f"{KEY_BYTES * 2} hex digits")
        except InvalidInput as exc:
            raise _fail(str(exc), 2) from None
    try:
        result = verify_lines(read_lines(file), key)  # line by line: any size, bounded memory
    except OSError as exc:
        raise _fail(f"FILE: cannot read {file}: {exc.strerror or exc}", 2) from None
    except AuditFileError as exc:
        raise _fail(f"{file}: NOT intact: {exc}") from None
    mac = ", MAC checked" if result.mac_checked else ""
    typer.echo(f"{file}: intact: {result.conversions} conversion(s), chain head {result.head}{mac}")
