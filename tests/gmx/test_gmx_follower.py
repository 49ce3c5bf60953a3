"""A GMX follower copied by the real `Runner` (MIRROR_FOLLOWER_VENUE=gmx): a GMX source and a GMX follower
on the EVM double, both reached over HTTP JSON-RPC; the runner builds its venue from the settings, loads the
follower registered with `account add --venue gmx` (its own key: no agents on GMX), and every order goes
through the two-step keeper execution. Sizes are worked example 1's: GMX orders are USD-sized, and at a
constant oracle price the executed tokens are exactly the ones asked for.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from eth_utils.address import to_checksum_address
from sqlmodel import select

from adapters.gmx.venue import GmxVenue
from bot.alerts import AlertKind
from bot.config import Settings, load_settings
from bot.domain import OrderStatus, TradingAccount
from bot.ledger import Fill, LeaderEvent, VenueOrder
from bot.ledger.db import session_factory
from bot.pipeline.accounts import load_accounts
from bot.pipeline.oms import RetryPolicy
from bot.pipeline.runner import Runner, RunnerOptions
from bot.service import InvalidInput
from bot.service.owner import OwnerService
from bot.venues import VenueConfigError, build_venue
from tests.e2e.support import ACTOR, PASSWORD, QUIET, World
from tests.gmx.evm import GmxChainDouble, new_wallet
from tests.gmx.rpc import RpcBridge, write_deployment
from tests.gmx.test_cross_venue import GmxSource, decisions, gmx_source
from tests.waiting import wait_until

D = Decimal


async def gmx_follower(world: World, chain: GmxChainDouble, usdc: str) -> GmxSource:
    """A funded GMX wallet registered as a GMX follower (its keystore holds its own key)."""
    assert world.service is not None
    wallet = new_wallet("gmx-follower")
    await chain.fund(wallet.address, D(usdc))
    keystore = await world._keystore(wallet.key.hex(), "gmx-follower")
    added = await world.service.account_add(ACTOR, wallet.address, keystore, venue_name="gmx")
    assert (added.account.address, added.venue_checked) == (wallet.address.lower(), False)
    return GmxSource(chain, TradingAccount(wallet.address, wallet.key.hex()))


def gmx_settings(world: World, bridge: RpcBridge, deployment: Path, **overrides: object) -> Settings:
    return load_settings(
        hl_api_url=world.url,
        data_dir=world.tmp / "data",
        database_url=world.db_url,
        keystore_password=PASSWORD,
        gmx_rpc_url=bridge.url,
        gmx_deployment_file=deployment,
        gmx_poll_interval_s=0.05,
        **overrides,
    )


async def gmx_size(client: GmxVenue, address: str, coin: str) -> Decimal:
    return (await client.account(address)).size(coin)


async def test_a_gmx_follower_copies_a_gmx_source_through_the_runner(
    world: World, chain: GmxChainDouble, bridge: RpcBridge, tmp_path: Path
) -> None:
    """Worked example 1 (E_S 100,000, E_F 1,000, k 100 → ρ 0.01), source and follower both on GMX."""
    source = await gmx_source(chain, "100000")
    follower = await gmx_follower(world, chain, "1000")
    await world.follow(follower.address, source.address, source_venue="gmx")
    settings = gmx_settings(
        world, bridge, write_deployment(chain, tmp_path / "gmx.json"), follower_venue="gmx"
    )
    world.runner = Runner(settings, ledger=world.ledger, options=QUIET, alerts=world.alerts)
    runner = world.runner
    await runner.start()
    assert isinstance(runner.venue, GmxVenue) and runner.venue_name == "gmx"
    assert runner.copier is not None and list(runner.copier.desks) == [follower.address]
    assert runner.sources is not None and runner.sources.venue(source.address) is runner.venue
    assert runner.scheduler is not None and runner.scheduler.get_job("dead_man_switch") is None

    async def follower_at(size: str) -> None:
        await wait_until(lambda: gmx_size(follower.client, follower.address, "ETH"), size, equals=D(size))

    steps = [(True, "10", "0.1"), (True, "5", "0.15")]
    for is_buy, size, expected in steps:
        await source.trade("ETH", is_buy, size)
        await follower_at(expected)
    await world.settle()
    await source.top_up("200000")  # source equity doubles: nothing (the ratio is locked while open)
    await world.settle()
    for is_buy, size, expected in [(True, "5", "0.2"), (False, "4", "0.16"), (False, "16", "0")]:
        await source.trade("ETH", is_buy, size)
        await follower_at(expected)
    await world.settle()
    await follower.top_up("1000")  # fees paid since: back to the example's E_F
    await source.top_up("200000")
    await world.settle()
    await source.trade("ETH", True, "10")  # a new open at ρ = 1,000 / 200,000 = 0.005
    await follower_at("0.05")
    await world.settle()

    made = await decisions(world, follower.address)
    assert [(d.event_kind, d.delta) for d in made] == [
        ("open", D("0.1")),
        ("increase", D("0.05")),
        ("increase", D("0.05")),
        ("decrease", D("-0.04")),
        ("close", D("-0.16")),
        ("open", D("0.05")),
    ]
    assert world.ledger is not None
    async with session_factory(world.ledger.engine)() as session:
        leader = select(LeaderEvent).where(LeaderEvent.source == source.address)
        events = {e.id: e for e in (await session.exec(leader)).all()}
        orders = (await session.exec(select(VenueOrder))).all()
    assert {events[d.leader_event_id].venue for d in made if d.leader_event_id is not None} == {"gmx"}
    assert sorted((o.venue, o.status) for o in orders) == [("gmx", "filled")] * len(made)
    # Every order's fills (the keeper's PositionIncrease/Decrease events) recorded against it.
    oids = {o.oid for o in orders}
    await wait_until(lambda: _filled_oids(world, follower.address), "the follower's fills", equals=oids)


async def _filled_oids(world: World, follower: str) -> set[int | None]:
    assert world.ledger is not None
    async with session_factory(world.ledger.engine)() as session:
        fills = (await session.exec(select(Fill).where(Fill.account == follower))).all()
    assert {(f.venue, f.cloid is not None) for f in fills} <= {("gmx", True)}
    return {f.oid for f in fills}


async def start_gmx_runner(
    world: World, bridge: RpcBridge, deployment: Path, options: RunnerOptions = QUIET, **venue: Any
) -> Runner:
    """The runner as `mirrorbot run` builds it with MIRROR_FOLLOWER_VENUE=gmx; `venue` options (a short
    keeper timeout) replace the settings' venue by an equal one built here."""
    settings = gmx_settings(world, bridge, deployment, follower_venue="gmx")
    client = None
    if venue:
        built = build_venue(settings)
        assert isinstance(built, GmxVenue) and built.pending_status is OrderStatus.UNKNOWN
        await built.close()
        client = GmxVenue.connect(
            bridge.url,
            "arbitrum",
            deployment_file=deployment,
            poll_interval_s=0.05,
            pending_status=built.pending_status,
            **venue,
        )
    world.runner = Runner(settings, venue=client, ledger=world.ledger, options=options, alerts=world.alerts)
    await world.runner.start()
    return world.runner


async def test_a_gmx_follower_flip_is_one_transaction_and_its_fills_are_all_recorded(
    world: World, chain: GmxChainDouble, bridge: RpcBridge, tmp_path: Path
) -> None:
    """A flip is one multicall (a decrease and an increase: two GMX orders, one answer): the fills of
    both orders are recorded against the one order the ledger knows."""
    source = await gmx_source(chain, "100000")
    follower = await gmx_follower(world, chain, "1000")
    await world.follow(follower.address, source.address, source_venue="gmx")
    runner = await start_gmx_runner(world, bridge, write_deployment(chain, tmp_path / "gmx.json"))
    await source.trade("ETH", True, "10")
    await wait_until(lambda: gmx_size(follower.client, follower.address, "ETH"), equals=D("0.1"))
    await source.trade("ETH", False, "15")  # +10 → −5 in one block
    await wait_until(lambda: gmx_size(follower.client, follower.address, "ETH"), equals=D("-0.05"))
    await world.settle()

    made = await decisions(world, follower.address)
    assert [(d.event_kind, d.delta) for d in made] == [("open", D("0.1")), ("flip", D("-0.15"))]
    assert world.ledger is not None
    async with session_factory(world.ledger.engine)() as session:
        orders = (await session.exec(select(VenueOrder))).all()
    assert sorted(o.status for o in orders) == ["filled", "filled"]
    oids = {o.oid for o in orders}
    await wait_until(lambda: _filled_oids(world, follower.address), "the follower's fills", equals=oids)
    async with session_factory(world.ledger.engine)() as session:
        fills = (await session.exec(select(Fill).where(Fill.account == follower.address))).all()
    by_oid: dict[int | None, Decimal] = {}
    for fill in fills:
        by_oid[fill.oid] = by_oid.get(fill.oid, D(0)) + fill.size
    assert sorted(by_oid.values()) == [D("0.1"), D("0.15")]  # the flip: 0.1 closed + 0.05 opened
    assert not [a for a in world.alerts.recent if "fill" in a.reason]

    # The kill switch on a GMX follower: nothing of ours rests on GMX to cancel, the position is closed.
    assert world.service is not None and runner.controls is not None
    await OwnerService(world.service).stop(ACTOR, [follower.address])
    await runner.sync_plans()
    await wait_until(lambda: gmx_size(follower.client, follower.address, "ETH"), "closed", equals=D(0))


async def test_an_order_the_keeper_has_not_executed_is_an_open_outcome_settled_later(
    world: World, chain: GmxChainDouble, bridge: RpcBridge, tmp_path: Path
) -> None:
    """Two-step execution: past the keeper timeout the follower's order is an unknown outcome (never a
    second order for its pair); once the keeper executes it, the reconciliation's lookup settles it."""
    source = await gmx_source(chain, "100000")
    follower = await gmx_follower(world, chain, "1000")
    await world.follow(follower.address, source.address, source_venue="gmx")
    options = replace(QUIET, policy=RetryPolicy(not_found_grace_s=0.3, lookup_interval_s=0.05))
    runner = await start_gmx_runner(
        world, bridge, write_deployment(chain, tmp_path / "gmx.json"), options, keeper_timeout_s=0.2
    )
    assert runner.copier is not None
    chain.keeper_auto = False
    traded = asyncio.ensure_future(source.trade("ETH", True, "10"))
    await wait_until(chain.keep, "the source's order executed", equals=1)  # the follower's is not
    await traded

    async def unknown() -> bool:
        return any(
            a.kind is AlertKind.UNKNOWN_OUTCOME and a.follower == follower.address
            for a in world.alerts.recent
        )

    await wait_until(unknown, "the follower's order reported as an open outcome")
    assert await gmx_size(follower.client, follower.address, "ETH") == 0
    await runner.reconcile()  # still pending: looked up, no second order
    assert await chain.keep() == 1  # the keeper executes the one follower order now
    await runner.reconcile()
    assert await gmx_size(follower.client, follower.address, "ETH") == D("0.1")
    assert runner.copier.desks[follower.address].engine.position("ETH") == D("0.1")
    assert world.ledger is not None
    async with session_factory(world.ledger.engine)() as session:
        orders = (await session.exec(select(VenueOrder))).all()
    assert [(o.venue, o.status) for o in orders] == [("gmx", "filled")]


async def test_gmx_accounts_refuse_agents_and_vaults(world: World, chain: GmxChainDouble) -> None:
    assert world.service is not None
    owner, other = new_wallet("gmx-owner"), new_wallet("gmx-other")
    keystore = await world._keystore(other.key.hex(), "other")
    with pytest.raises(InvalidInput, match=r"keystore: it holds the key of .*GMX has no agent wallets"):
        await world.service.account_add(ACTOR, owner.address, keystore, venue_name="gmx")
    own = await world._keystore(owner.key.hex(), "own")
    with pytest.raises(InvalidInput, match="vault: GMX has no vaults"):
        await world.service.account_add(ACTOR, owner.address, own, vault=other.address, venue_name="gmx")
    with pytest.raises(InvalidInput, match=r"venue: unknown value .*\(accepted: hyperliquid, gmx\)"):
        await world.service.account_add(ACTOR, owner.address, own, venue_name="dydx")
    assert world.ledger is not None and await world.ledger.get_account("gmx", owner.address) is None


async def test_each_runner_loads_only_the_followers_of_its_venue(world: World, chain: GmxChainDouble) -> None:
    assert world.service is not None and world.ledger is not None
    on_hyperliquid = await world.master_follower("1000")
    on_gmx = await gmx_follower(world, chain, "1000")
    assert [a.address for a in await load_accounts(world.ledger, PASSWORD)] == [on_hyperliquid]
    (gmx,) = await load_accounts(world.ledger, PASSWORD, "gmx")
    assert (gmx.address, gmx.vault_address, gmx.signer_key) == (
        on_gmx.address,
        None,
        on_gmx.account.signer_key,
    )


def test_a_gmx_follower_venue_needs_the_rpc_url(world: World) -> None:
    settings = load_settings(hl_api_url=world.url, data_dir=world.tmp / "data", follower_venue="gmx")
    with pytest.raises(VenueConfigError, match="MIRROR_GMX_RPC_URL: not set; MIRROR_FOLLOWER_VENUE is gmx"):
        build_venue(settings)  # the runner's start says it as a RunnerError


async def test_fills_since_a_time_before_the_deployment_reads_no_positions(chain: GmxChainDouble) -> None:
    """A fills read from shortly after the chain's contracts were deployed (a fresh chain: the runner's
    first reads) starts before the Reader existed: no positions then, rather than a failed read."""
    client = GmxVenue(chain.venue_w3(), chain.deployment)
    reader = to_checksum_address(chain.deployment.contracts.reader)
    deployed = 0
    while len(await chain.w3.eth.get_code(reader, block_identifier=deployed)) == 0:
        deployed += 1
    assert deployed > 0
    at = await client.chain.block_time_ms(deployed)
    assert await client.fills_since(new_wallet("nobody").address, at) == []
