"""The conformance suite's harness for `PaperVenue`: Hyperliquid's harness (the localnet on a thread)
with every venue wrapped in a paper venue and every trading account a paper account."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters.paper import PaperVenue
from bot.domain import TradingAccount, Venue
from tests.conformance.harness import HyperliquidHarness


class PaperHarness(HyperliquidHarness):
    name = "paper"

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        self._accounts: dict[str, Decimal] = {}  # paper accounts, opened on every paper venue made
        self._papers: list[PaperVenue] = []

    def make_venue(self, **options: Any) -> PaperVenue:  # type: ignore[override]
        paper = PaperVenue(super().make_venue(**options))
        for address, equity in self._accounts.items():
            paper.open_account(address, equity)
        self._papers.append(paper)
        return paper

    def _open(self, address: str, usdc: str) -> None:
        self._accounts[address] = Decimal(usdc)
        for paper in self._papers:
            paper.open_account(address, Decimal(usdc))

    async def new_account(self, usdc: str = "100000") -> TradingAccount:
        account = await super().new_account("1")  # a real address (the venue knows it), a paper balance
        self._open(account.address, usdc)
        return account

    async def new_agent_account(self, venue: Venue, usdc: str = "100000") -> TradingAccount:
        assert isinstance(venue, PaperVenue)
        account = await super().new_agent_account(venue.reads, "1")  # approved through the real flow
        self._open(account.address, usdc)
        return account

    async def new_vault_account(self, usdc: str = "100000") -> TradingAccount:
        account = await super().new_vault_account("1")
        self._open(account.address, usdc)
        return account

    async def is_streaming(self, venue: Venue) -> bool:
        assert isinstance(venue, PaperVenue)
        return await super().is_streaming(venue.reads)

    def limit_streams(self, venue: Venue, users: int) -> None:
        assert isinstance(venue, PaperVenue)
        super().limit_streams(venue.reads, users)  # the paper's watch is its reads' watch
