"""Leader commission through builder codes (SPEC §14, issue #16 item 2), live on the localnet through the
real runner: an approved follower's orders carry the builder and the builder is credited on the
venue; a follower without approval still copies, without the builder field, and is told once; a
revoked approval is re-read on the venue's refusal and the copy goes through without it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlmodel import select

from bot.alerts import Alert, AlertKind
from bot.ledger import Fill
from bot.ledger.db import session_factory
from bot.service.owner import OwnerService
from tests.e2e.support import ACTOR, World

RATE = 10  # tenths of a basis point: 1 bp, 0.01 %


def commission_alerts(world: World) -> list[Alert]:
    return [a for a in world.alerts.recent if a.kind is AlertKind.COMMISSION]


async def venue_fills(world: World, user: str) -> list[dict[str, Any]]:
    response = await world.http.post(f"{world.url}/info", json={"type": "userFills", "user": user})
    fills: list[dict[str, Any]] = response.json()
    return fills


async def ledger_fills(world: World, account: str) -> list[Fill]:
    assert world.ledger is not None
    async with session_factory(world.ledger.engine)() as session:
        return list((await session.exec(select(Fill).where(Fill.account == account))).all())


def fee_of(fill: dict[str, Any]) -> Decimal:
    notional = Decimal(fill["px"]) * Decimal(fill["sz"])
    return (notional * RATE / 100_000).quantize(Decimal("0.000001"))


async def test_approved_orders_pay_the_builder_and_an_unapproved_follower_copies_without_and_is_told_once(
    world: World,
) -> None:
    assert world.service is not None
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    operator = await world.wallet("100")  # the commission's receiver (the source's, or an operator's)
    builder = operator.address.lower()
    approved = await world.master_follower("5000", agent=True)  # an agent trades; the master approves
    unapproved = await world.master_follower("5000", agent=True)
    master_key = world.wallets[approved].key.hex()
    granted = await world.service.builder_approve(ACTOR, approved, master_key, builder, RATE)
    assert [(r.builder, r.approved) for r in granted.builders] == [(builder, RATE)]
    for follower in (approved, unapproved):
        await world.follow(follower, leader.address, commission_to=builder, commission_tenths_bp=str(RATE))
    credited_before = await world.equity(builder)

    await world.start_runner()
    await world.leader_to(leader, "ETH", "10")  # ρ = 5,000 / 100,000: each follower to 0.5
    await world.follower_at(approved, "ETH", "0.5")
    await world.follower_at(unapproved, "ETH", "0.5")
    await world.leader_to(leader, "ETH", "4")  # a second copy: the unapproved follower is not told again
    await world.follower_at(approved, "ETH", "0.2")
    await world.follower_at(unapproved, "ETH", "0.2")
    await world.settle()

    paid = await venue_fills(world, approved)
    assert len(paid) >= 2 and all(Decimal(f["builderFee"]) == fee_of(f) > 0 for f in paid)
    assert all(
        "builderFee" not in f or Decimal(f["builderFee"]) == 0 for f in await venue_fills(world, unapproved)
    )
    credited = sum((Decimal(f["builderFee"]) for f in paid), Decimal(0))
    assert await world.equity(builder) == credited_before + credited  # the builder is credited

    told = commission_alerts(world)
    assert [(a.follower, a.source, a.reason) for a in told] == [
        (unapproved, leader.address, "builder_not_approved")
    ]
    assert "copied without it" in told[0].message

    # The ledger keeps each fill's builder fee; pnl and why show it.
    recorded = await ledger_fills(world, approved)
    assert sorted(f.builder_fee or 0 for f in recorded) == sorted(Decimal(f["builderFee"]) for f in paid)
    assert all(f.builder_fee == 0 for f in await ledger_fills(world, unapproved))
    pnl = await OwnerService(world.service).pnl(ACTOR, [approved])
    (eth,) = pnl.coins
    assert eth.builder_fees == credited and eth.fees > credited
    # The profit-share report reads the same fills: one follow, one day, its net P&L (fees included).
    report = await world.service.commission_report(ACTOR, [approved], period="day", share_pct="20")
    (follow,) = report.follows
    assert (follow.follower, follow.source, follow.commission_to) == (approved, leader.address, builder)
    (day,) = follow.periods
    assert (
        day.pnl == sum((f.closed_pnl - f.fee for f in recorded), Decimal(0)) and day.builder_fees == credited
    )
    assert day.share == max(Decimal(0), day.pnl) * Decimal("0.2")
    first = recorded[0]
    assert first.builder_fee is not None
    why = await world.service.why(ACTOR, first.trade_id)
    assert f"(builder {first.builder_fee.normalize():f})" in why.text


async def test_a_revoked_approval_is_re_read_on_the_refusal_and_the_copy_goes_without_it(
    world: World,
) -> None:
    assert world.service is not None
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    builder = (await world.wallet("100")).address.lower()
    follower = await world.master_follower("5000", agent=True)
    key = world.wallets[follower].key.hex()
    await world.service.builder_approve(ACTOR, follower, key, builder, RATE)
    await world.follow(follower, leader.address, commission_to=builder, commission_tenths_bp=RATE)
    runner = await world.start_runner()
    await world.leader_to(leader, "ETH", "10")
    await world.follower_at(follower, "ETH", "0.5")
    await world.settle()
    assert runner.copier is not None and runner.copier.commission.reads == 1

    # Revoked behind the bot's back while its cached approval still holds: the venue refuses the
    # builder, the bot forgets the approval, sends the same order without it, and says so once.
    revoked = world.venue(data_dir=world.tmp / "revoke")
    try:
        await revoked.approve_builder_fee(key, builder, 0)
    finally:
        await revoked.close()
    await world.leader_to(leader, "ETH", "4")
    await world.follower_at(follower, "ETH", "0.2")
    await world.leader_to(leader, "ETH", "2")
    await world.follower_at(follower, "ETH", "0.1")
    await world.settle()
    fills = await venue_fills(world, follower)
    assert sum(1 for f in fills if Decimal(f.get("builderFee", "0")) > 0) == 1  # only the first copy paid
    assert [(a.follower, a.reason) for a in commission_alerts(world)] == [(follower, "builder_not_approved")]
    assert runner.copier.commission.reads == 2  # re-read once after the refusal, then cached
