"""The service layer: every user-facing operation, once. The CLI (bot/cli_service.py) and Telegram are
thin views over these calls; each takes the `Actor` who asked and writes the audit log — refusals too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from bot.domain import AccountState, Venue
from bot.ledger import AccountKind, FollowPlan, Ledger
from bot.ledger.models import utcnow
from bot.service import inputs, queries, venue
from bot.service.actor import Actor
from bot.service.coverage import Coverage
from bot.service.errors import (
    Conflict,
    InvalidInput,
    KeystoreError,
    NotFound,
    ServiceError,
    VenueError,
    VenueUnreachable,
)
from bot.service.keystore import keystore_address, open_keystore, parse_private_key, write_keystore
from bot.service.positions import FollowState, follow_rows, unmanaged_rows
from bot.service.settings import (
    OPTION_KEYS,
    RELEASE,
    FollowSettings,
    settings_from_json,
    settings_to_json,
)
from bot.service.views import (
    AccountAdded,
    AccountRemoved,
    AccountView,
    DecisionView,
    FollowView,
    KeystoreView,
    PlanChange,
    PositionRow,
    PositionsView,
    StatusView,
    WhyView,
)
from bot.service.why import lookup as why_lookup
from bot.venues import HYPERLIQUID, VENUE_NAMES, Venues, capabilities
from strategies.config import ALL_TOKENS

VENUE = HYPERLIQUID  # the default follower venue, and the one tokens are checked on
FOLLOWER_VENUES = VENUE_NAMES  # `account add --venue`: where a follower trades (MIRROR_FOLLOWER_VENUE)
MAX_LABEL = 64


@dataclass(frozen=True, slots=True)
class _Edit:
    """What a follow command asks to change, besides the settings it set directly."""

    tokens: object
    scale: Mapping[str, object] | None
    options: Mapping[str, object]
    release: str | None
    reassign: bool
    check_venue: bool | None


def _settings_of(plan: FollowPlan) -> FollowSettings:
    return settings_from_json(plan.settings)


class MirrorService:
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

    @classmethod
    @asynccontextmanager
    async def connect(
        cls,
        db_url: str,
        venues: Venues | None = None,
        *,
        kdf_iterations: int | None = None,
        create: bool = True,
    ) -> AsyncIterator[MirrorService]:
        """Open the ledger (migrating it; `create=False`: never creating it) with `venues` to read (closed
        on the way out)."""
        ledger = await Ledger.open(db_url, create=create)
        try:
            yield cls(ledger, venues, kdf_iterations=kdf_iterations)
        finally:
            await ledger.close()
            if venues is not None:
                await venues.close()

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
        return venue.opened(self._reads("the default venue"), VENUE, "reading the default venue")

    def _configured(self, name: str) -> bool:
        return self.venues is not None and self.venues.configured(name)

    async def _venue(self, check: bool | None, purpose: str, name: str = VENUE) -> Venue | None:
        """The venue `name` for an optional check: `check` True = required, False = skip, None = when
        one is configured (an unreachable venue is then skipped by the caller)."""
        if check is False or (check is None and not self._configured(name)):
            return None
        if self.venues is None or not self._configured(name):
            raise VenueError(f"{purpose}: no venue URL is configured")
        return venue.opened(self.venues, name, purpose)

    def _reads(self, purpose: str) -> Venues:
        if self.venues is None:
            raise VenueError(f"{purpose}: no venue URL is configured")
        return self.venues

    # ---- keystores ------------------------------------------------------------------------------

    async def keystore_new(self, actor: Actor, path: Path | str, password: str) -> KeystoreView:
        """Create a fresh agent key, encrypted with `password`, in a new 0600 file at `path`."""
        async with self._refusals(actor, "keystore.new"):
            target = _local_path(path)
            address = await asyncio.to_thread(
                write_keystore, target, password, iterations=self._kdf_iterations
            )
            await self._audit(actor, "keystore.new", {"path": str(target), "address": address})
            return KeystoreView(target, address)

    async def keystore_import(
        self, actor: Actor, path: Path | str, private_key: str, password: str
    ) -> KeystoreView:
        """Encrypt an existing private key into a new 0600 keystore file at `path`."""
        async with self._refusals(actor, "keystore.import"):
            key = parse_private_key(private_key)
            target = _local_path(path)
            address = await asyncio.to_thread(
                write_keystore, target, password, key, iterations=self._kdf_iterations
            )
            await self._audit(actor, "keystore.import", {"path": str(target), "address": address})
            return KeystoreView(target, address)

    async def load_key(self, actor: Actor, path: Path | str, password: str) -> LocalAccount:
        """Decrypt a keystore (for the runner's signer). The key itself goes nowhere but the result."""
        async with self._refusals(actor, "keystore.load"):
            target = _local_path(path)
            account = await asyncio.to_thread(open_keystore, target, password)
            await self._audit(
                actor, "keystore.load", {"path": str(target), "address": account.address.lower()}
            )
            return account

    # ---- accounts -------------------------------------------------------------------------------

    async def account_add(
        self,
        actor: Actor,
        address: str,
        keystore_path: Path | str,
        label: str | None = None,
        vault: str | None = None,
        *,
        check_venue: bool | None = None,
        venue_name: str = VENUE,
        password: str | None = None,
        replace_agent: bool = False,
    ) -> AccountAdded:
        """Register a follower: the master account `address` (or the `vault` / sub-account it trades
        for) and the agent wallet whose encrypted key is in `keystore_path`. On a venue without agent
        wallets (GMX: its capabilities say so) the keystore holds the account's own key, and no venue
        check is made (nothing to approve). With `password` (the CLI passes
        MIRROR_KEYSTORE_PASSWORD, the one `mirrorbot run` opens keystores with) the keystore must open
        with it, or nothing is registered. With `replace_agent` an account registered already gets the
        new agent and keystore (checked the same way; the old keystore file stays where it is)."""
        async with self._refusals(actor, "account.add"):
            on = inputs.choice(venue_name, "venue", FOLLOWER_VENUES)
            if not capabilities(on).agent_wallets:
                return await self._own_key_account_add(
                    actor, on, address, keystore_path, label, vault, password
                )
            master = inputs.address(address, "address")
            traded = inputs.address(vault, "vault") if vault is not None else None
            _check_label(label)
            keystore = _local_path(keystore_path)
            agent = keystore_address(keystore)
            kind = AccountKind.VAULT if traded else AccountKind.MASTER
            checked = False
            reads = await self._venue(check_venue, "checking the agent wallet", on)
            if reads is not None:
                try:
                    kind = await venue.check_agent(reads, master, agent, traded)
                    checked = True
                except VenueUnreachable:
                    if check_venue:
                        raise
            follower = traded or master
            return await self._register(
                actor, on, follower, master, kind, agent, keystore, label, checked, password, replace_agent
            )

    async def _own_key_account_add(
        self,
        actor: Actor,
        on: str,
        address: str,
        keystore_path: Path | str,
        label: str | None,
        vault: str | None,
        password: str | None,
    ) -> AccountAdded:
        """A follower on a venue without agent wallets (GMX): the key that signs is the account."""
        caps = capabilities(on)
        account = inputs.address(address, "address")
        if vault is not None and not caps.vaults:
            raise InvalidInput(
                "vault", f"{caps.display} has no vaults or sub-accounts", f"none with --venue {on}"
            )
        _check_label(label)
        keystore = _local_path(keystore_path)
        signer = keystore_address(keystore)
        if signer != account:
            raise InvalidInput(
                "keystore",
                f"it holds the key of {signer}, not of {account}; {caps.display} has no agent wallets",
                f"a keystore of the account's own key with --venue {on}",
            )
        return await self._register(
            actor, on, account, account, AccountKind.MASTER, signer, keystore, label, False, password
        )

    async def _register(
        self,
        actor: Actor,
        on: str,
        follower: str,
        master: str,
        kind: AccountKind,
        agent: str,
        keystore: Path,
        label: str | None,
        checked: bool,
        password: str | None = None,
        replace_agent: bool = False,
    ) -> AccountAdded:
        if password is not None:  # last of the checks: opening a keystore takes ~1 s of scrypt
            await self._opens(keystore, password)
        existing = await self.ledger.get_account(on, follower)
        if existing is not None and (existing.agent_address, existing.keystore_path) != (
            agent,
            str(keystore),
        ):
            if not replace_agent:  # no file path here: the message may reach a chat
                raise Conflict(
                    f"account {follower} is already registered with agent {existing.agent_address} "
                    "(`mirrorbot account list` shows its keystore)"
                )
            before = await self.ledger.set_account_agent(on, follower, agent, str(keystore))
            if before is not None:
                await self._audit(
                    actor,
                    "account.agent",
                    {
                        "venue": on,
                        "address": follower,
                        "agent": agent,
                        "keystore": str(keystore),
                        "agent_before": before[0],
                        "keystore_kept": before[1],
                        "venue_checked": checked,
                    },
                )
                row = await self.ledger.get_account(on, follower)
                assert row is not None
                return AccountAdded(AccountView.of(row), False, checked, replaced=before[0])
        recorded = await self.ledger.add_account(
            venue=on,
            address=follower,
            kind=kind,
            label=label.strip() if label else None,
            agent_address=agent,
            keystore_path=str(keystore),
        )
        details = {
            "venue": on,
            "address": follower,
            "master": master,
            "kind": kind.value,
            "agent": agent,
            "keystore": str(keystore),
            "label": label,
            "venue_checked": checked,
            "created": recorded.created,
        }
        await self._audit(actor, "account.add", details)
        return AccountAdded(AccountView.of(recorded.row), recorded.created, checked)

    async def _opens(self, keystore_path: Path | str, password: str) -> None:
        try:
            await asyncio.to_thread(open_keystore, _local_path(keystore_path), password)
        except KeystoreError as exc:
            raise KeystoreError(
                f"{exc}: it must open with MIRROR_KEYSTORE_PASSWORD (`mirrorbot run` uses it)"
            ) from None

    async def account_remove(
        self, actor: Actor, address: str, *, keep_positions: bool = False, venue_name: str = VENUE
    ) -> AccountRemoved:
        """Unregister a follower. Refused while it follows a source, unless `keep_positions`: then each
        follow is removed first with its positions kept, detached (closing them needs the running bot and
        the account's key: `follow remove --close` first). The keystore file is never deleted: the
        caller is told where it is."""
        async with self._refusals(actor, "account.remove"):
            on = inputs.choice(venue_name, "venue", FOLLOWER_VENUES)
            follower = inputs.address(address, "address")
            row = await self.ledger.get_account(on, follower)
            if row is None:
                raise NotFound(f"account {follower} is not registered on {on} (see `mirrorbot account list`)")
            active = [p.source for p in await self.ledger.current_plans(follower) if _settings_of(p).active]
            if active and not keep_positions:
                raise Conflict(
                    f"account {follower} still follows {', '.join(active)}: unfollow first "
                    "(`mirrorbot follow remove SOURCE --close|--keep`) or pass --keep-positions"
                )
            for source in active:
                await self.follow_remove(actor, follower, source, close=False)
            await self.ledger.remove_account(on, follower)
            await self._audit(
                actor,
                "account.remove",
                {"address": follower, "venue": on, "unfollowed": active, "keystore_kept": row.keystore_path},
            )
            return AccountRemoved(AccountView.of(row), tuple(active), row.keystore_path)

    async def account_list(self, actor: Actor) -> tuple[AccountView, ...]:
        accounts = tuple(AccountView.of(row) for row in await self.ledger.accounts())
        await self._audit(actor, "account.list", {"count": len(accounts)})
        return accounts

    async def resolve_follower(self, follower: str | None) -> str:
        """The follower named (it must be registered), or the only registered account."""
        registered = [row.address for row in await self.ledger.accounts()]
        if follower is not None:
            address = inputs.address(follower, "account")
            if address not in registered:
                raise NotFound(f"account {address} is not registered (add it with `mirrorbot account add`)")
            return address
        if not registered:
            raise NotFound("no follower account is registered yet (add one with `mirrorbot account add`)")
        if len(registered) > 1:
            raise InvalidInput("account", "several accounts are registered: name one", ", ".join(registered))
        return registered[0]

    # ---- follows --------------------------------------------------------------------------------

    async def follow_add(
        self,
        actor: Actor,
        follower: str | None,
        source: str,
        tokens: str | list[str] | tuple[str, ...] | None = None,
        scaling: object = 100,
        scale: Mapping[str, object] | None = None,
        copy_current: bool = False,
        *,
        reassign: bool = False,
        check_venue: bool | None = None,
        **options: object,
    ) -> PlanChange:
        """Start following `source` for `follower` (version 1, or a new version of an unfollowed plan).

        `tokens` None = every token; `scaling` is the default k (%), `scale` per token; `options` take
        the names of docs/simulate.md's follow settings (OPTION_KEYS). A token another source holds for
        this follower is refused, naming it, unless the follower is flat in it (venue checked) or
        `reassign` confirms that the follower's position there is closed first.
        """
        async with self._refusals(actor, "follow.add"):
            follower, source = await self._pair(follower, source)
            async with self._plans_lock:
                current = await self.ledger.current_plan(follower, source)
                if current is not None and _settings_of(current).active:
                    raise Conflict(
                        f"{follower} already follows {source} (plan v{current.version}): "
                        "change it with `follow update`, or remove it first"
                    )
                doc = settings_to_json(FollowSettings())
                doc["copy_current"] = inputs.flag(copy_current, "copy_current")
                doc["scaling"] = {ALL_TOKENS: inputs.scaling(scaling, "scaling")}
                edit = _Edit(tokens, scale, options, None, reassign, check_venue)
                return await self._write_follow(actor, "follow.add", follower, source, doc, edit, None)

    async def follow_update(
        self,
        actor: Actor,
        follower: str | None,
        source: str,
        *,
        tokens: str | list[str] | tuple[str, ...] | None = None,
        scaling: object = None,
        scale: Mapping[str, object] | None = None,
        copy_current: bool | None = None,
        release: str | None = None,
        reassign: bool = False,
        check_venue: bool | None = None,
        **options: object,
    ) -> PlanChange:
        """Change a follow's settings: always a new plan version (never in place); none when nothing
        changes. An update that stops copying some token needs `release` = close or keep for them."""
        async with self._refusals(actor, "follow.update"):
            follower, source = await self._pair(follower, source)
            async with self._plans_lock:
                current = await self._active_plan(follower, source)
                doc = dict(current.settings)
                doc["release"] = None
                if copy_current is not None:
                    doc["copy_current"] = inputs.flag(copy_current, "copy_current")
                if scaling is not None:
                    doc["scaling"] = {
                        **doc.get("scaling", {}),
                        ALL_TOKENS: inputs.scaling(scaling, "scaling"),
                    }
                edit = _Edit(tokens, scale, options, release, reassign, check_venue)
                return await self._write_follow(actor, "follow.update", follower, source, doc, edit, current)

    async def follow_remove(
        self, actor: Actor, follower: str | None, source: str, *, close: bool
    ) -> PlanChange:
        """Unfollow: a new version with the follow off, and the follower's positions in its tokens
        closed (`close=True`) or kept, detached and no longer managed (`close=False`). No default."""
        async with self._refusals(actor, "follow.remove"):
            if not isinstance(close, bool):
                raise InvalidInput(
                    "close", "choose whether to close or keep the positions", "true (close), false (keep)"
                )
            follower, source = await self._pair(follower, source)
            async with self._plans_lock:
                current = await self._active_plan(follower, source)
                before = _settings_of(current)
                settings = replace(before, active=False, release="close" if close else "keep")
                plan = await self.ledger.new_plan_version(
                    follower, source, settings_to_json(settings), actor=actor.name
                )
            view = FollowView.of(plan)
            await self._audit(
                actor,
                "follow.remove",
                {
                    "follower": follower,
                    "source": source,
                    "version": plan.version,
                    "release": settings.release,
                },
            )
            return PlanChange(view, changed=True)

    async def follow_list(self, actor: Actor, follower: str | None = None) -> tuple[FollowView, ...]:
        """The current version of every follow (of one follower, or all), unfollowed ones included."""
        address = inputs.address(follower, "account") if follower is not None else None
        views = tuple(FollowView.of(plan) for plan in await self.ledger.current_plans(address))
        await self._audit(actor, "follow.list", {"follower": address, "count": len(views)})
        return views

    async def _pair(self, follower: str | None, source: str) -> tuple[str, str]:
        address = await self.resolve_follower(follower)
        leader = inputs.address(source, "source")
        if leader == address:
            raise InvalidInput("source", "an account cannot follow itself", "another wallet's address")
        return address, leader

    async def _active_plan(self, follower: str, source: str) -> FollowPlan:
        current = await self.ledger.current_plan(follower, source)
        if current is None or not _settings_of(current).active:
            raise NotFound(f"{follower} does not follow {source} (see `mirrorbot follow list`)")
        return current

    async def _write_follow(
        self,
        actor: Actor,
        action: str,
        follower: str,
        source: str,
        doc: dict[str, Any],
        edit: _Edit,
        current: FollowPlan | None,
    ) -> PlanChange:
        """Apply `edit` to the settings `doc`, validate, resolve token ownership, write the version."""
        for key, value in edit.options.items():
            if key not in OPTION_KEYS:
                raise InvalidInput(key, "unknown follow option", ", ".join(OPTION_KEYS))
            doc[key] = value
        if edit.tokens is not None:
            every = edit.tokens in (ALL_TOKENS, [ALL_TOKENS], (ALL_TOKENS,))
            doc["include"] = None if every else inputs.tokens(edit.tokens, "tokens")
        for coin, k in (edit.scale or {}).items():
            name = inputs.token(coin, "scale")
            doc["scaling"] = {**doc.get("scaling", {}), name: inputs.scaling(k, f"scale.{name}")}
        reads = await self._venue(edit.check_venue, "checking the tokens")
        listed: list[str] | None = None
        if reads is not None:
            try:
                listed = list(await venue.instruments(reads))
            except VenueUnreachable:
                if edit.check_venue:
                    raise
        if listed is not None:
            _respell(doc, listed)
        settings = settings_from_json(doc)
        coverage = Coverage.of(settings.config.filters)
        if current is not None:
            before = Coverage.of(_settings_of(current).config.filters)
            if not coverage.contains(before):
                if edit.release is None:
                    dropped = before.minus(coverage).describe()
                    raise InvalidInput(
                        "release",
                        f"this change stops copying {dropped}: close or keep those positions?",
                        "close, keep",
                    )
                settings = replace(settings, release=inputs.choice(edit.release, "release", RELEASE))
            if settings_to_json(settings) == settings_to_json(_settings_of(current)):
                return PlanChange(FollowView.of(current), changed=False, venue_checked=listed is not None)
        released = await self._release_to(
            actor, follower, source, coverage, edit.reassign, listed is not None
        )
        plan = await self.ledger.new_plan_version(
            follower, source, settings_to_json(settings), actor=actor.name
        )
        view = FollowView.of(plan)
        await self._audit(
            actor,
            action,
            {
                "follower": follower,
                "source": source,
                "version": plan.version,
                "settings": plan.settings,
                "taken_from": [f"{r.source} v{r.version}" for r in released],
            },
        )
        replaced = current.settings if current is not None and action == "follow.update" else None
        return PlanChange(
            view, changed=True, released=released, venue_checked=listed is not None, before=replaced
        )

    async def _release_to(
        self, actor: Actor, follower: str, source: str, wanted: Coverage, reassign: bool, venue_known: bool
    ) -> tuple[FollowView, ...]:
        """Make the other sources of `follower` give up the tokens `wanted` covers (SPEC §2), or refuse.

        Without confirmation this is allowed only when the venue shows the follower flat in every
        contested token; those plans then release with `keep` (there is nothing to close). Confirmed,
        they release with `close`. Holders are released before the new plan is written: if the
        second write failed, a token would be left with no source (safe), never with two.
        """
        holders: list[tuple[FollowPlan, FollowSettings, Coverage]] = []
        for plan in await self.ledger.current_plans(follower):
            settings = _settings_of(plan)
            if plan.source == source or not settings.active:
                continue
            theirs = Coverage.of(settings.config.filters)
            if not theirs.overlap(wanted).is_empty:
                holders.append((plan, settings, theirs))
        if not holders:
            return ()
        mode = "close"
        if not reassign:
            contested = [
                f"{theirs.overlap(wanted).describe()} (from {plan.source}, plan v{plan.version})"
                for plan, _, theirs in holders
            ]
            flat = venue_known and await self._flat_in(
                follower, [theirs.overlap(wanted) for _, _, theirs in holders]
            )
            if not flat:
                raise Conflict(
                    f"{follower} already copies {'; '.join(contested)}: a token follows one source at a "
                    "time. Exclude those tokens, or confirm the re-assignment, which closes the follower's "
                    "position in them first",
                    holders=tuple(plan.source for plan, _, _ in holders),
                )
            mode = "keep"
        released: list[FollowView] = []
        for plan, settings, theirs in holders:
            kept = theirs.minus(wanted)
            filters = replace(settings.config.filters, include=kept.include, exclude=kept.exclude)
            new = replace(settings.with_config(filters=filters), release=mode)
            row = await self.ledger.new_plan_version(
                follower, plan.source, settings_to_json(new), actor=actor.name
            )
            await self._audit(
                actor,
                "follow.release",
                {
                    "follower": follower,
                    "source": plan.source,
                    "version": row.version,
                    "to": source,
                    "release": mode,
                },
            )
            released.append(FollowView.of(row))
        return tuple(released)

    async def _flat_in(self, follower: str, contested: list[Coverage]) -> bool:
        on = next((row.venue for row in await self.ledger.accounts() if row.address == follower), VENUE)
        try:
            state = (await self._states([(on, follower)]))[follower]
        except VenueUnreachable:
            return False
        return not any(c.covers(p.coin) for p in state.positions for c in contested)

    # ---- reads ----------------------------------------------------------------------------------

    async def status(self, actor: Actor, *, decisions: int = 10) -> StatusView:
        """Accounts, follows (current plan versions), the latest decisions and ledger counts."""
        accounts = tuple(AccountView.of(row) for row in await self.ledger.accounts())
        follows = tuple(FollowView.of(plan) for plan in await self.ledger.current_plans())
        latest = tuple(DecisionView.of(row) for row in await self.ledger.last_decisions(decisions))
        counts = await self.ledger.counts()
        health: dict[str, Any] = {
            **await queries.runner_health(self.ledger, utcnow()),
            "last_leader_event_at": await self.ledger.last_leader_event_time(),
        }
        await self._audit(actor, "status", {})
        return StatusView(accounts, follows, latest, counts, health)

    async def follower_states(self, addresses: Sequence[str]) -> dict[str, AccountState]:
        """Each follower account's state, read on the venue it is registered for (pnl, equity)."""
        venues = {row.address: row.venue for row in await self.ledger.accounts()}
        return await self._states([(venues.get(a, VENUE), a) for a in addresses])

    async def _states(self, wanted: Sequence[tuple[str, str]]) -> dict[str, AccountState]:
        """Each (venue, address)'s state, read on that venue."""
        reads = self._reads("reading account states")
        by_venue: dict[str, list[str]] = {}
        for name, address in wanted:
            by_venue.setdefault(name, []).append(address)
        states: dict[str, AccountState] = {}
        for name, addresses in by_venue.items():
            states |= await venue.account_states(
                venue.opened(reads, name, f"reading {', '.join(addresses)}"), addresses
            )
        return states

    async def positions(self, actor: Actor, follower: str | None = None) -> PositionsView:
        """Source vs follower per coin, read from the venue now, with the drift from the target."""
        async with self._refusals(actor, "positions"):
            reads = await self._venue(True, "positions")
            assert reads is not None
            rows_by_address = {row.address: row.venue for row in await self.ledger.accounts()}
            if follower is not None:
                followers = [await self.resolve_follower(follower)]
            else:
                followers = list(rows_by_address)
            plans = [
                p
                for p in await self.ledger.current_plans()
                if p.follower in followers and _settings_of(p).active
            ]
            instruments = await venue.instruments(reads)
            mids = await venue.mids(reads)
            # Each account on its own venue: a follower on the one it is registered for, a source on the
            # one its plan names (`source_venue`), as the runner reads them.
            wanted = [(rows_by_address.get(f, VENUE), f) for f in followers]
            wanted += [(_settings_of(p).source_venue, p.source) for p in plans]
            states = await self._states(wanted)
            rows: list[PositionRow] = []
            for address in followers:
                managed: set[str] = set()
                for plan in (p for p in plans if p.follower == address):
                    targets = {}
                    for coin in {p.coin for p in states[plan.source].positions} | {
                        p.coin for p in states[address].positions
                    }:
                        decision = await self.ledger.latest_target(address, plan.source, coin)
                        if decision is not None:
                            targets[coin] = decision.target_after
                    follow = FollowState(states[address], states[plan.source], _settings_of(plan), targets)
                    made = follow_rows(follow, instruments, mids)
                    managed |= {row.coin for row in made}
                    rows += made
                rows += unmanaged_rows(states[address], managed, mids, instruments)
            await self._audit(actor, "positions", {"followers": followers})
            return PositionsView(tuple(rows), {a: s.equity for a, s in states.items()})

    async def why(self, actor: Actor, ref: str) -> WhyView:
        """The lineage of a fill, an order (oid or cloid) or a decision, read from the ledger alone."""
        async with self._refusals(actor, "why"):
            view, recorded = await why_lookup(self.ledger, ref)
            await self._audit(actor, "why", {"ref": recorded, "chains": view.chains})
            return view


def _respell(doc: dict[str, Any], listed: list[str]) -> None:
    """Check every coin the settings name against the venue's list, in the venue's spelling."""
    if doc.get("include"):
        doc["include"] = list(inputs.venue_tokens(inputs.tokens(doc["include"], "tokens"), listed, "tokens"))
    if doc.get("exclude"):
        doc["exclude"] = list(
            inputs.venue_tokens(inputs.tokens(doc["exclude"], "exclude"), listed, "exclude")
        )
    doc["scaling"] = {
        coin
        if coin == ALL_TOKENS
        else inputs.venue_tokens([inputs.token(coin, "scale")], listed, "scale")[0]: k
        for coin, k in (doc.get("scaling") or {}).items()
    }


def _check_label(label: str | None) -> None:
    if label is not None and (len(label) > MAX_LABEL or not label.isprintable() or not label.strip()):
        raise InvalidInput("label", "not a usable label", f"1 to {MAX_LABEL} printable characters")


def _local_path(path: Path | str) -> Path:
    """An absolute path (the runner may start elsewhere); `~` expanded."""
    return Path(path).expanduser().absolute()
