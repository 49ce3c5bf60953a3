"""The ledger's follower accounts: registered once per venue and address, keystores encrypted only."""

from __future__ import annotations

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.ledger.base import LedgerBase
from bot.ledger.ids import normalise_account
from bot.ledger.models import Account, AccountKind
from bot.ledger.values import Recorded, check_keystore, choice_field


class AccountStore(LedgerBase):
    # ---- accounts -------------------------------------------------------------------------------

    async def add_account(
        self,
        *,
        venue: str,
        address: str,
        kind: AccountKind = AccountKind.MASTER,
        label: str | None = None,
        agent_address: str | None = None,
        keystore_path: str | None = None,
        keystore_json: str | None = None,
    ) -> Recorded[Account]:
        """Register a follower account (idempotent by venue + address; the first registration stays)."""
        choice_field("kind", str(kind), (k.value for k in AccountKind))
        if keystore_json is not None:
            check_keystore(keystore_json)
        row = Account(
            venue=venue,
            address=normalise_account(address),
            kind=AccountKind(kind).value,
            label=label,
            agent_address=normalise_account(agent_address) if agent_address else None,
            keystore_path=keystore_path,
            keystore_json=keystore_json,
        )
        async with self._tx() as session:
            created = await self._insert_ignore(session, row)
            stored = await self._account(session, venue, row.address)
        assert stored is not None
        return Recorded(stored, created)

    async def get_account(self, venue: str, address: str) -> Account | None:
        async with self._tx() as session:
            return await self._account(session, venue, normalise_account(address))

    async def set_account_agent(
        self, venue: str, address: str, agent_address: str, keystore_path: str
    ) -> tuple[str | None, str | None] | None:
        """Point a registered account at a new agent wallet and keystore (the old file is not touched).
        The (agent, keystore path) before, or None when there was no such account."""
        async with self._tx() as session:
            row = await self._account(session, venue, normalise_account(address))
            if row is None:
                return None
            before = (row.agent_address, row.keystore_path)
            row.agent_address = normalise_account(agent_address)
            row.keystore_path = keystore_path
            session.add(row)
        return before

    async def remove_account(self, venue: str, address: str) -> Account | None:
        """Delete an account's row (its history stays: plans, decisions, orders and fills are keyed by
        address). The removed row, or None when there was none."""
        async with self._tx() as session:
            row = await self._account(session, venue, normalise_account(address))
            if row is not None:
                await session.delete(row)
            return row

    async def accounts(self) -> list[Account]:
        async with self._tx() as session:
            return list((await session.exec(select(Account).order_by(col(Account.id)))).all())

    async def account_addresses(self, *, address: str | None = None, limit: int | None = None) -> list[str]:
        """The registered accounts' addresses (on any venue; only `address`, if registered, when given),
        in the order they were added, at most `limit`: what resolving a follower needs, without reading
        every row of a table of thousands each time."""
        query = select(Account.address).group_by(col(Account.address)).order_by(func.min(Account.id))
        if address is not None:
            query = query.where(Account.address == normalise_account(address))
        async with self._tx() as session:
            return list((await session.exec(query.limit(limit))).all())

    @staticmethod
    async def _account(session: AsyncSession, venue: str, address: str) -> Account | None:
        query = select(Account).where(Account.venue == venue, Account.address == address)
        return (await session.exec(query)).first()
