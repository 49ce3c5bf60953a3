"""The keystore and account commands of `MirrorService`: agent keystores (new, import, open), follower
accounts (add with the venue's agent check, replace the agent, remove, list). Removing an account
unfollows first, so these stand on the follow commands.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from eth_account.signers.local import LocalAccount

from bot.ledger import AccountKind
from bot.service import inputs, venue_reads
from bot.service.actor import Actor
from bot.service.core import FOLLOWER_VENUES, VENUE, _check_label, _local_path, _settings_of
from bot.service.errors import Conflict, InvalidInput, KeystoreError, NotFound, VenueUnreachable
from bot.service.follows import FollowCommands
from bot.service.keystore import keystore_address, open_keystore, parse_private_key, write_keystore
from bot.service.views import AccountAdded, AccountRemoved, AccountView, KeystoreView
from bot.venues import capabilities


class AccountCommands(FollowCommands):
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
                    kind = await venue_reads.check_agent(reads, master, agent, traded)
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
