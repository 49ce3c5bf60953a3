"""The CLI twins of the service calls: `keystore`, `account`, `follow`, `status`, `positions`, `why`.

Each command parses flags, calls one `MirrorService` method and prints its result (a rich table, or
JSON with `--json`). Exit codes: 0 done, 1 refused or failed (the message says why), 2 bad input (the
message names the field and the accepted values).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from bot.config import Settings

if TYPE_CHECKING:
    from rich.console import Console

    from bot.service import Actor, MirrorService
    from bot.service.views import FollowView, KeystoreView, PlanChange, PositionsView, StatusView

T = TypeVar("T")
SettingsLoader = Callable[[], Settings]

keystore_app = typer.Typer(help="Encrypted key files for agent wallets.", no_args_is_help=True)
account_app = typer.Typer(help="Follower accounts and their agent wallets.", no_args_is_help=True)
follow_app = typer.Typer(help="Which sources each follower copies, and how.", no_args_is_help=True)

_load: SettingsLoader = Settings  # replaced by `register` with the CLI's own loader

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
AccountOpt = Annotated[
    str | None, typer.Option("--account", help="Follower address (default: the only registered one).")
]
CheckVenue = Annotated[
    bool | None,
    typer.Option(
        "--check-venue/--no-check-venue",
        help="Check against the venue (default: when it answers; --check-venue makes it required).",
    ),
]
ScaleOpt = Annotated[
    list[str] | None, typer.Option("--scale", help="Per-token scaling, TOKEN=PERCENT (repeatable).")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Any follow option of docs/simulate.md, KEY=VALUE (repeatable)."),
]


def register(app: typer.Typer, load: SettingsLoader) -> None:
    """Add the service commands to the main `mirrorbot` app."""
    global _load
    _load = load
    app.add_typer(keystore_app, name="keystore")
    app.add_typer(account_app, name="account")
    app.add_typer(follow_app, name="follow")
    app.command()(status)
    app.command()(positions)
    app.command()(why)


# ---- plumbing ---------------------------------------------------------------------------------------


def _fail(message: str, code: int) -> typer.Exit:
    from bot.redaction import redact_text

    # An error may quote a URL (an RPC provider's API key, a database password) or a pasted key.
    typer.echo(f"mirrorbot: {redact_text(message)}", err=True)
    return typer.Exit(code)


def _call(
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

    settings = settings or _load()

    async def main() -> T:
        venues = Venues.for_reads(settings)  # each account read on its venue (GMX: MIRROR_GMX_*)
        async with MirrorService.connect(settings.db_url, venues, create=not read_only) as service:
            return await body(service)

    try:
        return asyncio.run(main())
    except (LedgerMissing, LedgerUnavailable) as exc:
        raise _fail(str(exc), 1) from None
    except LedgerConfigError as exc:
        raise _fail(str(exc), 2) from None
    except InvalidInput as exc:
        raise _fail(str(exc), 2) from None
    except Conflict as exc:
        hint = " (pass --reassign to confirm)" if exc.holders else ""
        raise _fail(f"{exc}{hint}", 1) from None
    except VenueUnreachable as exc:
        raise _fail(f"{exc}; venue URL {settings.api_url} (MIRROR_NETWORK / MIRROR_HL_API_URL)", 1) from None
    except (ServiceError, LedgerError) as exc:
        raise _fail(str(exc), 1) from None


def _actor() -> Actor:
    from bot.service import Actor

    return Actor.cli()


def _console() -> Console:
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=240)


def _print_json(value: Any) -> None:
    from bot.service import jsonable

    typer.echo(json.dumps(jsonable(value), indent=2, ensure_ascii=False))


def _password(settings: Settings, *, new: bool) -> str:
    """MIRROR_KEYSTORE_PASSWORD, else a hidden prompt (asked twice for a new keystore)."""
    if settings.keystore_password is not None:
        return settings.keystore_password.get_secret_value()
    entered: str = typer.prompt("Keystore password", hide_input=True, confirmation_prompt=new)
    return entered


def _pairs(items: list[str] | None, field: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise _fail(f"{field}: expected KEY=VALUE, got {item!r}", 2)
        out[key.strip()] = value.strip()
    return out


def _venue_note(checked: bool, check: bool | None, what: str) -> None:
    if check is None and not checked:
        typer.echo(f"mirrorbot: note: the venue did not answer; {what} not checked on it", err=True)


# ---- keystore ---------------------------------------------------------------------------------------

APPROVE_AGENT_HINT = "Approve this address as an API wallet of your account on the venue, then `account add`."


@keystore_app.command("new")
def keystore_new(
    file: Annotated[Path, typer.Argument(help="Keystore file to create (never overwritten).")],
    as_json: JsonFlag = False,
) -> None:
    """Create a new agent key, encrypted (eth-account v3 keystore, mode 0600); print its address."""
    settings = _load()
    password = _password(settings, new=True)
    view = _call(lambda s: s.keystore_new(_actor(), file, password), settings)
    _created(view, as_json, "agent address", APPROVE_AGENT_HINT)


@keystore_app.command("import")
def keystore_import(
    file: Annotated[Path, typer.Argument(help="Keystore file to create (never overwritten).")],
    as_json: JsonFlag = False,
) -> None:
    """Encrypt an existing private key (asked for, hidden; never a command-line argument)."""
    settings = _load()
    key: str = typer.prompt("Private key (hex)", hide_input=True)
    password = _password(settings, new=True)
    view = _call(lambda s: s.keystore_import(_actor(), file, key, password), settings)
    _created(view, as_json, "address")


def _created(view: KeystoreView, as_json: bool, what: str, hint: str | None = None) -> None:
    if as_json:
        _print_json(view)
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

    settings = _load()
    if settings.keystore_password is None and not sys.stdin.isatty():
        raise _fail(
            "MIRROR_KEYSTORE_PASSWORD: not set; `account add` checks that the keystore opens with the "
            "password `mirrorbot run` will use",
            2,
        )
    password = _password(settings, new=False)
    added = _call(
        lambda s: s.account_add(
            _actor(),
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
        _print_json(added)
        return
    account = added.account
    verb = "Registered" if added.created else "Already registered:"
    typer.echo(f"{verb} {account.kind} account {account.address} with agent {account.agent}")
    if added.venue_checked:
        typer.echo("The venue confirms the agent may trade for it.")
    _venue_note(added.venue_checked, check_venue, "the agent's approval was")


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
    removed = _call(
        lambda s: s.account_remove(_actor(), address, keep_positions=keep_positions, venue_name=venue)
    )
    if as_json:
        _print_json(removed)
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

    accounts = _call(lambda s: s.account_list(_actor()), read_only=True)
    if as_json:
        _print_json(accounts)
        return
    table = Table("address", "kind", "label", "agent", "keystore", title="Follower accounts")
    for a in accounts:
        table.add_row(a.address, a.kind, a.label or "", a.agent or "", a.keystore or "")
    _console().print(table)


# ---- follow -----------------------------------------------------------------------------------------


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
    return {k: v for k, v in named.items() if v is not None} | dict(_pairs(sets, "--set"))


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
        raise _fail(f"{' '.join(doubts)} Confirm with --yes", 2)


# Flags shared by `follow add` and `follow update` (typer needs them spelled out per command).
YesOpt = Annotated[
    bool, typer.Option("--yes", help="Confirm a value that looks like the other unit (--scaling 0.5).")
]
StrategyOpt = Annotated[
    str | None, typer.Option(help="mirror, fixed_ratio (needs --ratio) or fixed_notional (--notional).")
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
    _unit_check(yes, {**options, "scaling": scaling, "scale": _pairs(scale, "--scale")})
    change = _call(
        lambda s: s.follow_add(
            _actor(),
            account,
            source,
            tokens,
            scaling,
            _pairs(scale, "--scale"),
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
    _unit_check(yes, {**options, "scaling": scaling, "scale": _pairs(scale, "--scale")})
    change = _call(
        lambda s: s.follow_update(
            _actor(),
            account,
            source,
            tokens=tokens,
            scaling=scaling,
            scale=_pairs(scale, "--scale"),
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
        _print_json(change)
    else:
        _print_change(change, verb)
    if change.changed:
        _venue_note(change.venue_checked, check_venue, "the tokens were")


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
        raise _fail("remove: choose what happens to the positions (accepted: --close, --keep)", 2)
    change = _call(lambda s: s.follow_remove(_actor(), account, source, close=close))
    if as_json:
        _print_json(change)
    else:
        what = "will be closed" if close else "are kept, detached (no longer managed)"
        typer.echo(
            f"Unfollowed {source} for {change.plan.follower} (plan v{change.plan.version}); positions {what}."
        )


@follow_app.command("list")
def follow_list(account: AccountOpt = None, as_json: JsonFlag = False) -> None:
    """Every follow with its current plan version."""
    follows = _call(lambda s: s.follow_list(_actor(), account), read_only=True)
    if as_json:
        _print_json(follows)
        return
    _console().print(_follows_table(follows))


def _follows_table(follows: tuple[FollowView, ...]) -> Any:
    from rich.table import Table

    table = Table("follower", "source", "plan", "active", "tokens", "strategy", "scaling", "copy current")
    table.title = "Follows"
    for f in follows:
        scaling = ", ".join(f"{coin}={k} %" for coin, k in f.scaling.items())
        active = "yes" if f.active else f"no ({f.release})"
        copy = "on" if f.copy_current else "off"
        table.add_row(f.follower, f.source, f"v{f.version}", active, f.tokens, f.strategy, scaling, copy)
    return table


# ---- reads ------------------------------------------------------------------------------------------


def status(as_json: JsonFlag = False) -> None:
    """Accounts, follows, the latest decisions and what the ledger holds."""
    view = _call(lambda s: s.status(_actor()), read_only=True)
    if as_json:
        _print_json(view)
        return
    _print_status(view)


def _print_status(view: StatusView) -> None:
    from rich.table import Table

    from bot.ledger.types import decimal_text

    console = _console()
    console.print(f"{len(view.accounts)} account(s), {len(view.follows)} follow(s)")
    console.print(_follows_table(view.follows))
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
    console.print("Ledger: " + ", ".join(f"{name} {count}" for name, count in view.counts.items()))
    for line in _health_lines(view.health):
        console.print(line, markup=False)


def _health_lines(health: Mapping[str, Any]) -> list[str]:
    """The runner's health as `mirrorbot status` prints it (docs/operations.md)."""
    from bot.service.queries import runner_line

    def pairs(value: Mapping[str, Any] | None) -> str:
        if value is None:
            return "unknown"
        return ", ".join(f"{k} {v}" for k, v in value.items()) or "none"

    last = health.get("last_reconcile")
    lines = [
        f"Runner: {runner_line(health.get('runner'))}",
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
        raise _fail(f"--venue: {venue!r} is not a venue (accepted: {', '.join(VENUE_NAMES)})", 2)
    if venue in ACCOUNT_REPORTS:  # that venue's own view of one account (GMX: per market, netted)
        _venue_positions(venue, account)
        return
    view = _call(lambda s: s.positions(_actor(), account), read_only=True)
    if as_json:
        _print_json(view)
        return
    _print_positions(view)


def _venue_positions(venue: str, account: str | None) -> None:
    """`positions --venue gmx --account 0x…`: the account's positions as that venue holds them (GMX: per
    market, netted per coin), as JSON."""
    from eth_utils.address import is_address

    from bot.venues import VenueConfigError, account_report, capabilities

    settings = _load()
    if account is None or not is_address(account):
        label = capabilities(venue).display
        raise _fail(f"--account: expected the {label} account's 0x address (got {account!r})", 2)
    try:
        report = asyncio.run(account_report(settings, venue, account))
    except (VenueConfigError, ValueError) as exc:
        raise _fail(str(exc), 2) from None
    except RuntimeError as exc:
        raise _fail(f"{venue}: {exc}", 1) from None
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
    console = _console()
    console.print(table)
    console.print("Equity: " + ", ".join(f"{a} {decimal_text(e)}" for a, e in view.equities.items()))


def why(
    ref: Annotated[
        str, typer.Argument(help="A fill's trade id, a venue order id, a cloid or a decision id.")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Why did my account do this? The ledger's lineage for a fill or an order."""
    view = _call(lambda s: s.why(_actor(), ref), read_only=True)
    if as_json:
        _print_json(view)
    else:
        typer.echo(view.text)
    if view.chains == 0:
        raise typer.Exit(1)
