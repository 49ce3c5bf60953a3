"""`mirrorbot builder …` and `mirrorbot commission …`: the leader commission (SPEC §14). The master key
signs `approveBuilderFee` once, from a keystore (or typed, hidden); it is never kept, logged or echoed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import (
    AccountOpt,
    JsonFlag,
    call_service,
    cli_actor,
    keystore_password,
    print_json,
    settings_or_exit,
)

if TYPE_CHECKING:
    from bot.service import MirrorService
    from bot.service.commission import BuilderApproval, CommissionReport

builder_app = typer.Typer(
    help="Builder fees: the master's approval of a follow's commission.", no_args_is_help=True
)
commission_app = typer.Typer(help="Leader commission reports (nothing is transferred).", no_args_is_help=True)


@builder_app.command("approve")
def builder_approve(
    account: AccountOpt = None,
    keystore: Annotated[
        Path | None,
        typer.Option("--keystore", help="The MASTER key's keystore (an agent cannot approve); else asked."),
    ] = None,
    builder: Annotated[
        str | None, typer.Option("--builder", help="The builder, 0x… (default: those the follows name).")
    ] = None,
    rate: Annotated[
        str | None, typer.Option("--rate", help="Tenths of a basis point, 1 to 100 (10 = 0.01 %).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Sign `approveBuilderFee` once with the account's master key: the follows' commissions then ride
    on their orders. The key is used for this signature only."""
    from bot.telegram.render_commission import approval

    settings = settings_or_exit()
    password = keystore_password(settings, new=False) if keystore is not None else None
    typed = None if keystore is not None else typer.prompt("Master private key (hex)", hide_input=True)

    async def body(service: MirrorService) -> BuilderApproval:
        if keystore is not None and password is not None:
            key = (await service.load_key(cli_actor(), keystore, password)).key.hex()
        else:
            key = str(typed)
        return await service.builder_approve(cli_actor(), account, key, builder, rate)

    view = call_service(body, settings)
    if as_json:
        print_json(view)
    else:
        typer.echo(approval(view))


@builder_app.command("status")
def builder_status(account: AccountOpt = None, as_json: JsonFlag = False) -> None:
    """The rate the account's master approved for each builder its follows name (read on the venue)."""
    from bot.telegram.render_commission import approval

    view = call_service(lambda s: s.builder_status(cli_actor(), account), read_only=True)
    if as_json:
        print_json(view)
    else:
        typer.echo(approval(view))


@commission_app.command("report")
def commission_report(
    account: AccountOpt = None,
    period: Annotated[str, typer.Option("--period", help="day, week or month (UTC).")] = "month",
    share: Annotated[str, typer.Option("--share", help="Percent of new profits, (0, 100].")] = "10",
    as_json: JsonFlag = False,
) -> None:
    """Per follow and period, the profit share over the high-water mark (docs/commission.md)."""
    from bot.telegram.render_commission import report

    async def body(service: MirrorService) -> CommissionReport:
        followers = [await service.resolve_follower(account)] if account else None
        every = followers or [row.address for row in await service.ledger.accounts()]
        return await service.commission_report(cli_actor(), every, period=period, share_pct=share)

    view = call_service(body, settings_or_exit(), read_only=True)
    if as_json:
        print_json(view)
    else:
        typer.echo(report(view))
