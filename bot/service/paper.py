"""Paper followers (`mirrorbot paper --follower ADDRESS[=USD]`): accounts of the paper database whose
orders fill on the paper venue, so they have no agent wallet and no keystore; each registration is
audited with its start equity."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Final

from bot.service import inputs
from bot.service.actor import Actor
from bot.service.service import MirrorService

PAPER_LABEL: Final = "paper"


async def paper_accounts(
    service: MirrorService, actor: Actor, followers: Mapping[str, Decimal], *, venue_name: str
) -> list[str]:
    """Register the `followers` (address -> start equity) not registered yet; every paper follower's
    address (`venue_name`'s accounts of the paper database)."""
    for address, equity in followers.items():
        follower = inputs.address(address, "--follower")
        added = await service.ledger.add_account(venue=venue_name, address=follower, label=PAPER_LABEL)
        if added.created:
            await service.ledger.audit(
                actor=actor.name,
                channel=actor.channel,
                action="paper.account.add",
                details={"address": follower, "start_equity": str(equity)},
            )
    return [row.address for row in await service.ledger.accounts() if row.venue == venue_name]
