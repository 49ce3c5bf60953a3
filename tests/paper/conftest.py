"""A real localnet (asyncio, a free port) read through the real `HyperliquidVenue`, and paper venues on it."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_utils.crypto import keccak

from adapters.hyperliquid.venue import HyperliquidVenue
from adapters.localnet.server import Localnet, running_localnet
from adapters.paper import PaperVenue
from bench.rig import unpaced
from bot.domain import TradingAccount
from tests.conformance.conftest import unique_sdk_nonces

__all__ = ["Net", "net", "paper", "paper_address", "unique_sdk_nonces"]  # fixtures included

_keys = itertools.count()


@dataclass
class Net:
    """The localnet, the real venue client on it, and its control endpoint."""

    localnet: Localnet
    venue: HyperliquidVenue
    http: httpx.AsyncClient

    @property
    def url(self) -> str:
        return self.localnet.url

    async def control(self, message: dict[str, Any]) -> dict[str, Any]:
        answer = await self.http.post(f"{self.url}/_localnet", json=message)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def set_mid(self, coin: str, px: str) -> Decimal:
        await self.control({"type": "setMids", "mids": {coin: px}})
        return (await self.venue.mids())[coin]

    async def funded_account(self, usdc: str = "10000") -> TradingAccount:
        """A real account on the localnet (to compare the venue's answers with the paper's)."""
        wallet = Account.from_key(keccak(text=f"mirrorbot-paper-test-{next(_keys)}"))
        await self.control({"type": "fund", "user": wallet.address, "usdc": usdc})
        return TradingAccount(wallet.address, wallet.key.hex())


def paper_address() -> str:
    return str(Account.from_key(keccak(text=f"mirrorbot-paper-account-{next(_keys)}")).address)


@pytest.fixture
async def net() -> AsyncIterator[Net]:
    async with running_localnet(seed=3) as localnet, httpx.AsyncClient(timeout=10) as http:
        venue = HyperliquidVenue(localnet.url, data_dir=None, budget=unpaced())
        try:
            yield Net(localnet, venue, http)
        finally:
            await venue.close()


@pytest.fixture
def paper(net: Net) -> PaperVenue:
    return PaperVenue(net.venue)
