"""The CLI twins of the control room's service calls: `pause`, `resume`, `stop`, `limits`, `alerts`,
`pnl`, `history`, `owner` and `telegram` (the control room on its own). Business rules live in
bot/service/owner.py and bot/service/tenancy.py; these commands only parse and print."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import AccountOpt, JsonFlag, call_service, cli_actor, fail, print_json, settings_or_exit

if TYPE_CHECKING:
    from bot.service import MirrorService


async def _followers(service: MirrorService, account: str | None) -> list[str]:
    """The named account, or every registered one (the operator acts on all)."""
    if account is not None:
        return [await service.resolve_follower(account)]
    return [row.address for row in await service.ledger.accounts()]


def _control(action: str, account: str | None, as_json: bool) -> None:
    from bot.service.owner import OwnerService
    from bot.telegram import render

    async def body(service: MirrorService) -> object:
        control = OwnerService(service)
        followers = await _followers(service, account)
        call = {"pause": control.pause, "resume": control.resume, "stop": control.stop}[action]
        return await call(cli_actor(), followers)

    result = call_service(body, settings_or_exit())
    if as_json:
        print_json(result)
    else:
        from bot.service.owner import ControlResult

        assert isinstance(result, ControlResult)
        typer.echo(render.control(result))


def pause(account: AccountOpt = None, as_json: JsonFlag = False) -> None:
    """No new exposure: opens and increases are skipped; reductions and closes still mirror."""
    _control("pause", account, as_json)


def resume(account: AccountOpt = None, as_json: JsonFlag = False) -> None:
    """Undo pause (after a stop, follow again to copy anew)."""
    _control("resume", account, as_json)


def stop(
    account: AccountOpt = None,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this closes every mirrored position.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """The kill switch: cancel our orders, close every mirrored position, stop copying."""
    if not yes:
        raise fail("stop closes every mirrored position and stops copying: confirm with --yes", 2)
    _control("stop", account, as_json)


def limits(
    source: Annotated[str, typer.Argument(help="The followed source's address.")],
    changes: Annotated[list[str] | None, typer.Argument(help="KEY=VALUE (off removes a cap).")] = None,
    account: AccountOpt = None,
    yes: Annotated[
        bool,
        typer.Option("--yes", help="Confirm raising (loosening) a limit, or a value in the other unit."),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Show or set a follow's risk limits (every key with its unit; `limits SOURCE` lists them).

    `_pct` keys are percent (stop_loss_pct=5 is 5 %); daily_loss_limit, max_drawdown,
    source_max_drawdown, max_price_deviation and slippage_cap are fractions (0.05 is 5 %). A value that
    looks like the other unit (0.05 for a percent, 1 for a fraction) needs --yes."""
    from bot.service.owner import OwnerService, limit_lines
    from bot.service.settings import setting_changes, unit_doubts
    from bot.telegram.parse import split_options

    _, options = split_options(changes or [])
    updated: list[str] = []

    async def body(service: MirrorService) -> object:
        control = OwnerService(service)
        parsed = control.parse_limits(options)  # refused input: before anything is read or recorded
        doubts = unit_doubts(parsed)  # a value that looks like the other unit (issue #19)
        if doubts and not yes:
            raise fail(f"{' '.join(doubts)} Confirm with --yes", 2)
        follower = await service.resolve_follower(account)
        current = await control.limits(cli_actor(), follower, source)
        if not options:
            return current
        raised = control.raised(current, parsed)
        if raised and not yes:
            raise fail(f"this loosens {', '.join(raised)}: confirm with --yes", 2)
        change = await control.set_limits(cli_actor(), follower, source, parsed)
        if change.changed and change.before is not None:
            shown = "; ".join(setting_changes(change.before, change.plan.settings))
            updated.append(f"Updated: {shown} (plan v{change.plan.version})")
        return {key: change.plan.settings.get(key) for key in current}

    result = call_service(
        body, settings_or_exit(), read_only=not options
    )  # showing them never creates a ledger
    if as_json or not isinstance(result, dict):
        print_json(result)
        return
    for line in [*updated, *limit_lines(result)]:
        typer.echo(line)


def alerts(
    owner_id: Annotated[int, typer.Argument(help="The Telegram user (or group) id whose alerts to set.")],
    kind: Annotated[str | None, typer.Argument(help="An alert kind, or all.")] = None,
    mode: Annotated[str | None, typer.Argument(help="on, silent or off.")] = None,
    group: Annotated[bool, typer.Option("--group", help="owner_id is a group chat.")] = False,
) -> None:
    """Show or set what Telegram pushes to an owner, per alert kind."""
    from bot.service import inputs
    from bot.service.owner import OwnerService
    from bot.service.tenancy import group_owner, user_owner

    async def body(service: MirrorService) -> dict[str, str]:
        user = inputs.telegram_user(owner_id, "owner_id")
        who = group_owner(user) if group else user_owner(user)
        control = OwnerService(service)
        if kind is None:
            return await control.alert_modes(who)
        if mode is None:
            raise fail("give the mode too: on, silent or off", 2)
        return await control.set_alert_mode(cli_actor(), who, kind, mode)

    for name, value in call_service(body, settings_or_exit(), read_only=kind is None).items():
        typer.echo(f"{name}: {value}")


def pnl(
    account: AccountOpt = None,
    days: Annotated[int | None, typer.Option("--days", help="Only the last N days.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Realized P&L and fees per coin from the ledger, unrealized from the venue."""
    from bot.service.owner import OwnerService, PnlView
    from bot.telegram import render

    async def body(service: MirrorService) -> PnlView:
        return await OwnerService(service).pnl(cli_actor(), await _followers(service, account), days=days)

    view = call_service(body, settings_or_exit(), read_only=True)
    if as_json:
        print_json(view)
    else:
        typer.echo(render.pnl(view))


def history(
    account: AccountOpt = None,
    count: Annotated[int, typer.Option("--count", help="How many fills (1 to 200).")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """The latest fills (explain one with `mirrorbot why <trade id>`)."""
    from bot.service.owner import FillView, OwnerService
    from bot.telegram import render

    async def body(service: MirrorService) -> tuple[FillView, ...]:
        followers = await _followers(service, account)
        return await OwnerService(service).history(cli_actor(), followers, limit=count)

    fills = call_service(body, settings_or_exit(), read_only=True)
    if as_json:
        print_json(fills)
    else:
        typer.echo(render.history(fills))


def owner(
    address: Annotated[str, typer.Argument(help="A registered follower account.")],
    telegram_id: Annotated[int, typer.Argument(help="The Telegram user id (or group chat id) to own it.")],
    group: Annotated[bool, typer.Option("--group", help="telegram_id is a group chat.")] = False,
) -> None:
    """Give an account registered with the CLI (no owner yet) to a Telegram user or group."""
    from bot.service import inputs
    from bot.service.tenancy import Tenancy, group_owner, user_owner

    async def body(service: MirrorService) -> str:
        user = inputs.telegram_user(telegram_id, "telegram_id")
        who = group_owner(user) if group else user_owner(user)
        await Tenancy(service.ledger, frozenset()).claim(cli_actor(), address, who)
        return who

    who = call_service(body, settings_or_exit())
    typer.echo(f"{address.lower()} now belongs to {who}")


def telegram() -> None:
    """Run the Telegram control room on its own (MIRROR_TELEGRAM_TOKEN; the pipeline: `mirrorbot run`)."""
    from bot.logs import configure_from_settings
    from bot.telegram import run_standalone

    settings = settings_or_exit()
    configure_from_settings(settings)
    raise typer.Exit(run_standalone(settings))
