"""`mirrorbot keystore …` and `mirrorbot account …`: the agent wallets' key files and the follower accounts.

Each command parses flags, calls one `MirrorService` method and prints its result (bot/cli/common.py
has the exit codes).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import (
    CheckVenue,
    JsonFlag,
    call_service,
    cli_actor,
    fail,
    keystore_password,
    print_json,
    rich_console,
    settings_or_exit,
    venue_note,
)

if TYPE_CHECKING:
    from bot.service.views import KeystoreView

keystore_app = typer.Typer(help="Encrypted key files for agent wallets.", no_args_is_help=True)
account_app = typer.Typer(help="Follower accounts and their agent wallets.", no_args_is_help=True)

APPROVE_AGENT_HINT = "Approve this address as an API wallet of your account on the venue, then `account add`."


@keystore_app.command("new")
def keystore_new(
    file: Annotated[Path, typer.Argument(help="Keystore file to create (never overwritten).")],
    as_json: JsonFlag = False,
) -> None:
    """Create a new agent key, encrypted (eth-account v3 keystore, mode 0600); print its address."""
    settings = settings_or_exit()
    password = keystore_password(settings, new=True)
    view = call_service(lambda s: s.keystore_new(cli_actor(), file, password), settings)
    _created(view, as_json, "agent address", APPROVE_AGENT_HINT)


@keystore_app.command("import")
def keystore_import(
    file: Annotated[Path, typer.Argument(help="Keystore file to create (never overwritten).")],
    as_json: JsonFlag = False,
) -> None:
    """Encrypt an existing private key (asked for, hidden; never a command-line argument)."""
    settings = settings_or_exit()
    key: str = typer.prompt("Private key (hex)", hide_input=True)
    password = keystore_password(settings, new=True)
    view = call_service(lambda s: s.keystore_import(cli_actor(), file, key, password), settings)
    _created(view, as_json, "address")


def _created(view: KeystoreView, as_json: bool, what: str, hint: str | None = None) -> None:
    if as_json:
        print_json(view)
        return
    typer.echo(f"Created {view.path} for {what} {view.address}")
    if hint:
        typer.echo(hint)


# ---- account ----------------------------------------------------------------------------------------


@account_app.command("add")
def account_add(
    address: Annotated[str, typer.Option("--address", help="The follower's master account, 0x…")],
    keystore: Annotated[
        Path,
        typer.Option("--keystore", help="The agent wallet's keystore file (on GMX: the account's own key)."),
    ],
    vault: Annotated[str | None, typer.Option("--vault", help="Trade for this vault/sub-account.")] = None,
    label: Annotated[str | None, typer.Option("--label", help="A name for the account.")] = None,
    check_venue: CheckVenue = None,
    as_json: JsonFlag = False,
    venue: Annotated[
        str,
        typer.Option(
            "--venue",
            help="Where the follower trades: hyperliquid (default) or gmx (copied by `mirrorbot run` with "
            "MIRROR_FOLLOWER_VENUE=gmx; no agent wallets, no vaults).",
        ),
    ] = "hyperliquid",
) -> None:
    """Register a follower account and the agent wallet that signs for it. The keystore must open with
    MIRROR_KEYSTORE_PASSWORD (asked for when unset): the password `mirrorbot run` opens it with."""
    import sys

    settings = settings_or_exit()
    if settings.keystore_password is None and not sys.stdin.isatty():
        raise fail(
            "MIRROR_KEYSTORE_PASSWORD: not set; `account add` checks that the keystore opens with the "
            "password `mirrorbot run` will use",
            2,
        )
    password = keystore_password(settings, new=False)
    added = call_service(
        lambda s: s.account_add(
            cli_actor(),
            address,
            keystore,
            label=label,
            vault=vault,
            check_venue=check_venue,
            venue_name=venue,
            password=password,
        ),
        settings,
    )
    if as_json:
        print_json(added)
        return
    account = added.account
    verb = "Registered" if added.created else "Already registered:"
    typer.echo(f"{verb} {account.kind} account {account.address} with agent {account.agent}")
    if added.venue_checked:
        typer.echo("The venue confirms the agent may trade for it.")
    venue_note(added.venue_checked, check_venue, "the agent's approval was")


@account_app.command("remove")
def account_remove(
    address: Annotated[str, typer.Argument(help="The follower account to unregister, 0x…")],
    keep_positions: Annotated[
        bool,
        typer.Option(
            "--keep-positions",
            help="Unfollow its sources first, keeping its positions on the venue (detached, unmanaged). "
            "To close them instead: `follow remove SOURCE --close` while the bot runs, then remove.",
        ),
    ] = False,
    venue: Annotated[str, typer.Option("--venue", help="hyperliquid (default) or gmx.")] = "hyperliquid",
    as_json: JsonFlag = False,
) -> None:
    """Unregister a follower (audited). Its history stays in the ledger; its keystore file is kept."""
    removed = call_service(
        lambda s: s.account_remove(cli_actor(), address, keep_positions=keep_positions, venue_name=venue)
    )
    if as_json:
        print_json(removed)
        return
    typer.echo(f"Removed {removed.account.kind} account {removed.account.address}.")
    if removed.unfollowed:
        typer.echo(f"Unfollowed {', '.join(removed.unfollowed)}; its positions are kept, detached.")
    if removed.keystore:
        typer.echo(
            f"Its keystore {removed.keystore} is kept (not deleted): delete it yourself once the key is no "
            "longer needed, or revoke the agent on the venue."
        )


@account_app.command("list")
def account_list(as_json: JsonFlag = False) -> None:
    """The registered follower accounts."""
    from rich.table import Table

    accounts = call_service(lambda s: s.account_list(cli_actor()), read_only=True)
    if as_json:
        print_json(accounts)
        return
    table = Table("address", "kind", "label", "agent", "keystore", title="Follower accounts")
    for a in accounts:
        table.add_row(a.address, a.kind, a.label or "", a.agent or "", a.keystore or "")
    rich_console().print(table)
