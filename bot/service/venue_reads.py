"""What the service asks a venue (read-only, through the `Venue` protocol): listed tokens, whether an
agent wallet may trade for an account, and account states. Venue trouble becomes a VenueError."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Iterable
from decimal import Decimal
from typing import TypeVar

import httpx

from bot.domain import AccountState, Instrument, Venue, VenueRequestError
from bot.ledger import AccountKind
from bot.service.errors import VenueError, VenueUnreachable
from bot.venues import VenueConfigError, Venues

T = TypeVar("T")


async def ask(venue: Venue, what: str, request: Awaitable[T]) -> T:
    """Await one venue read; unreachable or refusing venues become a VenueError naming `what`."""
    try:
        return await request
    except httpx.HTTPError as exc:
        raise VenueUnreachable(f"the venue could not be reached for {what} ({type(exc).__name__})") from None
    except VenueRequestError as exc:
        raise VenueError(f"the venue refused {what}: {exc}") from None
    except ValueError as exc:  # an answer our parser does not understand
        raise VenueError(f"the venue's answer to {what} was not understood: {exc}") from None


async def instruments(venue: Venue) -> dict[str, Instrument]:
    listed = await ask(venue, "the token list (meta)", venue.instruments())
    return {item.coin: item for item in listed}


async def mids(venue: Venue) -> dict[str, Decimal]:
    return dict(await ask(venue, "the mids (allMids)", venue.mids()))


async def unknown_account(venue: Venue, address: str) -> bool:
    """Whether the venue has never seen `address` (Hyperliquid's userRole "missing": never funded nor
    traded, most often a mistyped address). False when the venue cannot say."""
    try:
        role = await ask(venue, f"the role of {address} (userRole)", venue.account_role(address))
    except VenueError:
        return False  # a follow is not refused because a check could not be made
    return role.role == "missing"


def opened(venues: Venues, name: str, purpose: str) -> Venue:
    """The venue `name` of `venues`; a VenueError naming the setting when it cannot be opened."""
    try:
        return venues.get(name)
    except VenueConfigError as exc:
        raise VenueError(f"{purpose} on {name}: {exc}") from None


async def account_states(venue: Venue, addresses: Iterable[str]) -> dict[str, AccountState]:
    """Each address's positions and equity (on Hyperliquid: perp + spot USDC), one read per address."""
    out: dict[str, AccountState] = {}
    name = venue.capabilities.name
    for address in dict.fromkeys(addresses):
        what = f"the account state of {address}"
        try:
            out[address] = await ask(venue, what, venue.account(address))
        except VenueError:
            raise
        except Exception as exc:  # a node that is down or refuses: said, without the URL
            raise VenueUnreachable(f"{name} could not be read for {what} ({type(exc).__name__})") from None
    return out


async def check_agent(venue: Venue, master: str, agent: str, vault: str | None) -> AccountKind:
    """Check on the venue that `agent` may sign for `master` (and `vault` when given); return the
    traded account's kind. Refusals say what to fix."""
    master_role = await ask(venue, f"the role of {master} (userRole)", venue.account_role(master))
    if master_role.role == "missing":
        raise VenueError(f"account {master} does not exist on the venue (userRole: missing): fund it first")
    if master_role.role == "agent":
        raise VenueError(f"account {master} is itself an agent wallet: give the master account's address")
    if agent != master:
        agent_role = await ask(venue, f"the role of {agent} (userRole)", venue.account_role(agent))
        if agent_role.role != "agent" or agent_role.owner != master:
            raise VenueError(
                f"agent {agent} is not approved for {master} (userRole: {agent_role.role}): "
                "approve it from the master account (approveAgent) first"
            )
        await _check_not_expired(venue, master, agent)
    if vault is None:
        return AccountKind.MASTER
    vault_role = await ask(venue, f"the role of {vault} (userRole)", venue.account_role(vault))
    if vault_role.role == "vault":
        return AccountKind.VAULT
    if vault_role.role == "subAccount":
        if vault_role.owner != master:
            raise VenueError(f"sub-account {vault} belongs to {vault_role.owner}, not {master}")
        return AccountKind.SUB_ACCOUNT
    raise VenueError(f"{vault} is not a vault or sub-account on the venue (userRole: {vault_role.role})")


async def _check_not_expired(venue: Venue, master: str, agent: str) -> None:
    named = await ask(venue, f"the agents of {master} (extraAgents)", venue.agents(master))
    for entry in named:
        if entry.address != agent:
            continue
        if entry.valid_until_ms is not None and entry.valid_until_ms < time.time() * 1000:
            raise VenueError(f"agent {agent} ({entry.name}) expired: approve a new agent wallet")
