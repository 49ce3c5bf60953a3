"""Cross-venue end to end through the real `Runner`: a GMX source trading on the EVM double, a Hyperliquid
follower on the localnet. The bot builds its GMX venue from the settings (`MIRROR_GMX_RPC_URL` → the
double's HTTP JSON-RPC bridge, `MIRROR_GMX_DEPLOYMENT_FILE` → the doubles' addresses), reads the source's
equity and positions there, watches its `PositionIncrease`/`PositionDecrease` logs, and trades the
follower on the localnet at the localnet's mids. Positions are the venues' own figures.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select
from typer.testing import CliRunner

from adapters.gmx.network import deployment_to_dict
from adapters.gmx.venue import GmxVenue
from bot.cli import app
from bot.config import load_settings
from bot.domain import OrderRequest, OrderStatus, Tif, TradingAccount
from bot.ledger import CopyInstruction, LeaderEvent
from bot.ledger.db import session_factory
from bot.pipeline.runner import Runner, RunnerError
from tests.e2e.support import PASSWORD, QUIET, World
from tests.gmx.evm import GmxChainDouble, new_wallet
from tests.gmx.rpc import RpcBridge, write_deployment
from tests.waiting import wait_until

D = Decimal


class GmxSource:
    """A GMX trader on the double, trading through its own client as any GMX user would."""

    def __init__(self, chain: GmxChainDouble, account: TradingAccount) -> None:
        self.chain, self.account = chain, account
        self.client = GmxVenue(chain.venue_w3(), chain.deployment, poll_interval_s=0.02, keeper_timeout_s=5)

    @property
    def address(self) -> str:
        return self.account.address.lower()

    async def trade(self, coin: str, is_buy: bool, size: str) -> None:
        """One GMX market order (a flip is one multicall: the keeper executes both orders in one block)."""
        mid = (await self.client.mids())[coin]
        px = mid * D("1.01") if is_buy else mid * D("0.99")
        (result,) = await self.client.place(
            self.account, [OrderRequest(coin, is_buy, D(size), px, False, Tif.IOC)]
        )
        assert result.status is OrderStatus.FILLED, result

    async def top_up(self, equity: str) -> None:
        """Mint the USDC that brings the GMX equity back to exactly `equity` (fees paid since)."""
        missing = D(equity) - (await self.client.account(self.address)).equity
        assert missing >= 0
        if missing:
            await self.chain.fund(self.account.address, missing, eth=0)
        assert (await self.client.account(self.address)).equity == D(equity)


async def gmx_source(chain: GmxChainDouble, usdc: str) -> GmxSource:
    wallet = new_wallet("cross-source")
    await chain.fund(wallet.address, D(usdc))
    return GmxSource(chain, TradingAccount(wallet.address, wallet.key.hex()))


async def start_runner(world: World, bridge: RpcBridge, deployment: Path) -> Runner:
    """The real runner, its GMX venue built from the settings (as `mirrorbot run` does)."""
    settings = load_settings(
        hl_api_url=world.url,
        data_dir=world.tmp / "data",
        database_url=world.db_url,
        keystore_password=PASSWORD,
        gmx_rpc_url=bridge.url,
        gmx_deployment_file=deployment,
        gmx_poll_interval_s=0.05,
    )
    world.runner = Runner(
        settings, venue=world.venue(), ledger=world.ledger, options=QUIET, alerts=world.alerts
    )
    await world.runner.start()
    return world.runner


async def decisions(world: World, follower: str) -> list[CopyInstruction]:
    """The follower's decisions on source changes (those with a leader event), oldest first."""
    assert world.ledger is not None
    query = (
        select(CopyInstruction)
        .where(CopyInstruction.follower == follower, col(CopyInstruction.leader_event_id).is_not(None))
        .order_by(col(CopyInstruction.created_at))
    )
    async with session_factory(world.ledger.engine)() as session:
        return list((await session.exec(query)).all())


async def leader_events(world: World, source: str) -> list[LeaderEvent]:
    assert world.ledger is not None
    query = select(LeaderEvent).where(LeaderEvent.source == source).order_by(col(LeaderEvent.id))
    async with session_factory(world.ledger.engine)() as session:
        return list((await session.exec(query)).all())


async def test_a_gmx_source_is_mirrored_onto_a_hyperliquid_follower_by_the_runner(
    world: World, chain: GmxChainDouble, bridge: RpcBridge, tmp_path: Path
) -> None:
    """Worked example 1's ratio (E_S 100,000 on GMX, E_F 1,000 on Hyperliquid, k 100 → ρ 0.01): open,
    increases, a decrease; a flip executed in one block is ONE follower order; a flip in two blocks is a
    close then an open."""
    await world.set_mids(ETH="3000")
    source = await gmx_source(chain, "100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, source.address, source_venue="gmx")
    runner = await start_runner(world, bridge, write_deployment(chain, tmp_path / "gmx.json"))
    assert runner.sources is not None and runner.sources.name(source.address) == "gmx"
    assert runner.copier is not None and runner.copier.source_states[source.address].equity == D(100_000)

    for is_buy, size, expected in [
        (True, "10", "0.1"),
        (True, "5", "0.15"),
        (True, "5", "0.2"),
        (False, "4", "0.16"),
    ]:
        await source.trade("ETH", is_buy, size)
        await world.follower_at(follower, "ETH", expected)

    # Equities back to the example's exact figures, read through each one's own venue.
    await world.settle()
    await world.top_up(follower, "1000")
    await source.top_up("100000")
    await world.settle()
    assert runner.copier.source_states[source.address].equity == D(100_000)
    await source.trade("ETH", False, "21")  # +16 → −5: decrease 16 and open a short of 5, one block
    await world.follower_at(follower, "ETH", "-0.05")
    await source.trade("ETH", True, "5")  # −5 → 0, then 0 → +3 in the next block
    await source.trade("ETH", True, "3")
    await world.follower_at(follower, "ETH", "0.03")

    made = await decisions(world, follower)
    assert [(d.event_kind, d.delta) for d in made] == [
        ("open", D("0.1")),
        ("increase", D("0.05")),
        ("increase", D("0.05")),
        ("decrease", D("-0.04")),
        ("flip", D("-0.21")),
        ("close", D("0.05")),
        ("open", D("0.03")),
    ]
    sent = [r for r in await world.stats() if r["action"] == "order" and str(r["user"]).lower() == follower]
    assert len(sent) == len(made)  # one follower order per decision: the one-block flip is one order
    events = {e.id: e for e in await leader_events(world, source.address)}
    assert {events[d.leader_event_id].venue for d in made if d.leader_event_id is not None} == {"gmx"}
    assert [(e.old_size, e.new_size) for e in events.values()][4] == (D(16), D(-5))


async def test_follow_add_source_venue_gmx_on_the_cli_leads_to_copying(
    world: World, chain: GmxChainDouble, bridge: RpcBridge, tmp_path: Path
) -> None:
    await world.set_mids(ETH="3000")
    source = await gmx_source(chain, "100000")
    follower = await world.master_follower("1000")
    env = {
        "MIRROR_DATABASE_URL": world.db_url,
        "MIRROR_HL_API_URL": world.url,
        "MIRROR_DATA_DIR": str(tmp_path / "cli"),
        "MIRROR_KEYSTORE_PASSWORD": PASSWORD,
    }
    added = await asyncio.to_thread(
        CliRunner().invoke, app, ["follow", "add", source.address, "--source-venue", "gmx", "--json"], env=env
    )
    assert added.exit_code == 0, added.stderr
    await start_runner(world, bridge, write_deployment(chain, tmp_path / "gmx.json"))
    await source.trade("ETH", True, "10")
    await world.follower_at(follower, "ETH", "0.1")
    await source.trade("ETH", False, "10")
    await world.follower_at(follower, "ETH", "0")


async def test_a_gmx_coin_the_follower_venue_lacks_is_skipped_with_an_alert(
    world: World, chain: GmxChainDouble, bridge: RpcBridge, tmp_path: Path
) -> None:
    """A GMX market whose coin Hyperliquid does not list: the change is recorded and alerted, not copied."""
    data: dict[str, Any] = deployment_to_dict(chain.deployment)
    for market in data["markets"]:
        if market["coin"] == "BTC":
            market["coin"] = "NOSUCHCOIN"
    deployment = tmp_path / "renamed.json"
    deployment.write_text(json.dumps(data), encoding="utf-8")
    await world.set_mids(ETH="3000")
    source = await gmx_source(chain, "100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, source.address, source_venue="gmx")
    await start_runner(world, bridge, deployment)

    await source.trade("BTC", True, "0.1")  # the bot sees it as NOSUCHCOIN
    await source.trade("ETH", True, "10")  # and copying goes on
    await world.follower_at(follower, "ETH", "0.1")

    async def skipped() -> list[str | None]:
        return [a.coin for a in world.alerts.recent if a.reason == "no_follower_market"]

    await wait_until(skipped, "the no_follower_market alert", equals=["NOSUCHCOIN"])
    assert [e.coin for e in await leader_events(world, source.address)] == ["NOSUCHCOIN", "ETH"]
    assert [d.coin for d in await decisions(world, follower)] == ["ETH"]


async def test_the_runner_refuses_a_gmx_follow_without_an_rpc_url(world: World) -> None:
    follower = await world.master_follower("1000")
    await world.follow(follower, "0x" + "5e" * 20, source_venue="gmx")
    settings = load_settings(
        hl_api_url=world.url,
        data_dir=world.tmp / "data",
        database_url=world.db_url,
        keystore_password=PASSWORD,
    )
    world.runner = Runner(
        settings, venue=world.venue(), ledger=world.ledger, options=QUIET, alerts=world.alerts
    )
    with pytest.raises(RunnerError, match="MIRROR_GMX_RPC_URL: not set"):
        await world.runner.start()


async def test_reconciliation_reads_a_gmx_source_on_gmx_and_applies_a_missed_change(
    world: World, chain: GmxChainDouble, bridge: RpcBridge, tmp_path: Path
) -> None:
    await world.set_mids(ETH="3000")
    source = await gmx_source(chain, "100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, source.address, source_venue="gmx")
    runner = await start_runner(world, bridge, write_deployment(chain, tmp_path / "gmx.json"))
    await source.trade("ETH", True, "10")
    await world.follower_at(follower, "ETH", "0.1")
    runner.watches["gmx"].intake.close()  # the GMX watch stops: the next trade is never seen as fills
    await source.trade("ETH", True, "5")
    await world.settle()
    assert runner.reconciler is not None
    report = await runner.reconciler.run()
    assert (report.missed_changes, report.unknown_reads) == (1, [])
    assert runner.copier is not None and runner.copier.source_states[source.address].size("ETH") == D(15)
    assert await world.position(follower, "ETH") == D("0.15")
