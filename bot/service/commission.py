"""Leader commission (SPEC §14), the service's side: the master's one signature approving a builder
(`builder_approve`: the key is used for that signature and dropped — never stored, logged, audited or
echoed), what is approved (`builder_status`), and the high-water-mark profit-share report
(`commission_report`, bot/service/profit_share.py). The pipeline adds the builder to the orders
(bot/pipeline/commission.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from eth_account import Account

from bot.domain import BuilderFee, Venue
from bot.ledger import AccountKind
from bot.service import inputs, venue_reads
from bot.service.actor import Actor
from bot.service.core import VENUE, ServiceCore, _settings_of
from bot.service.errors import InvalidInput, NotFound, VenueError
from bot.service.keystore import parse_private_key
from bot.service.profit_share import PERIODS, SharePeriod, by_period, high_water_mark_shares

PROFIT_SHARE = inputs.Range(Decimal(0), Decimal(100), "percent of new profits", open_low=True)


@dataclass(frozen=True, slots=True)
class BuilderRate:
    builder: str
    asked: int  # tenths of a basis point the follows (or the request) ask for
    approved: int  # what the venue says the master approved (0: none)


@dataclass(frozen=True, slots=True)
class BuilderApproval:
    account: str
    builders: tuple[BuilderRate, ...]


@dataclass(frozen=True, slots=True)
class FollowShare:
    follower: str
    source: str
    commission_to: str | None  # whom the share is for (the follow's builder), None: not set
    periods: tuple[SharePeriod, ...]


@dataclass(frozen=True, slots=True)
class CommissionReport:
    period: str
    share_pct: Decimal
    follows: tuple[FollowShare, ...]


class CommissionCommands(ServiceCore):
    async def _commissions(self, follower: str) -> dict[str, int]:
        """builder → the highest rate any active follow of `follower` asks for it."""
        asked: dict[str, int] = {}
        for plan in await self.ledger.current_plans(follower):
            settings = _settings_of(plan)
            if settings.active and settings.commission is not None:
                fee = settings.commission
                asked[fee.address] = max(asked.get(fee.address, 0), fee.tenths_bp)
        return asked

    async def _builder_venue(self, follower: str, purpose: str) -> Venue:
        rows = [a for a in await self.ledger.accounts() if a.address == follower]
        venue = venue_reads.opened(self._reads(purpose), rows[0].venue if rows else VENUE, purpose)
        if not venue.capabilities.builder_codes:
            raise InvalidInput(
                "account", f"{venue.capabilities.display} has no builder codes", "a Hyperliquid account"
            )
        return venue

    async def builder_approve(
        self,
        actor: Actor,
        account: str | None,
        master_key: str,
        builder: str | None = None,
        tenths_bp: object = None,
    ) -> BuilderApproval:
        """The account's master key signs `approveBuilderFee` for `builder` at `tenths_bp` (both given),
        or for every builder its follows name at the highest rate they ask. An agent cannot sign it: the
        key must be the account's own."""
        async with self._refusals(actor, "builder.approve"):
            follower = await self.resolve_follower(account)
            row = next(a for a in await self.ledger.accounts() if a.address == follower)
            if row.kind != AccountKind.MASTER.value:
                raise InvalidInput(
                    "account",
                    f"a {row.kind} follower: its builder is approved by its owner",
                    "a master account",
                )
            if (builder is None) != (tenths_bp is None):
                raise InvalidInput(
                    "builder", "give both the builder and the rate, or neither", "both, or neither"
                )
            wanted = (
                {inputs.address(builder, "builder"): inputs.commission_rate(tenths_bp, "rate")}
                if builder is not None
                else await self._commissions(follower)
            )
            if not wanted:
                raise NotFound(f"no follow of {follower} sets a commission: name the builder and the rate")
            key = parse_private_key(master_key)
            if Account.from_key(key).address.lower() != follower:
                raise InvalidInput(
                    "key",
                    f"not the master key of {follower} (an agent cannot approve a builder)",
                    "the account's own key",
                )
            venue = await self._builder_venue(follower, "approving a builder fee")
            rates: list[BuilderRate] = []
            for address, rate in sorted(wanted.items()):
                await _approve(venue, "0x" + key.hex(), address, rate)
                approved = await venue_reads.ask(
                    venue, "maxBuilderFee", venue.max_builder_fee(follower, address)
                )
                rates.append(BuilderRate(address, rate, approved))
            del key
            details = {"account": follower, "builders": {r.builder: r.approved for r in rates}}
            await self._audit(actor, "builder.approve", details)
            return BuilderApproval(follower, tuple(rates))

    async def builder_status(self, actor: Actor, account: str | None) -> BuilderApproval:
        """What the account's master approved for each builder its follows name."""
        async with self._refusals(actor, "builder.status"):
            follower = await self.resolve_follower(account)
            venue = await self._builder_venue(follower, "reading builder approvals")
            rates = [
                BuilderRate(
                    address,
                    rate,
                    await venue_reads.ask(venue, "maxBuilderFee", venue.max_builder_fee(follower, address)),
                )
                for address, rate in sorted((await self._commissions(follower)).items())
            ]
            await self._audit(actor, "builder.status", {"account": follower})
            return BuilderApproval(follower, tuple(rates))

    async def commission_report(
        self, actor: Actor, followers: Sequence[str], *, period: str = "month", share_pct: object = "10"
    ) -> CommissionReport:
        """Per follow of `followers`, each period's high-water-mark profit share (nothing transferred)."""
        async with self._refusals(actor, "commission.report"):
            period = inputs.choice(period, "period", PERIODS)
            share = PROFIT_SHARE.read(share_pct, "share")
            fills: dict[tuple[str, str], list[tuple[datetime, Decimal, Decimal]]] = {}
            for fill, source in await self.ledger.copied_fills(followers):
                net, builder = fill.closed_pnl - fill.fee, fill.builder_fee or Decimal(0)
                fills.setdefault((fill.account, source), []).append((fill.time, net, builder))
            follows: list[FollowShare] = []
            for (follower, source), items in sorted(fills.items()):
                plan = await self.ledger.current_plan(follower, source)
                commission = None if plan is None else _settings_of(plan).commission
                periods = high_water_mark_shares(by_period(items, period), share / 100)
                follows.append(FollowShare(follower, source, _to(commission), periods))
            await self._audit(actor, "commission.report", {"followers": list(followers), "period": period})
            return CommissionReport(period, share, tuple(follows))


def _to(commission: BuilderFee | None) -> str | None:
    return None if commission is None else commission.address


async def _approve(venue: Venue, key: str, builder: str, rate: int) -> None:
    try:
        await venue.approve_builder_fee(key, builder, rate)
    except Exception as exc:  # the venue's refusal (its words), a lost answer, the link
        words = str(exc)
        shown = words if inputs.key_in(words) is None else "(withheld)"
        raise VenueError(
            f"the venue did not approve builder {builder}: {type(exc).__name__}: {shown}"
        ) from None
