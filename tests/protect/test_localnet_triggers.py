"""The localnet's trigger orders through our adapter, on both price paths: `setMids` and the seeded
random walk (`advance`). A fired trigger trades like any order: fills (with its oid and cloid, `Close
Long`), the position, `orderStatus` filled; one not yet crossed stays open and moves nothing."""

from __future__ import annotations

import itertools
from decimal import Decimal

from bot.domain import OrderRequest, OrderStatus, Tif, Tpsl, TradingAccount, Trigger
from strategies.num import round_price
from tests.e2e.support import World

D = Decimal
COIN = "ETH"
_cloids = itertools.count(0xC0FFEE)


async def long_account(world: World) -> TradingAccount:
    wallet = await world.wallet("100000")
    account = TradingAccount(wallet.address, wallet.key.hex())
    venue = world.venue(data_dir=None)
    try:
        (bought,) = await venue.place(account, [OrderRequest(COIN, True, D("1"), D("3100"), False)])
        assert bought.filled_sz == D(1)
    finally:
        await venue.close()
    return account


def trigger(tpsl: Tpsl, px: str, limit: str) -> OrderRequest:
    cloid = f"0x{next(_cloids):032x}"
    return OrderRequest(COIN, False, D(1), D(limit), True, Tif.GTC, cloid, Trigger(D(px), tpsl))


async def test_set_mids_fires_a_crossed_stop_and_not_the_other_side(world: World) -> None:
    await world.set_mids(ETH="3000")
    account = await long_account(world)
    venue = world.venue(data_dir=None)
    try:
        stop, target = trigger(Tpsl.STOP_LOSS, "2900", "2610"), trigger(Tpsl.TAKE_PROFIT, "3200", "2880")
        placed = await venue.place(account, [stop, target])
        assert [r.status for r in placed] == [OrderStatus.RESTING, OrderStatus.RESTING]

        await world.set_mids(ETH="2950")  # above the stop: nothing fires
        assert await world.position(account.address, COIN) == D(1)
        assert len(await venue.open_orders(account)) == 2

        await world.set_mids(ETH="2890")  # through the stop
        assert await world.position(account.address, COIN) == 0
        assert stop.cloid is not None and target.cloid is not None
        fired = await venue.order_status(account, stop.cloid)
        assert (fired.status, fired.filled_sz) == (OrderStatus.FILLED, D(1))
        fills = [f for f in await venue.fills_since(account.address, 0) if f.oid == fired.oid]
        assert sum((f.sz for f in fills), D(0)) == D(1)
        assert {f.dir for f in fills} == {"Close Long"} and all(f.px <= D(2900) for f in fills)
        # The take-profit still waits (the venue keeps a reduce-only trigger until it fires or is cancelled).
        assert [o.cloid for o in await venue.open_orders(account)] == [target.cloid]
    finally:
        await venue.close()


async def test_the_random_walk_fires_triggers_too(world: World) -> None:
    await world.set_mids(ETH="3000")
    account = await long_account(world)
    venue = world.venue(data_dir=None)
    try:
        mid = (await venue.mids())[COIN]
        tick_below = round_price(mid * D("0.9995"), 4, up=False)
        tick_above = round_price(mid * D("1.0005"), 4, up=True)
        stop = trigger(Tpsl.STOP_LOSS, str(tick_below), str(round_price(tick_below * D("0.9"), 4, up=True)))
        target = trigger(
            Tpsl.TAKE_PROFIT, str(tick_above), str(round_price(tick_above * D("0.9"), 4, up=True))
        )
        await venue.place(account, [stop, target])

        steps = 0
        while await world.position(account.address, COIN) != 0:
            steps += 1
            assert steps <= 200, "the walk never reached either trigger"
            await world.control({"type": "advance", "steps": 1})

        assert stop.cloid is not None and target.cloid is not None
        statuses = {(await venue.order_status(account, c)).status for c in (stop.cloid, target.cloid)}
        assert OrderStatus.FILLED in statuses  # one of them fired and closed the long
    finally:
        await venue.close()
