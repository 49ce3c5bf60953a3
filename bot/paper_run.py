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
from typing import Final

from bot.config import Settings
from bot.domain import TradingAccount, Venue
from bot.ledger import Ledger
from bot.logs import configure_from_settings, log_event
from bot.paper import PaperVenue
from bot.pipeline.runner import VENUE_NAME, Runner, RunnerError, RunnerOptions
from bot.service import Actor, inputs
from bot.service.errors import InvalidInput
from bot.telegram.beside import beside_runner

__all__ = ["DEFAULT_EQUITY", "main", "paper_db_url", "paper_runner", "parse_followers"]

log = logging.getLogger(__name__)

DEFAULT_EQUITY: Final = Decimal(10_000)
PAPER_LABEL: Final = "paper"


def paper_db_url(settings: Settings, database_url: str | None) -> str:
    return database_url or f"sqlite+aiosqlite:///{settings.data_dir / 'paper.db'}"


def parse_followers(items: Sequence[str], default_equity: Decimal) -> dict[str, Decimal]:
    """`ADDRESS[=USD]` items → start equity per (lower-cased) address. Raises `InvalidInput`."""
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
    actor = Actor.cli()
    async with await Ledger.open(db_url) as ledger:
        for address, equity in followers.items():
            added = await ledger.add_account(venue=VENUE_NAME, address=address, label=PAPER_LABEL)
            if added.created:
                await ledger.audit(
                    actor=actor.name,
                    channel=actor.channel,
                    action="paper.account.add",
                    details={"address": address, "start_equity": str(equity)},
                )
        return [row.address for row in await ledger.accounts() if row.venue == VENUE_NAME]


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
    addresses = await _register(settings.db_url, followers)
    if not addresses:
        raise RunnerError(
            f"no follower in the paper database ({settings.db_url}): add one with --follower ADDRESS[=USD]"
        )
    if reads is None:
        from bot.venues import build_hyperliquid_venue

        # Nothing is signed on the venue (no nonces kept); reads are retried as the runner's are.
        reads = build_hyperliquid_venue(settings, trading=False, retry_reads=True)
    state_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        paper = PaperVenue(reads, state_path=state_path)
    except Exception:
        await reads.close()
        raise
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
