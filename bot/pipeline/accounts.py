"""The follower accounts a runner trades: opened from their keystores at start-up, and kept equal to the
ledger's list while running (an account added is loaded, one removed is dropped, one whose agent was
replaced is loaded again with the new key)."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence

from bot.alerts import Alert, AlertBus, AlertKind
from bot.config import Settings
from bot.domain import TradingAccount
from bot.ledger import Account, AccountKind, Ledger
from bot.ledger.ids import normalise_account
from bot.logs import log_event
from bot.pipeline.turns import between
from bot.service import Actor, MirrorService, ServiceError
from bot.venues import HYPERLIQUID, capabilities

log = logging.getLogger(__name__)


class RunnerError(Exception):
    """The bot cannot start: the message says what to fix (no secrets in it)."""


async def load_accounts(
    ledger: Ledger,
    password: str | None,
    venue_name: str = HYPERLIQUID,
    alerts: AlertBus | None = None,
    *,
    rows: Sequence[Account] | None = None,
) -> list[TradingAccount]:
    """Every follower registered for `venue_name` with its signing key decrypted from its keystore (an
    agent wallet's on Hyperliquid; on GMX, which has no agents, the account's own key). `rows`: just
    these accounts, already read (one registered while running).

    An account whose keystore cannot be opened (wrong password, file gone, the wrong key) is skipped
    with a log line and an alert naming the account, never the key: the others are copied. Only when
    no account at all can be opened at start-up (`rows` unset) does the runner refuse to start."""
    starting = rows is None
    if rows is None:
        rows = [row for row in await ledger.accounts() if row.venue == venue_name]
    if rows and not password:
        raise RunnerError("MIRROR_KEYSTORE_PASSWORD is needed to open the follower accounts' keystores")
    service = MirrorService(ledger)
    actor = Actor.system("runner")
    accounts: list[TradingAccount] = []
    skipped: list[str] = []
    async for row in between(rows):  # a turn for the heartbeats and the bus between keystores
        try:
            accounts.append(await _open_account(service, actor, row, password or "", venue_name))
        except RunnerError as exc:
            skipped.append(str(exc))
            log_event(log, "account_skipped", level=logging.ERROR, account=row.address, reason=str(exc))
            if alerts is not None:
                message = f"not copied: {exc}"
                alerts.publish(Alert(AlertKind.FAILURE, "account_skipped", message, row.address))
    if rows and not accounts and starting:
        raise RunnerError("; ".join(skipped))
    return accounts


async def _open_account(
    service: MirrorService, actor: Actor, row: Account, password: str, venue_name: str
) -> TradingAccount:
    if not row.keystore_path:
        raise RunnerError(f"account {row.address} has no keystore: register it with `mirrorbot account add`")
    try:
        key = await service.load_key(actor, row.keystore_path, password)
    except ServiceError as exc:
        raise RunnerError(f"account {row.address}: {exc}") from None
    caps = capabilities(venue_name)
    if not caps.agent_wallets and key.address.lower() != row.address.lower():
        raise RunnerError(
            f"account {row.address} ({venue_name}): its keystore holds the key of {key.address.lower()}; "
            f"{caps.display} has no agent wallets, so the keystore must hold the account's own key"
        )
    traded_for = row.address if row.kind in (AccountKind.VAULT.value, AccountKind.SUB_ACCOUNT.value) else None
    return TradingAccount(row.address, key.key.hex(), vault_address=traded_for)


class AccountRoster:
    """Which accounts are loaded and from which keystore; those that would not open are retried only
    once their row names another keystore."""

    def __init__(self, ledger: Ledger, settings: Settings, venue_name: str, alerts: AlertBus) -> None:
        self.ledger = ledger
        self.settings = settings
        self.venue_name = venue_name
        self.alerts = alerts
        self._unloadable: dict[str, str | None] = {}  # address → the keystore path that failed to open
        self._keystores: dict[str, str | None] = {}  # address → the keystore its loaded key came from

    def _password(self) -> str | None:
        password = self.settings.keystore_password
        return password.get_secret_value() if password else None

    async def load(self) -> list[TradingAccount]:
        """Start-up: every account registered for the venue (`load_accounts`)."""
        accounts = await load_accounts(self.ledger, self._password(), self.venue_name, self.alerts)
        loaded = {normalise_account(a.address) for a in accounts}
        for row in await self.ledger.accounts():
            address = normalise_account(row.address)
            if row.venue == self.venue_name and address not in loaded:
                self._unloadable[address] = row.keystore_path
            elif row.venue == self.venue_name:
                self._keystores[address] = row.keystore_path
        return accounts

    async def listed(self) -> dict[str, Account]:
        """The venue's accounts as the ledger lists them now, by normalised address."""
        rows = await self.ledger.accounts()
        return {normalise_account(r.address): r for r in rows if r.venue == self.venue_name}

    def gone(self, loaded: Collection[str], rows: dict[str, Account]) -> list[str]:
        """The loaded accounts to drop: no longer listed, or re-keyed (the agent was replaced)."""
        return [a for a in loaded if a not in rows or self._rekeyed(rows[a])]

    def dropped(self, address: str) -> None:
        self._keystores.pop(address, None)

    def still_wanted(self, address: str) -> bool:
        """Whether an account listed for this load is still to be loaded (`load_new` asks before each:
        a long load may outlive the reason it was listed for). All of them, here."""
        return True

    def _rekeyed(self, row: Account) -> bool:
        """Whether a loaded account's row now names another keystore (its agent was replaced)."""
        address = normalise_account(row.address)
        return address in self._keystores and self._keystores[address] != row.keystore_path

    async def load_new(self, loaded: Collection[str], rows: dict[str, Account]) -> list[TradingAccount]:
        """The listed accounts not loaded yet, each opened on its own: a keystore that cannot be opened
        is skipped (and alerted) and never stops the others."""
        self._unloadable = {a: p for a, p in self._unloadable.items() if a in rows}
        fresh = [
            row
            for address, row in rows.items()
            if address not in loaded
            and not (address in self._unloadable and self._unloadable[address] == row.keystore_path)
        ]
        accounts: list[TradingAccount] = []
        async for row in between(fresh):
            address = normalise_account(row.address)
            if not self.still_wanted(address):
                continue
            try:  # a keystore that does not open is skipped and alerted by load_accounts itself
                opened = await load_accounts(
                    self.ledger,
                    self._password(),
                    self.venue_name,
                    self.alerts,
                    rows=[row],  # read by the caller: not the whole table again per account
                )
            except Exception as exc:  # no password at all, or the ledger read failed: name the type only
                log.exception("loading account %s failed", address)
                opened, why = [], exc if isinstance(exc, RunnerError) else type(exc).__name__
                self.alerts.publish(
                    Alert(AlertKind.FAILURE, "account_skipped", f"not copied: {why}", address)
                )
            if not opened:  # retried once its row names another keystore
                self._unloadable[address] = row.keystore_path
            else:
                self._keystores[address] = row.keystore_path
            accounts += opened
        return accounts
