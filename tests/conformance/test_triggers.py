"""Trigger orders (stop-loss / take-profit) in the conformance suite: for venues whose capabilities say
`trigger_orders`, a trigger rests, is listed with its trigger by `open_orders`, is found and cancelled by
cloid, and fires (filling like a normal order) once the price is past it. A venue without the capability
refuses a trigger order rather than placing something else."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.domain import OrderRequest, OrderStatus, Tif, Tpsl, TradingAccount, Trigger, Venue
from tests.conformance.harness import Harness
from tests.conformance.test_venue import COIN, D, ioc, new_cloid, position, requires
from tests.waiting import wait_until


async def long_position(harness: Harness, venue: Venue, account: TradingAccount) -> Decimal:
    filled = (await ioc(harness, venue, account, D("0.5"))).filled_sz
    assert filled == D("0.5")
    return filled


async def stop_loss(
    harness: Harness, venue: Venue, account: TradingAccount, size: Decimal, offset: Decimal
) -> OrderRequest:
    """A reduce-only market sell stop `offset` below the mid (negative: above it, so already crossed)."""
    trigger_px = await harness.limit_px(venue, COIN, False, offset)
    limit = await harness.limit_px(venue, COIN, False, offset + D("0.1"))
    return OrderRequest(
        COIN,
        False,
        size,
        limit,
        True,
        Tif.GTC,
        new_cloid(),
        Trigger(trigger_px, Tpsl.STOP_LOSS, is_market=True),
    )


async def test_a_trigger_rests_is_listed_with_its_trigger_and_is_cancelled_by_cloid(harness: Harness) -> None:
    venue = harness.make_venue()
    requires(venue, "trigger_orders")
    account = await harness.new_account()
    size = await long_position(harness, venue, account)
    request = await stop_loss(harness, venue, account, size, D("0.2"))
    assert request.cloid is not None and request.trigger is not None

    (placed,) = await venue.place(account, [request])
    assert placed.status is OrderStatus.RESTING, placed
    (listed,) = [o for o in await venue.open_orders(account) if o.cloid == request.cloid]
    assert (listed.coin, listed.is_buy, listed.size, listed.reduce_only) == (COIN, False, size, True)
    assert listed.trigger == request.trigger
    assert (await venue.order_status(account, request.cloid)).status is OrderStatus.RESTING
    assert await position(venue, account.address) == size  # waiting: nothing traded

    assert await venue.cancel(account, COIN, request.cloid) is True
    assert (await venue.order_status(account, request.cloid)).status is OrderStatus.CANCELED
    assert request.cloid not in {o.cloid for o in await venue.open_orders(account)}
    assert await position(venue, account.address) == size


async def test_a_trigger_past_its_price_fires_and_fills_like_an_order(harness: Harness) -> None:
    venue = harness.make_venue()
    requires(venue, "trigger_orders")
    account = await harness.new_account()
    size = await long_position(harness, venue, account)
    request = await stop_loss(harness, venue, account, size, D("-0.01"))  # the mid is already below it
    assert request.cloid is not None

    await venue.place(account, [request])

    async def closed() -> bool:
        return await position(venue, account.address) == 0

    await wait_until(closed, "the stop-loss closed the position")
    status = await venue.order_status(account, request.cloid)
    assert (status.status, status.filled_sz) == (OrderStatus.FILLED, size)
    assert request.cloid not in {o.cloid for o in await venue.open_orders(account)}


async def test_a_venue_without_trigger_orders_refuses_them(harness: Harness) -> None:
    venue = harness.make_venue()
    if venue.capabilities.trigger_orders:
        pytest.skip(f"{venue.capabilities.name} has trigger_orders (the tests above)")
    account = await harness.new_account()
    request = await stop_loss(harness, venue, account, D("0.5"), D("0.2"))
    (result,) = await venue.place(account, [request])
    assert result.status is OrderStatus.REJECTED
    assert await position(venue, account.address) == 0
