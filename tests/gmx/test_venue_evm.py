"""`GmxVenue` against the GMX doubles on a real in-process EVM: reading, watching, the Router approval,
execution fees and the keeper's outcomes (one chain for the whole run; fresh accounts per test)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

from adapters.gmx.chain import MAX_UINT
from adapters.gmx.venue import GmxVenue
from bot.domain import AccountState, OrderRequest, OrderStatus, SourceFill, Tif, TradingAccount
from bot.normalise import changes_from_fills
from tests.gmx.evm import GmxChainDouble, new_wallet
from tests.gmx.harness import shared_chain
from tests.waiting import wait_until

D = Decimal
_cloids = iter(range(1, 10**6))


def cloid() -> str:
    return f"0x{0xC0FFEE00000000000000000000000000 + next(_cloids):032x}"


async def setup(
    tmp_path: Path, usdc: str = "50000", **options: object
) -> tuple[GmxChainDouble, GmxVenue, TradingAccount]:
    chain = shared_chain()
    chain.keeper_auto, chain.cancel_reason, chain.freeze_reason = True, None, None
    wallet = new_wallet("evm")
    await chain.fund(wallet.address, D(usdc))
    options.setdefault("keeper_timeout_s", 2.0)
    venue = GmxVenue(chain.venue_w3(), chain.deployment, data_dir=tmp_path, poll_interval_s=0.02, **options)  # type: ignore[arg-type]
    return chain, venue, TradingAccount(wallet.address, wallet.key.hex())


def order(is_buy: bool, size: str, px: str, reduce_only: bool = False) -> OrderRequest:
    return OrderRequest("ETH", is_buy, D(size), D(px), reduce_only, Tif.IOC, cloid())


async def test_first_increase_approves_the_router_then_fills(tmp_path: Path) -> None:
    chain, venue, account = await setup(tmp_path)
    usdc = chain.contracts["usdc"]
    assert await usdc.functions.allowance(account.address, chain.deployment.contracts.router).call() == 0
    (result,) = await venue.place(account, [order(True, "1", "3030")])
    assert (result.status, result.filled_sz, result.avg_px) == (OrderStatus.FILLED, D(1), D(3000))
    assert (
        await usdc.functions.allowance(account.address, chain.deployment.contracts.router).call()
        == MAX_UINT - 600 * 10**6
    )
    state = await venue.account(account.address)
    assert state.size("ETH") == D(1)
    assert state.equity == D(50000) - D("1.5")  # the 0.05% position fee, nothing else (fees are paid in ETH)


async def test_price_moves_change_equity_by_the_pnl(tmp_path: Path) -> None:
    chain, venue, account = await setup(tmp_path)
    await venue.place(account, [order(False, "2", "2970")])
    before = await venue.account(account.address)
    await chain.set_price("WETH", D(2900))
    try:
        after = await venue.account(account.address)
    finally:
        await chain.set_price("WETH", D(3000))
    assert after.equity - before.equity == D(200)  # a 2 ETH short gains $100 a token
    assert after.positions[0].unrealized_pnl == D(200)


async def test_keeper_cancel_is_canceled_with_its_reason_and_nothing_moves(tmp_path: Path) -> None:
    chain, venue, account = await setup(tmp_path)
    chain.cancel_reason = "MaxOpenInterestExceeded"
    (result,) = await venue.place(account, [order(True, "1", "3030")])
    assert result.status is OrderStatus.CANCELED
    assert result.error == "OrderCancelled: MaxOpenInterestExceeded"
    assert (await venue.account(account.address)).positions == ()


async def test_an_acceptable_price_the_keeper_cannot_meet_cancels(tmp_path: Path) -> None:
    _, venue, account = await setup(tmp_path)
    (result,) = await venue.place(account, [order(True, "1", "2990")])  # below the 3000 execution price
    assert result.status is OrderStatus.CANCELED
    assert result.error is not None and "OrderNotFulfillableAtAcceptablePrice" in result.error


async def test_a_frozen_order_is_rejected(tmp_path: Path) -> None:
    chain, venue, account = await setup(tmp_path)
    chain.freeze_reason = "InsufficientReserveForOpenInterest"
    (result,) = await venue.place(account, [order(True, "1", "3030")])
    assert result.status is OrderStatus.REJECTED
    assert result.error == "OrderFrozen: InsufficientReserveForOpenInterest"


async def test_pending_until_the_keeper_acts_then_the_lookup_finds_the_fill(tmp_path: Path) -> None:
    chain, venue, account = await setup(tmp_path, keeper_timeout_s=0.1)
    chain.keeper_auto = False
    request = order(True, "0.5", "3030")
    (result,) = await venue.place(account, [request])
    assert result.status is OrderStatus.RESTING and result.oid is not None
    assert request.cloid is not None
    assert (await venue.order_status(account, request.cloid)).status is OrderStatus.RESTING
    assert await chain.keep() == 1
    status = await venue.order_status(account, request.cloid)
    assert (status.status, status.filled_sz, status.oid) == (OrderStatus.FILLED, D("0.5"), result.oid)
    (again,) = await venue.place(account, [request])  # the same cloid: looked up, never placed twice
    assert again.status is OrderStatus.FILLED
    assert (await venue.account(account.address)).size("ETH") == D("0.5")


async def test_an_execution_fee_below_the_datastore_minimum_is_refused_by_the_contract(
    tmp_path: Path,
) -> None:
    _, venue, account = await setup(tmp_path, fee_multiplier=D("0.5"))
    (result,) = await venue.place(account, [order(True, "1", "3030")])
    assert result.status is OrderStatus.REJECTED
    assert result.error is not None and "InsufficientExecutionFee" in result.error


async def test_collateral_beyond_the_wallet_is_refused_before_sending(tmp_path: Path) -> None:
    _, venue, account = await setup(tmp_path, usdc="100")
    (result,) = await venue.place(account, [order(True, "1", "3030")])  # $600 of collateral at 5x
    assert result.status is OrderStatus.REJECTED
    assert result.error is not None and result.error.startswith("Insufficient USDC collateral")


@contextlib.asynccontextmanager
async def watching(venue: GmxVenue, sources: list[str]) -> AsyncIterator[list[SourceFill | AccountState]]:
    seen: list[SourceFill | AccountState] = []

    async def run() -> None:
        async for item in venue.events(sources):
            seen.append(item)

    heads: list[int] = []  # the chain's head as the watch reads it: first its starting block, then each poll
    read_head = venue.chain.head

    async def recorded_head() -> int:
        heads.append(await read_head())
        return heads[-1]

    venue.chain.head = recorded_head  # type: ignore[method-assign]
    task = asyncio.create_task(run())
    await wait_until(lambda: len(heads) >= 2, "the watch has read its starting block")
    try:
        yield seen
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def wait_for(seen: list[SourceFill | AccountState], size: Decimal) -> None:
    def total() -> Decimal:
        return sum((f.signed_sz for f in seen if isinstance(f, SourceFill)), D(0))

    await wait_until(total, f"fills summing to {size}", equals=size)


async def test_watching_turns_increase_decrease_and_flip_into_changes(tmp_path: Path) -> None:
    chain, venue, leader = await setup(tmp_path)
    await venue.place(leader, [order(True, "1", "3030")])  # before the watch: its starting size
    async with watching(venue, [leader.address]) as seen:
        await venue.place(leader, [order(True, "2", "3030")])
        await wait_for(seen, D(2))
        await venue.place(leader, [order(False, "1.5", "2970")])
        await wait_for(seen, D("0.5"))
        await venue.place(leader, [order(False, "2", "2970")])  # 1.5 long → 0.5 short in one transaction
        await wait_for(seen, D("-1.5"))
        await wait_until(  # the Reader's snapshot at that block follows the block's fills
            lambda: any(isinstance(s, AccountState) and s.size("ETH") == D("-0.5") for s in seen),
            "the Reader's snapshot at -0.5",
        )
    fills = [f for f in seen if isinstance(f, SourceFill)]
    changes = changes_from_fills(leader.address, fills)
    assert [(c.old, c.new) for c in changes] == [(D(1), D(3)), (D(3), D("1.5")), (D("1.5"), D("-0.5"))]
    snapshots = [s for s in seen if isinstance(s, AccountState)]
    assert snapshots[-1].size("ETH") == D("-0.5")  # the Reader agrees with the logs
    # Read by a client that did not place them (the placing one reports a flip's two orders' fills
    # under the oid of the one answer it gave: test_gmx_follower.py).
    reader = GmxVenue(chain.venue_w3(), chain.deployment)
    assert await reader.fills_since(leader.address, fills[0].time_ms) == fills
