"""`mirrorbot follow …`: which sources each follower copies, and how (each change a new plan version).

Each command parses flags, calls one `MirrorService` method and prints its result (bot/cli/common.py
has the exit codes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.common import (
    AccountOpt,
    CheckVenue,
    JsonFlag,
    call_service,
    cli_actor,
    fail,
    key_values,
    print_json,
    rich_console,
    venue_note,
)

if TYPE_CHECKING:
    from bot.service.views import FollowView, PlanChange

follow_app = typer.Typer(help="Which sources each follower copies, and how.", no_args_is_help=True)

ScaleOpt = Annotated[
    list[str] | None, typer.Option("--scale", help="Per-token scaling, TOKEN=PERCENT (repeatable).")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Any follow option of docs/simulate.md, KEY=VALUE (repeatable)."),
]


def _options(
    strategy: str | None,
    ratio: str | None,
    notional: str | None,
    exclude: str | None,
    side: str | None,
    reverse: bool | None,
    sets: list[str] | None,
) -> dict[str, object]:
    named: dict[str, object] = {
        "strategy": strategy,
        "ratio": ratio,
        "notional": notional,
        "exclude": exclude,
        "side": side,
        "reverse": reverse,
    }
    return {k: v for k, v in named.items() if v is not None} | dict(key_values(sets, "--set"))


def _print_change(change: PlanChange, verb: str) -> None:
    plan = change.plan
    if not change.changed:
        typer.echo(f"No change: {plan.follower} ← {plan.source} stays at plan v{plan.version}.")
        return
    if change.before is not None:  # an update: each changed setting, with its unit and what it was
        from bot.service.settings import setting_changes

        typer.echo(f"{verb}: {'; '.join(setting_changes(change.before, plan.settings))}")
    scaling = ", ".join(f"{coin}={k} %" for coin, k in plan.scaling.items()) or "*=100 %"
    typer.echo(
        f"{verb} {plan.source} for {plan.follower}: plan v{plan.version} (tokens: {plan.tokens}; "
        f"{plan.strategy}; scaling {scaling}; copy current {'on' if plan.copy_current else 'off'})"
    )
    if plan.release:
        typer.echo(f"Positions it no longer manages: {plan.release}.")
    for other in change.released:
        typer.echo(
            f"Re-assigned from {other.source} (now plan v{other.version}, tokens: {other.tokens}); "
            f"the follower's positions in the moved tokens: {other.release}."
        )


def _unit_check(yes: bool, changes: dict[str, object]) -> None:
    """A scaling or a setting that looks like the other unit (`--scaling 0.5`, `stop_loss_pct=0.05`) is
    refused without --yes, saying in plain words what it would do (issue #19)."""
    from bot.service.settings import unit_doubts

    doubts = unit_doubts(changes)
    if doubts and not yes:
        raise fail(f"{' '.join(doubts)} Confirm with --yes", 2)


# Flags shared by `follow add` and `follow update` (typer needs them spelled out per command).
YesOpt = Annotated[
    bool, typer.Option("--yes", help="Confirm a value that looks like the other unit (--scaling 0.5).")
]
StrategyOpt = Annotated[
    str | None,
    typer.Option(
        help="mirror, fixed_ratio (needs --ratio), fixed_notional (--notional) or allocation (--set "
        "rebalance_band_pct=1 rebalance_trigger_pct=5 rebalance_every=900: SPEC §9)."
    ),
]
RatioOpt = Annotated[str | None, typer.Option(help="fixed_ratio: follower size = source size × ratio.")]
NotionalOpt = Annotated[str | None, typer.Option(help="fixed_notional: USD per open/increase.")]
ExcludeOpt = Annotated[str | None, typer.Option(help="Tokens not to copy, e.g. DOGE,PEPE.")]
SideOpt = Annotated[str | None, typer.Option(help="both, long_only or short_only.")]
ReverseOpt = Annotated[bool | None, typer.Option("--reverse/--no-reverse", help="Copy the opposite side.")]
ReassignOpt = Annotated[
    bool,
    typer.Option(
        "--reassign",
        help="Confirm taking tokens another source holds for this follower (closing its positions there).",
    ),
]


@follow_app.command("add")
def follow_add(
    source: Annotated[str, typer.Argument(help="The wallet to copy, 0x…")],
    account: AccountOpt = None,
    tokens: Annotated[
        str | None, typer.Option(help="Only these tokens, e.g. ETH,BTC (default: all).")
    ] = None,
    scaling: Annotated[str, typer.Option(help="Scaling k in percent (0 < k ≤ 1000).")] = "100",
    scale: ScaleOpt = None,
    copy_current: Annotated[
        bool, typer.Option("--copy-current", help="Join the source's open positions now.")
    ] = False,
    strategy: StrategyOpt = None,
    ratio: RatioOpt = None,
    notional: NotionalOpt = None,
    exclude: ExcludeOpt = None,
    side: SideOpt = None,
    reverse: ReverseOpt = None,
    sets: SetOpt = None,
    reassign: ReassignOpt = False,
    check_venue: CheckVenue = None,
    as_json: JsonFlag = False,
    yes: YesOpt = False,
    source_venue: Annotated[
        str | None,
        typer.Option("--source-venue", help="Where the source trades: hyperliquid (default) or gmx."),
    ] = None,
) -> None:
    """Follow a source wallet (a new follow plan version)."""
    options = _options(strategy, ratio, notional, exclude, side, reverse, sets)
    if source_venue is not None:
        options["source_venue"] = source_venue
    _unit_check(yes, {**options, "scaling": scaling, "scale": key_values(scale, "--scale")})
    change = call_service(
        lambda s: s.follow_add(
            cli_actor(),
            account,
            source,
            tokens,
            scaling,
            key_values(scale, "--scale"),
            copy_current,
            reassign=reassign,
            check_venue=check_venue,
            **options,
        )
    )
    _show_change(change, "Following", check_venue, as_json)


@follow_app.command("update")
def follow_update(
    source: Annotated[str, typer.Argument(help="The followed wallet, 0x…")],
    account: AccountOpt = None,
    tokens: Annotated[str | None, typer.Option(help="Only these tokens (ETH,BTC), or * for all.")] = None,
    scaling: Annotated[str | None, typer.Option(help="Default scaling k in percent.")] = None,
    scale: ScaleOpt = None,
    copy_current: Annotated[bool | None, typer.Option("--copy-current/--no-copy-current")] = None,
    strategy: StrategyOpt = None,
    ratio: RatioOpt = None,
    notional: NotionalOpt = None,
    exclude: ExcludeOpt = None,
    side: SideOpt = None,
    reverse: ReverseOpt = None,
    sets: SetOpt = None,
    release: Annotated[
        str | None, typer.Option(help="close or keep: positions in tokens this change stops copying.")
    ] = None,
    reassign: ReassignOpt = False,
    check_venue: CheckVenue = None,
    as_json: JsonFlag = False,
    yes: YesOpt = False,
) -> None:
    """Change a follow's settings (always a new plan version; the old ones stay)."""
    options = _options(strategy, ratio, notional, exclude, side, reverse, sets)
    _unit_check(yes, {**options, "scaling": scaling, "scale": key_values(scale, "--scale")})
    change = call_service(
        lambda s: s.follow_update(
            cli_actor(),
            account,
            source,
            tokens=tokens,
            scaling=scaling,
            scale=key_values(scale, "--scale"),
            copy_current=copy_current,
            release=release,
            reassign=reassign,
            check_venue=check_venue,
            **options,
        )
    )
    _show_change(change, "Updated", check_venue, as_json)


def _show_change(change: PlanChange, verb: str, check_venue: bool | None, as_json: bool) -> None:
    if as_json:
        print_json(change)
    else:
        _print_change(change, verb)
    if change.changed:
        venue_note(change.venue_checked, check_venue, "the tokens were")


@follow_app.command("remove")
def follow_remove(
    source: Annotated[str, typer.Argument(help="The followed wallet, 0x…")],
    account: AccountOpt = None,
    close: Annotated[
        bool, typer.Option("--close", help="Close the follower's positions in its tokens.")
    ] = False,
    keep: Annotated[bool, typer.Option("--keep", help="Keep them, detached (no longer managed).")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Unfollow a source: choose --close or --keep for the follower's positions."""
    if close == keep:
        raise fail("remove: choose what happens to the positions (accepted: --close, --keep)", 2)
    change = call_service(lambda s: s.follow_remove(cli_actor(), account, source, close=close))
    if as_json:
        print_json(change)
    else:
        what = "will be closed" if close else "are kept, detached (no longer managed)"
        typer.echo(
            f"Unfollowed {source} for {change.plan.follower} (plan v{change.plan.version}); positions {what}."
        )


@follow_app.command("list")
def follow_list(account: AccountOpt = None, as_json: JsonFlag = False) -> None:
    """Every follow with its current plan version."""
    follows = call_service(lambda s: s.follow_list(cli_actor(), account), read_only=True)
    if as_json:
        print_json(follows)
        return
    rich_console().print(follows_table(follows))


def follows_table(follows: tuple[FollowView, ...]) -> Any:
    from rich.table import Table

    table = Table("follower", "source", "plan", "active", "tokens", "strategy", "scaling", "copy current")
    table.title = "Follows"
    for f in follows:
        scaling = ", ".join(f"{coin}={k} %" for coin, k in f.scaling.items())
        active = "yes" if f.active else f"no ({f.release})"
        copy = "on" if f.copy_current else "off"
        table.add_row(f.follower, f.source, f"v{f.version}", active, f.tokens, f.strategy, scaling, copy)
    return table
