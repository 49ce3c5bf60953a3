"""What the service asks the venue (read-only, via the async InfoClient): listed tokens, whether an
agent wallet may trade for an account, and account states — those of GMX accounts through a `GmxVenue`
built from MIRROR_GMX_* (`gmx_factory`). Venue trouble becomes a VenueError."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from adapters.hyperliquid.info import InfoClient, InfoRequestError
from bot.domain import AccountState, Instrument, Venue
from bot.ledger import AccountKind
from bot.service.errors import VenueError, VenueUnreachable

if TYPE_CHECKING:
    from bot.config import Settings

T = TypeVar("T")


async def ask(info: InfoClient, what: str, request: Awaitable[T]) -> T:
    """Await one venue read; unreachable or refusing venues become a VenueError naming `what`."""
    try:
        return await request
    except httpx.HTTPError as exc:
        raise VenueUnreachable(f"the venue could not be reached for {what} ({type(exc).__name__})") from None
    except InfoRequestError as exc:
        raise VenueError(f"the venue refused {what}: {exc}") from None
    except ValueError as exc:  # an answer our parser does not understand
        raise VenueError(f"the venue's answer to {what} was not understood: {exc}") from None


async def instruments(info: InfoClient) -> dict[str, Instrument]:
    listed = await ask(info, "the token list (meta)", info.meta())
    return {item.coin: item for item in listed}


async def account_states(info: InfoClient, addresses: Iterable[str]) -> dict[str, AccountState]:
    """Each address's positions and equity (perp + spot USDC), one request pair per address."""
    out: dict[str, AccountState] = {}
    for address in dict.fromkeys(addresses):
        out[address] = await ask(info, f"the account state of {address}", info.account_state(address))
    return out


def gmx_factory(settings: Settings) -> Callable[[], Venue] | None:
    """Builds the GMX client of the settings (None when MIRROR_GMX_RPC_URL is not set)."""
    rpc_url = settings.gmx_rpc_url
    if rpc_url is None:
        return None

    def build() -> Venue:
        from adapters.gmx.venue import GmxVenue

        return GmxVenue.connect(
            rpc_url, settings.gmx_network.value, deployment_file=settings.gmx_deployment_file
        )

    return build


async def gmx_states(gmx: Callable[[], Venue] | None, addresses: Iterable[str]) -> dict[str, AccountState]:
    """GMX accounts' positions (netted per coin) and equity, read on a client opened for this and closed."""
    wanted = list(dict.fromkeys(addresses))
    if gmx is None:
        raise VenueError(
            f"reading {', '.join(wanted)} on GMX: MIRROR_GMX_RPC_URL is not set "
            "(the JSON-RPC URL of the chain)"
        )
    try:
        client = gmx()
    except ValueError as exc:  # the deployment file cannot be read
        raise VenueError(f"MIRROR_GMX_DEPLOYMENT_FILE / MIRROR_GMX_NETWORK: {exc}") from None
    out: dict[str, AccountState] = {}
    try:
        for address in wanted:
            try:
                out[address] = await client.account(address)
            except Exception as exc:  # a node that is down or refuses: said, without the URL
                raise VenueUnreachable(
                    f"GMX could not be read for the account state of {address} ({type(exc).__name__})"
                ) from None
    finally:
        with contextlib.suppress(Exception):
            await client.close()
    return out


async def _role(info: InfoClient, user: str) -> dict[str, Any]:
    answer = await ask(info, f"the role of {user} (userRole)", info.post({"type": "userRole", "user": user}))
    if not isinstance(answer, dict) or not isinstance(answer.get("role"), str):
        raise VenueError(f"the venue's userRole answer for {user} was not understood")
    return answer


def _data(answer: dict[str, Any], key: str) -> str:
    data = answer.get("data")
    value = data.get(key) if isinstance(data, dict) else None
    return value.lower() if isinstance(value, str) else ""


async def check_agent(info: InfoClient, master: str, agent: str, vault: str | None) -> AccountKind:
    """Check on the venue that `agent` may sign for `master` (and `vault` when given); return the
    traded account's kind. Refusals say what to fix."""
    master_role = await _role(info, master)
    if master_role["role"] == "missing":
        raise VenueError(f"account {master} does not exist on the venue (userRole: missing): fund it first")
    if master_role["role"] == "agent":
        raise VenueError(f"account {master} is itself an agent wallet: give the master account's address")
    if agent != master:
        agent_role = await _role(info, agent)
        if agent_role["role"] != "agent" or _data(agent_role, "user") != master:
            raise VenueError(
                f"agent {agent} is not approved for {master} (userRole: {agent_role['role']}): "
                "approve it from the master account (approveAgent) first"
            )
        await _check_not_expired(info, master, agent)
    if vault is None:
        return AccountKind.MASTER
    vault_role = await _role(info, vault)
    if vault_role["role"] == "vault":
        return AccountKind.VAULT
    if vault_role["role"] == "subAccount":
        if _data(vault_role, "master") != master:
            raise VenueError(f"sub-account {vault} belongs to {_data(vault_role, 'master')}, not {master}")
        return AccountKind.SUB_ACCOUNT
    raise VenueError(f"{vault} is not a vault or sub-account on the venue (userRole: {vault_role['role']})")


async def _check_not_expired(info: InfoClient, master: str, agent: str) -> None:
    named = await ask(
        info, f"the agents of {master} (extraAgents)", info.post({"type": "extraAgents", "user": master})
    )
    for entry in named if isinstance(named, list) else []:
        if not isinstance(entry, dict) or str(entry.get("address", "")).lower() != agent:
            continue
        valid_until = entry.get("validUntil")
        if isinstance(valid_until, int) and valid_until < time.time() * 1000:
            raise VenueError(f"agent {agent} ({entry.get('name')}) expired: approve a new agent wallet")
