"""Stop-loss / take-profit trigger orders kept by the real Runner on a real localnet (the SDK trades the
leader, our adapter the follower): placed with the right price and size after a copy, resized when the
position grows, cancelled when it closes; a trigger that fires closes the follower, is alerted and is
not re-opened; a follow without the settings places none; a restart adopts instead of duplicating."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import col, select

from adapters.hyperliquid.venue import frontend_open_order
from bot.alerts import AlertKind
from bot.domain import OpenOrder, OrderStatus, Tpsl
from bot.ledger import CopyInstruction, IntentStatus, cloid_for, instruction_id
from bot.ledger.db import session_factory
from bot.pipeline.fills import FillReaderOptions
from bot.pipeline.runner import Runner
from bot.pipeline.triggers import EVENT_KIND, MARKET_TRIGGER_SLIPPAGE, Wanted, trigger_prices
from bot.service.owner import OwnerService
from strategies.model import Status
from strategies.num import round_price
from strategies.orders import limit_price
from tests.e2e.support import ACTOR, QUIET, Leader, World
from tests.waiting import wait_until

D = Decimal
COIN = "ETH"
# Jobs off (the tests drive them); fills read as soon as answered: no batching wait in a test.
FAST = replace(QUIET, fills=FillReaderOptions(gather_s=0, min_interval_s=0))
SZ_DECIMALS = 4  # the localnet's ETH


async def quiet(runner: Runner) -> None:
    """Wait until the copier has mirrored what it took in and the protector's queued passes are done."""
    assert runner.copier is not None and runner.protector is not None
    copier, protector = runner.copier, runner.protector

    async def idle() -> bool:
        return copier.idle and protector.idle

    await wait_until(idle, "copier and protector idle")


async def triggers(world: World, follower: str) -> list[OpenOrder]:
    """The follower's open trigger orders as the venue lists them (`frontendOpenOrders`, read by the test's
    own client through our adapter's parser, so the bot's request budget is not spent on the test)."""
    body = {"type": "frontendOpenOrders", "user": follower}
    rows = (await world.http.post(f"{world.url}/info", json=body)).json()
    found = [o for o in map(frontend_open_order, rows) if o.trigger is not None]
    return sorted(found, key=lambda o: o.trigger.tpsl.value if o.trigger else "")  # sl, then tp


async def entry_px(world: World, address: str) -> Decimal:
    response = await world.http.post(
        f"{world.url}/info", json={"type": "clearinghouseState", "user": address}
    )
    for entry in response.json()["assetPositions"]:
        if entry["position"]["coin"] == COIN:
            return Decimal(entry["position"]["entryPx"])
    raise AssertionError(f"{address} holds no {COIN}")


def expected(entry: Decimal, sl_pct: str, tp_pct: str) -> tuple[Decimal, Decimal]:
    """A long's stop below and target above the entry, rounded toward it (5 significant figures)."""
    sl = round_price(entry * (1 - D(sl_pct) / 100), SZ_DECIMALS, up=True)
    tp = round_price(entry * (1 + D(tp_pct) / 100), SZ_DECIMALS, up=False)
    return sl, tp


async def protected(world: World, **options: Any) -> tuple[Leader, str, Runner]:
    """A follower copying a leader's 10 ETH as 0.1 ETH (ρ = 0.01), with the given follow options."""
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address, **options)
    runner = await world.start_runner(FAST)
    await world.leader_to(leader, COIN, "10")
    await world.follower_at(follower, COIN, "0.1")
    await quiet(runner)
    return leader, follower, runner


async def protect_instructions(world: World, follower: str) -> list[CopyInstruction]:
    assert world.ledger is not None
    query = (
        select(CopyInstruction)
        .where(CopyInstruction.follower == follower, CopyInstruction.event_kind == EVENT_KIND)
        .order_by(col(CopyInstruction.created_at))
    )
    async with session_factory(world.ledger.engine)() as session:
        return list((await session.exec(query)).all())


async def test_triggers_follow_the_position_from_copy_to_resize_to_close(world: World) -> None:
    leader, follower, runner = await protected(world, stop_loss_pct="5", take_profit_pct="10")

    sl, tp = await triggers(world, follower)
    assert sl.trigger is not None and tp.trigger is not None
    assert (sl.trigger.tpsl, tp.trigger.tpsl) == (Tpsl.STOP_LOSS, Tpsl.TAKE_PROFIT)
    assert expected(await entry_px(world, follower), "5", "10") == (
        sl.trigger.trigger_px,
        tp.trigger.trigger_px,
    )
    for order in (sl, tp):
        assert (order.size, order.is_buy, order.reduce_only) == (D("0.1"), False, True)
        assert order.trigger is not None and order.trigger.is_market

    await world.leader_to(leader, COIN, "15")  # increase: buy 0.05 more, a new entry price
    await world.follower_at(follower, COIN, "0.15")
    await quiet(runner)
    sl2, tp2 = await triggers(world, follower)
    assert sl2.trigger is not None and tp2.trigger is not None
    assert (sl2.size, tp2.size) == (D("0.15"), D("0.15"))
    assert expected(await entry_px(world, follower), "5", "10") == (
        sl2.trigger.trigger_px,
        tp2.trigger.trigger_px,
    )
    assert {sl2.cloid, tp2.cloid}.isdisjoint({sl.cloid, tp.cloid})
    assert runner.copier is not None
    account = runner.copier.desks[follower].account
    for old in (sl, tp):
        assert old.cloid is not None
        assert (await runner.venue.order_status(account, old.cloid)).status is OrderStatus.CANCELED

    await world.leader_to(leader, COIN, "0")  # close: both triggers go
    await world.follower_at(follower, COIN, "0")
    await quiet(runner)
    assert await triggers(world, follower) == []
    for old in (sl2, tp2):
        assert old.cloid is not None
        assert (await runner.venue.order_status(account, old.cloid)).status is OrderStatus.CANCELED

    # Lineage: four placements, each an instruction → reduce-only intent → venue order, now cancelled.
    assert world.ledger is not None
    rows = await protect_instructions(world, follower)
    assert sorted(r.cloid for r in rows) == sorted(str(o.cloid) for o in (sl, tp, sl2, tp2))
    for row in rows:
        intent = await world.ledger.get_intent(row.cloid)
        assert intent is not None and intent.reduce_only and intent.status == IntentStatus.ACCEPTED.value
        assert row.delta == -intent.size and row.target_before == row.target_after
        (lineage,) = await world.ledger.lineage(row.cloid)
        assert lineage.order is not None and lineage.order.status == "canceled"


async def fire(world: World, runner: Runner, follower: str, mid: str, kind: Tpsl, reason: str) -> None:
    """Move the mid past a trigger; the venue closes the follower; the bot's next pass acts on it."""
    (before,) = [o for o in await triggers(world, follower) if o.trigger and o.trigger.tpsl is kind]
    await world.set_mids(ETH=mid)
    await world.follower_at(follower, COIN, "0", what="the trigger closed the follower")
    await runner.refresh_accounts()  # the accounts job: the protector's sweep
    await quiet(runner)

    (alert,) = [a for a in world.alerts.of_kind(AlertKind.GUARD) if a.reason == reason]
    assert alert.follower == follower and alert.coin == COIN and alert.details["cloid"] == before.cloid
    assert await triggers(world, follower) == []  # the other one is cancelled
    assert runner.copier is not None
    pair = runner.copier.desks[follower].engine.pairs[COIN]
    assert (pair.status, pair.target) == (Status.UNTRACKED, D(0))
    assert world.ledger is not None
    assert before.cloid is not None
    (lineage,) = await world.ledger.lineage(before.cloid)
    assert lineage.order is not None and lineage.order.status == "filled"
    assert sum((f.size for f in lineage.fills), D(0)) == D("0.1")  # the fire's fills, in the ledger
    fired = [i for i in await instructions_of(world, follower) if i.event_kind == reason]
    assert len(fired) == 1 and fired[0].target_after == 0 and fired[0].guards == [reason]

    assert await runner.reconcile() == 0  # τ = 0 now: nothing to catch up
    assert await world.position(follower, COIN) == 0


async def instructions_of(world: World, follower: str) -> list[CopyInstruction]:
    assert world.ledger is not None
    query = select(CopyInstruction).where(CopyInstruction.follower == follower)
    async with session_factory(world.ledger.engine)() as session:
        return list((await session.exec(query.order_by(col(CopyInstruction.created_at)))).all())


async def test_a_stop_loss_fires_closes_alerts_and_is_not_reopened(world: World) -> None:
    leader, follower, runner = await protected(world, stop_loss_pct="5", take_profit_pct="10")
    await fire(world, runner, follower, "2800", Tpsl.STOP_LOSS, "stop_loss")

    await world.leader_to(leader, COIN, "15")  # an increase of the position the stop closed: not copied
    await quiet(runner)
    await wait_until(lambda: _has_increase(world, follower), "the increase decided (untracked, nothing sent)")
    assert await world.position(follower, COIN) == 0
    assert await runner.reconcile() == 0

    await world.leader_to(leader, COIN, "0")  # the source closes, then opens again: copied afresh
    await world.leader_to(leader, COIN, "10")
    await wait_until(lambda: _nonzero(world, follower), "the next open copied")
    await quiet(runner)
    assert len(await triggers(world, follower)) == 2  # and protected again


async def _has_increase(world: World, follower: str) -> bool:
    return any(
        i.event_kind == "increase" and i.reason == "untracked" for i in await instructions_of(world, follower)
    )


async def _nonzero(world: World, follower: str) -> bool:
    return await world.position(follower, COIN) > 0


async def test_a_take_profit_fires_likewise(world: World) -> None:
    _, follower, runner = await protected(world, stop_loss_pct="5", take_profit_pct="10")
    await fire(world, runner, follower, "3400", Tpsl.TAKE_PROFIT, "take_profit")
    assert not [a for a in world.alerts.of_kind(AlertKind.GUARD) if a.reason == "stop_loss"]


async def test_a_follow_without_stop_loss_or_take_profit_places_no_trigger(world: World) -> None:
    leader, follower, runner = await protected(world)
    await runner.refresh_accounts()
    await world.set_mids(ETH="2000")  # a third down: a 5 % stop would have fired
    await runner.refresh_accounts()
    await quiet(runner)
    assert await triggers(world, follower) == []
    assert await world.position(follower, COIN) == D("0.1")
    assert not world.alerts.of_kind(AlertKind.GUARD)
    assert await protect_instructions(world, follower) == []
    assert runner.copier is not None
    assert runner.copier.desks[follower].engine.pairs[COIN].status is Status.TRACKING
    orders = [r for r in await world.stats() if r["action"] == "order" and r["user"] == follower]
    assert len(orders) == 1  # the copy, nothing else
    del leader


async def test_a_restart_adopts_the_triggers_instead_of_duplicating_them(world: World) -> None:
    _, follower, runner = await protected(world, stop_loss_pct="5", take_profit_pct="10")
    placed = {o.cloid for o in await triggers(world, follower)}
    assert len(placed) == 2
    await runner.stop()

    again = await world.start_runner(FAST)
    await again.refresh_accounts()
    await quiet(again)

    assert {o.cloid for o in await triggers(world, follower)} == placed
    sent = [str(c) for r in await world.stats() if r["action"] == "order" for c in r["cloids"] if c in placed]
    assert sorted(sent) == sorted(str(c) for c in placed)  # each placed once, across both runs
    assert not [r for r in await world.stats() if r["action"] == "cancelByCloid"]


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
async def test_a_stop_that_fired_while_the_bot_was_down_is_not_reopened_at_restart(world: World) -> None:
    _, follower, runner = await protected(world, stop_loss_pct="5", take_profit_pct="10")
    await runner.stop()
    await world.set_mids(ETH="2800")
    await world.follower_at(follower, COIN, "0", what="the stop closed the follower while the bot was down")

    again = await world.start_runner(FAST)  # start-up: recovery, plans, then a protector sweep and reconcile
    await quiet(again)

    assert [a.reason for a in world.alerts.of_kind(AlertKind.GUARD)] == ["stop_loss"]
    assert await world.position(follower, COIN) == 0
    assert await again.reconcile() == 0
    assert await triggers(world, follower) == []
    assert again.copier is not None
    assert again.copier.desks[follower].engine.pairs[COIN].status is Status.UNTRACKED


async def test_changing_or_removing_the_setting_moves_or_cancels_the_trigger(world: World) -> None:
    leader, follower, runner = await protected(world, stop_loss_pct="5", take_profit_pct="10")
    assert world.service is not None and world.ledger is not None
    old_sl, tp = await triggers(world, follower)

    change = await world.service.follow_update(ACTOR, follower, leader.address, stop_loss_pct="2")
    assert change.changed and change.plan.version == 2  # a new plan version, never an edit in place
    await runner.sync_plans()
    await runner.refresh_accounts()
    await quiet(runner)
    sl, tp_kept = await triggers(world, follower)
    assert sl.trigger is not None
    assert sl.trigger.trigger_px == expected(await entry_px(world, follower), "2", "10")[0]
    assert tp_kept.cloid == tp.cloid and sl.cloid != old_sl.cloid

    await world.service.follow_update(ACTOR, follower, leader.address, stop_loss_pct="off")
    await runner.sync_plans()
    await runner.refresh_accounts()
    await quiet(runner)
    (only,) = await triggers(world, follower)
    assert only.cloid == tp.cloid

    await world.service.follow_remove(ACTOR, follower, leader.address, close=False)  # keep the position
    await runner.sync_plans()
    await runner.refresh_accounts()
    await quiet(runner)
    assert await triggers(world, follower) == []
    assert await world.position(follower, COIN) == D("0.1")


async def test_the_kill_switch_closes_the_position_and_cancels_both_triggers(world: World) -> None:
    _, follower, runner = await protected(world, stop_loss_pct="5", take_profit_pct="10")
    assert world.service is not None
    placed = await triggers(world, follower)
    assert len(placed) == 2

    await OwnerService(world.service).stop(ACTOR, [follower])  # as `mirrorbot stop` / Telegram /stop
    await runner.sync_plans()  # the running pipeline picks the stop up (its plans job)
    await world.follower_at(follower, COIN, "0", what="the stop closed the follower")
    await quiet(runner)

    assert await triggers(world, follower) == []
    assert runner.copier is not None
    account = runner.copier.desks[follower].account
    for order in placed:
        assert order.cloid is not None
        assert (await runner.venue.order_status(account, order.cloid)).status is OrderStatus.CANCELED
    assert not world.alerts.of_kind(AlertKind.GUARD)  # cancelled, not fired


async def test_a_trigger_placed_but_never_recorded_is_adopted_not_duplicated(world: World) -> None:
    """A stop cut short between the venue's answer and the ledger write (or a lost answer): the venue
    holds a trigger under the cloid the protector is about to use. Its placement is refused as a
    duplicate, the lookup finds the resting order, and it is adopted and recorded."""
    leader, follower, runner = await protected(world, stop_loss_pct="5")
    assert world.service is not None and world.ledger is not None and runner.copier is not None
    (old,) = await triggers(world, follower)
    entry, size = await entry_px(world, follower), await world.position(follower, COIN)
    px = trigger_prices(entry, size, sz_decimals=SZ_DECIMALS, stop_loss_pct=D(2), take_profit_pct=None)
    stop = px[Tpsl.STOP_LOSS]
    limit = limit_price(stop, is_buy=False, slippage_cap=MARKET_TRIGGER_SLIPPAGE, sz_decimals=SZ_DECIMALS)
    want = Wanted(COIN, Tpsl.STOP_LOSS, False, size, stop, limit)
    cloid = cloid_for(instruction_id(follower, COIN, want.source_event_id, 0))
    account = runner.copier.desks[follower].account
    venue = world.venue(data_dir=None)  # "the previous run", placing the same order under the same cloid
    try:
        (earlier,) = await venue.place(account, [want.request(cloid)])
        assert earlier.status is OrderStatus.RESTING
    finally:
        await venue.close()

    await world.service.follow_update(ACTOR, follower, leader.address, stop_loss_pct="2")
    await runner.sync_plans()
    await runner.refresh_accounts()
    await quiet(runner)

    (adopted,) = await triggers(world, follower)
    assert adopted.cloid == cloid and old.cloid != cloid
    sends = [r for r in await world.stats() if r["action"] == "order" and cloid in r["cloids"]]
    assert [r["outcome"] for r in sends] == ["ok", "rejected"]  # the earlier one, then the duplicate
    intent = await world.ledger.get_intent(cloid)
    assert intent is not None and intent.status == IntentStatus.ACCEPTED.value
    assert not world.alerts.of_kind(AlertKind.REJECTED)
