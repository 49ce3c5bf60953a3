"""`mirrorbot paper`: `mirrorbot run`'s pipeline with follower execution simulated by `PaperVenue`.

Sources are watched on the configured venue (mainnet, testnet or the localnet) exactly as live; follower
orders fill on paper at the live mids. No key is needed or opened, and nothing is signed.

- Its own database: `MIRROR_DATA_DIR/paper.db` unless `--database-url` names one (never
  `MIRROR_DATABASE_URL`, so a paper run cannot write into the live ledger).
- Its paper accounts (positions, cash, orders, fills) persist in `--state` (default
  `MIRROR_DATA_DIR/paper.json`), so a restarted paper run finds them again.
- Followers are registered in the paper database with `--follower ADDRESS[=USD]` (start equity, default
  `--equity`); follows are managed with the usual commands pointed at that database
  (`MIRROR_DATABASE_URL=… mirrorbot follow add SOURCE --account ADDRESS`), also while it runs.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer

from bot.cli.common import DurationOpt, OnceOpt, settings_or_exit
from bot.logs import log_event

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.domain import Venue
    from bot.pipeline.runner import Runner, RunnerOptions

# The pipeline, the paper venue and the service are imported when `paper` runs, not for every command.

__all__ = ["DEFAULT_EQUITY", "main", "paper", "paper_db_url", "paper_runner", "parse_followers"]

log = logging.getLogger(__name__)

DEFAULT_EQUITY: Final = Decimal(10_000)


def paper(
    follower: Annotated[
        list[str] | None,
        typer.Option("--follower", help="Register a paper follower, ADDRESS[=USD start equity] (repeatable)"),
    ] = None,
    equity: Annotated[str, typer.Option(help="Start equity (USD) of paper followers given none.")] = "10000",
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Paper database (default: MIRROR_DATA_DIR/paper.db).")
    ] = None,
    state: Annotated[
        Path | None, typer.Option(help="Paper accounts' state file (default: MIRROR_DATA_DIR/paper.json).")
    ] = None,
    once: OnceOpt = False,
    duration: DurationOpt = None,
) -> None:
    """Run the copy pipeline on paper: sources live, follower orders filled at the live mids.

    No keys needed; a database of its own."""
    raise typer.Exit(
        main(
            settings_or_exit(),
            database_url=database_url,
            state=state,
            equity=equity,
            followers=follower or [],
            once=once,
            duration_s=duration,
        )
    )


def paper_db_url(settings: Settings, database_url: str | None) -> str:
    return database_url or f"sqlite+aiosqlite:///{settings.data_dir / 'paper.db'}"


def parse_followers(items: Sequence[str], default_equity: Decimal) -> dict[str, Decimal]:
    """`ADDRESS[=USD]` items → start equity per (lower-cased) address. Raises `InvalidInput`."""
    from bot.service import inputs
    from bot.service.errors import InvalidInput

    followers: dict[str, Decimal] = {}
    for item in items:
        address, sep, amount = item.partition("=")
        key = inputs.address(address, "--follower")
        equity = inputs.decimal(amount, "--follower") if sep else default_equity
        if equity <= 0:
            raise InvalidInput("--follower", f"start equity must be positive, got {amount}", "ADDRESS[=USD]")
        followers[key] = equity
    return followers


async def _register(db_url: str, followers: Mapping[str, Decimal]) -> list[str]:
    """Add the `--follower` accounts to the paper database; every paper follower's address."""
    from bot.pipeline.runner import VENUE_NAME
    from bot.service import Actor, MirrorService
    from bot.service.paper import paper_accounts

    async with MirrorService.connect(db_url) as service:
        return await paper_accounts(service, Actor.cli(), followers, venue_name=VENUE_NAME)


async def paper_runner(
    settings: Settings,
    *,
    followers: Mapping[str, Decimal],
    default_equity: Decimal = DEFAULT_EQUITY,
    state_path: Path,
    reads: Venue | None = None,
    options: RunnerOptions | None = None,
) -> Runner:
    """A `Runner` over the paper database (`settings.db_url`) whose venue is a `PaperVenue` on `reads`
    (default: the configured venue). Raises `RunnerError` when there is nobody to trade for."""
    from bot.domain import TradingAccount
    from bot.pipeline.runner import Runner, RunnerError
    from bot.venues import open_paper_venue

    addresses = await _register(settings.db_url, followers)
    if not addresses:
        raise RunnerError(
            f"no follower in the paper database ({settings.db_url}): add one with --follower ADDRESS[=USD]"
        )
    paper = await open_paper_venue(settings, state_path=state_path, reads=reads)
    for address in addresses:
        equity = followers.get(address, default_equity)
        held = paper.paper_account(address)
        if held is None:
            paper.open_account(address, equity)
        elif address in followers and held.start_equity != equity:
            log_event(
                log,
                "paper_equity_kept",
                level=logging.WARNING,
                address=address,
                kept=held.start_equity,
                asked=equity,
                hint=f"the paper account exists in {state_path}; remove that file to start afresh",
            )
    accounts = [TradingAccount(address, signer_key="") for address in addresses]  # paper signs nothing
    return Runner(settings, venue=paper, accounts=accounts, options=options)


def main(
    settings: Settings,
    *,
    database_url: str | None,
    state: Path | None,
    equity: str,
    followers: Sequence[str],
    once: bool = False,
    duration_s: float | None = None,
) -> int:
    """`mirrorbot paper`: 0 after a clean stop, 2 when it cannot start (the message says why)."""
    from bot.ledger.db import LedgerConfigError
    from bot.logs import configure_from_settings
    from bot.pipeline.runner import RunnerError
    from bot.service import inputs
    from bot.service.errors import InvalidInput
    from bot.telegram.beside import beside_runner

    try:
        default_equity = inputs.decimal(equity, "--equity")
        if default_equity <= 0:
            raise InvalidInput("--equity", f"must be positive, got {equity}", "a USD amount such as 10000")
        wanted = parse_followers(followers, default_equity)
    except InvalidInput as exc:
        print(f"mirrorbot paper: {exc}", file=sys.stderr)
        return 2
    paper_settings = settings.model_copy(update={"database_url": paper_db_url(settings, database_url)})
    configure_from_settings(paper_settings)
    state_path = state or settings.data_dir / "paper.json"

    async def run() -> None:
        runner = await paper_runner(
            paper_settings, followers=wanted, default_equity=default_equity, state_path=state_path
        )
        log_event(log, "paper_mode", database=paper_settings.db_url, state=str(state_path))
        runner.starters.append(beside_runner())  # the control room too, when a token is set
        await runner.run(duration_s=duration_s, once=once)

    try:
        asyncio.run(run())
    except (RunnerError, LedgerConfigError, ValueError) as exc:
        print(f"mirrorbot paper: {exc}", file=sys.stderr)
        return 2
    return 0
