"""`mirrorbot status`, `positions` and `why`: what the ledger and the venue say now (read-only: a
ledger that does not exist is reported, never created)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.common import (
    AccountOpt,
    JsonFlag,
    call_service,
    cli_actor,
    fail,
    print_json,
    rich_console,
    settings_or_exit,
)
from bot.cli.follows import follows_table

if TYPE_CHECKING:
    from bot.service.views import PositionsView, StatusView


def status(as_json: JsonFlag = False) -> None:
    """Accounts, follows, the latest decisions and what the ledger holds."""
    view = call_service(lambda s: s.status(cli_actor()), read_only=True)
    if as_json:
        print_json(view)
        return
    _print_status(view)


def _print_status(view: StatusView) -> None:
    from rich.table import Table

    from bot.ledger.types import decimal_text

    console = rich_console()
    console.print(f"{len(view.accounts)} account(s), {len(view.follows)} follow(s)")
    console.print(follows_table(view.follows))
    if not view.decisions:
        console.print("No decisions recorded yet.")
    decisions = Table("time (UTC)", "follower", "coin", "event", "target", "order Δ", "reason", "plan")
    decisions.title = "Latest decisions"
    for d in view.decisions:
        decisions.add_row(
            d.time.strftime("%Y-%m-%d %H:%M:%S"),
            d.follower,
            d.coin,
            d.event or "",
            decimal_text(d.target),
            decimal_text(d.delta),
            d.reason or "",
            f"v{d.plan_version}" if d.plan_version is not None else "",
        )
    if view.decisions:
        console.print(decisions)
    now = datetime.now(UTC)
    for quiet in view.inactive:  # SPEC §12
        console.print(f"Inactive {quiet.describe(now)}", markup=False)
    console.print("Ledger: " + ", ".join(f"{name} {count}" for name, count in view.counts.items()))
    for line in _health_lines(view.health):
        console.print(line, markup=False)


def _health_lines(health: Mapping[str, Any]) -> list[str]:
    """The runner's health as `mirrorbot status` prints it (docs/operations.md)."""
    from bot.service.runner_health import readiness_line, runner_line

    def pairs(value: Mapping[str, Any] | None) -> str:
        if value is None:
            return "unknown"
        return ", ".join(f"{k} {v}" for k, v in value.items()) or "none"

    last = health.get("last_reconcile")
    lines = [
        f"Runner: {runner_line(health.get('runner'))}",
        f"Ready: {readiness_line(health.get('readiness'))}",
        "Last reconcile: "
        + (f"{last['at']}, {last['orders']} order(s) sent" if last else "unknown")
        + (f", unknown reads: {', '.join(last['unknown_reads'])}" if last and last["unknown_reads"] else ""),
        f"Sync score: {pairs(health.get('sync_score'))}",
        f"Dead-man switch armed until: {pairs(health.get('dead_man_switch'))}",
        f"Alerts (last hour): {pairs(health.get('alerts_last_hour'))}",
    ]
    moment = health.get("last_leader_event_at")
    lines.append(
        f"Last source event: {moment:%Y-%m-%d %H:%M:%S} UTC" if moment else "Last source event: none"
    )
    return lines


VenueOpt = Annotated[
    str,
    typer.Option(
        "--venue",
        help="hyperliquid (followers vs sources, from the ledger) or gmx (any --account's GMX positions, "
        "read on MIRROR_GMX_NETWORK through MIRROR_GMX_RPC_URL).",
    ),
]


def positions(account: AccountOpt = None, as_json: JsonFlag = False, venue: VenueOpt = "hyperliquid") -> None:
    """Source vs follower per coin, from the venue now, with the drift from the target."""
    from bot.venues import ACCOUNT_REPORTS, VENUE_NAMES

    if venue not in VENUE_NAMES:
        raise fail(f"--venue: {venue!r} is not a venue (accepted: {', '.join(VENUE_NAMES)})", 2)
    if venue in ACCOUNT_REPORTS:  # that venue's own view of one account (GMX: per market, netted)
        _venue_positions(venue, account)
        return
    view = call_service(lambda s: s.positions(cli_actor(), account), read_only=True)
    if as_json:
        print_json(view)
        return
    _print_positions(view)


def _venue_positions(venue: str, account: str | None) -> None:
    """`positions --venue gmx --account 0x…`: the account's positions as that venue holds them (GMX: per
    market, netted per coin), as JSON."""
    from eth_utils.address import is_address

    from bot.venues import VenueConfigError, account_report, capabilities

    settings = settings_or_exit()
    if account is None or not is_address(account):
        label = capabilities(venue).display
        raise fail(f"--account: expected the {label} account's 0x address (got {account!r})", 2)
    try:
        report = asyncio.run(account_report(settings, venue, account))
    except (VenueConfigError, ValueError) as exc:
        raise fail(str(exc), 2) from None
    except RuntimeError as exc:
        raise fail(f"{venue}: {exc}", 1) from None
    typer.echo(json.dumps(report, indent=2))


def _print_positions(view: PositionsView) -> None:
    from rich.table import Table

    from bot.ledger.types import decimal_text

    def num(value: Any) -> str:
        return "" if value is None else decimal_text(value)

    table = Table(
        "follower", "coin", "source", "source size", "follower size", "target", "drift", "drift USD"
    )
    table.title = "Positions"
    for r in view.rows:
        target = f"{num(r.target)} ({r.target_basis})" if r.target is not None else r.note or "unknown"
        source = r.source or "not managed"
        drift_usd = num(r.drift_usd)
        table.add_row(
            r.follower,
            r.coin,
            source,
            num(r.source_size),
            num(r.follower_size),
            target,
            num(r.drift),
            drift_usd,
        )
    console = rich_console()
    console.print(table)
    console.print("Equity: " + ", ".join(f"{a} {decimal_text(e)}" for a, e in view.equities.items()))


def why(
    ref: Annotated[
        str, typer.Argument(help="A fill's trade id, a venue order id, a cloid or a decision id.")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Why did my account do this? The ledger's lineage for a fill or an order."""
    view = call_service(lambda s: s.why(cli_actor(), ref), read_only=True)
    if as_json:
        print_json(view)
    else:
        typer.echo(view.text)
    if view.chains == 0:
        raise typer.Exit(1)
