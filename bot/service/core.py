"""What every `MirrorService` operation stands on: the ledger, the venues it reads (built by bot/venues.py),
the audit log (refusals too), and the lookups the commands share (the follower named or implied, account
states read on each account's own venue). The operations are layered on top: follows
(bot/service/follows.py), accounts and keystores (bot/service/accounts.py), reads (bot/service/service.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.domain import AccountState, Venue
from bot.ledger import FollowPlan, Ledger
from bot.service import inputs, venue_reads
from bot.service.actor import Actor
from bot.service.errors import InvalidInput, NotFound, ServiceError, VenueError
from bot.service.settings import FollowSettings, settings_from_json
from bot.venues import HYPERLIQUID, VENUE_NAMES, Venues

VENUE = HYPERLIQUID  # the default follower venue, and the one tokens are checked on
FOLLOWER_VENUES = VENUE_NAMES  # `account add --venue`: where a follower trades (MIRROR_FOLLOWER_VENUE)
MAX_LABEL = 64


def _settings_of(plan: FollowPlan) -> FollowSettings:
    return settings_from_json(plan.settings)


# Accounts named in the refusal when several are registered and none was named (the rest: `account list`).
LISTED_ACCOUNTS = 10


class ServiceCore:
    """The state and helpers every command of `MirrorService` uses (see the module docstring)."""

    def __init__(
        self,
        ledger: Ledger,
        venues: Venues | Venue | None = None,
        *,
        kdf_iterations: int | None = None,
    ) -> None:
        self.ledger = ledger
        # The venues read, by name (bot/venues.py builds them from the settings); a single `Venue` is
        # the only one. None: no venue configured; calls that need one say so.
        self.venues = venues if venues is None or isinstance(venues, Venues) else Venues.of(venues)
        self._kdf_iterations = kdf_iterations  # scrypt n for new keystores (None: eth-account's 2^18)
        self._plans_lock = asyncio.Lock()  # plan writes check-then-write; one at a time per process

    async def _audit(self, actor: Actor, action: str, details: Mapping[str, Any]) -> None:
        await self.ledger.audit(actor=actor.name, channel=actor.channel, action=action, details=dict(details))

    @asynccontextmanager
    async def _refusals(self, actor: Actor, action: str) -> AsyncIterator[None]:
        """Audit a refused call too (its message is secret-free by construction), then re-raise."""
        try:
            yield
        except ServiceError as exc:
            await self._audit(actor, action, {"refused": str(exc)})
            raise

    @property
    def default_venue(self) -> Venue | None:
        """The venue tokens are checked and listed on (Hyperliquid); None when none is configured."""
        if not self._configured(VENUE):
            return None
        return venue_reads.opened(self._reads("the default venue"), VENUE, "reading the default venue")

    def _configured(self, name: str) -> bool:
        return self.venues is not None and self.venues.configured(name)

    async def _venue(self, check: bool | None, purpose: str, name: str = VENUE) -> Venue | None:
        """The venue `name` for an optional check: `check` True = required, False = skip, None = when
        one is configured (an unreachable venue is then skipped by the caller)."""
        if check is False or (check is None and not self._configured(name)):
            return None
        if self.venues is None or not self._configured(name):
            raise VenueError(f"{purpose}: no venue URL is configured")
        return venue_reads.opened(self.venues, name, purpose)

    def _reads(self, purpose: str) -> Venues:
        if self.venues is None:
            raise VenueError(f"{purpose}: no venue URL is configured")
        return self.venues

    async def resolve_follower(self, follower: str | None) -> str:
        """The follower named (it must be registered), or the only registered account."""
        # Reads at most a few addresses: a table of thousands (a hosted service) is not read per command.
        if follower is not None:
            address = inputs.address(follower, "account")
            if not await self.ledger.account_addresses(address=address, limit=1):
                raise NotFound(f"account {address} is not registered (add it with `mirrorbot account add`)")
            return address
        registered = await self.ledger.account_addresses(limit=LISTED_ACCOUNTS + 1)
        if not registered:
            raise NotFound("no follower account is registered yet (add one with `mirrorbot account add`)")
        if len(registered) > 1:
            shown = ", ".join(registered[:LISTED_ACCOUNTS])
            more = ", … (`mirrorbot account list`)" if len(registered) > LISTED_ACCOUNTS else ""
            raise InvalidInput("account", "several accounts are registered: name one", shown + more)
        return registered[0]

    async def _states(self, wanted: Sequence[tuple[str, str]]) -> dict[str, AccountState]:
        """Each (venue, address)'s state, read on that venue."""
        reads = self._reads("reading account states")
        by_venue: dict[str, list[str]] = {}
        for name, address in wanted:
            by_venue.setdefault(name, []).append(address)
        states: dict[str, AccountState] = {}
        for name, addresses in by_venue.items():
            states |= await venue_reads.account_states(
                venue_reads.opened(reads, name, f"reading {', '.join(addresses)}"), addresses
            )
        return states


def _check_label(label: str | None) -> None:
    if label is not None and (len(label) > MAX_LABEL or not label.isprintable() or not label.strip()):
        raise InvalidInput("label", "not a usable label", f"1 to {MAX_LABEL} printable characters")


def _local_path(path: Path | str) -> Path:
    """An absolute path (the runner may start elsewhere); `~` expanded."""
    return Path(path).expanduser().absolute()
