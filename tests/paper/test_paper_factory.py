"""The paper venue is built by the one venue factory (`bot.venues.open_paper_venue`) from the settings:
reads on the configured venue, paper accounts kept in the state file."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from adapters.hyperliquid.venue import HyperliquidVenue
from bot.config import load_settings
from bot.domain import OrderRequest, OrderStatus, TradingAccount
from bot.venues import approve_agent, open_paper_venue
from tests.paper.conftest import Net, paper_address

D = Decimal


async def test_the_factory_reads_the_configured_venue_and_keeps_the_accounts_in_the_state(
    net: Net, tmp_path: Path
) -> None:
    settings = load_settings(hl_api_url=net.url, data_dir=tmp_path, network="localnet")
    state = tmp_path / "runs" / "paper.json"  # its folder is made
    mid = await net.set_mid("ETH", "2500")
    address = paper_address()
    paper = await open_paper_venue(settings, state_path=state)
    try:
        assert isinstance(paper.reads, HyperliquidVenue) and paper.capabilities.name == "hyperliquid"
        assert (await paper.mids())["ETH"] == mid
        paper.open_account(address, D(1000))
        request = OrderRequest("ETH", True, D("0.1"), D("2600"), False, cloid=f"0x{7:032x}")
        (filled,) = await paper.place(TradingAccount(address, signer_key=""), [request])
        assert (filled.status, filled.avg_px) == (OrderStatus.FILLED, mid)
    finally:
        await paper.close()
    again = await open_paper_venue(settings, state_path=state)
    try:
        assert (await again.account(address)).size("ETH") == D("0.1")
    finally:
        await again.close()


async def test_a_state_the_factory_cannot_read_closes_the_reads_given_to_it(net: Net, tmp_path: Path) -> None:
    settings = load_settings(hl_api_url=net.url, data_dir=tmp_path, network="localnet")
    state = tmp_path / "paper.json"
    state.write_text('{"version": 99}\n')
    reads = HyperliquidVenue(net.url, data_dir=None)
    with pytest.raises(ValueError, match="paper state version 99"):
        await open_paper_venue(settings, state_path=state, reads=reads)
    assert reads._http.is_closed  # closed by the factory: the caller holds no venue to close


async def test_the_factory_refuses_an_agent_approval_a_venue_cannot_make(net: Net, tmp_path: Path) -> None:
    """`approve_agent` signs with a master key: only a venue that really approves agents may be handed one
    (the paper venue keeps no agents; it must say so, not pretend)."""
    settings = load_settings(hl_api_url=net.url, data_dir=tmp_path, network="localnet")
    paper = await open_paper_venue(settings, state_path=tmp_path / "paper.json")
    try:
        with pytest.raises(NotImplementedError, match="agent"):
            await approve_agent(paper, "0x" + "11" * 32, "0x" + "22" * 20, "demo")
    finally:
        await paper.close()
