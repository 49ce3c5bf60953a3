"""SPEC §10 live, through the real runner on the localnet: σ comes from the venue's hourly candles
(`candleSnapshot`, served from the localnet's price path), the open is sized with `ρ(now) · m`, and the
decision records σ and m in the ledger, where `why` shows them."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import col, select

from bot.ledger import CopyInstruction
from bot.ledger.db import session_factory
from bot.ledger.render import render_lineage
from strategies.num import q_lot
from strategies.volatility import sigma_pct
from tests.conformance.harness import SteppedClock
from tests.e2e.support import World
from tests.volatility.conftest import HISTORY_HOURS, HOUR_MS

D = Decimal


async def test_an_open_is_sized_by_the_candles_sigma_and_records_it(
    world: World, clock: SteppedClock
) -> None:
    # an hourly history: ETH alternates 3000 / 3060 (2 % moves) for 30 hours, then the clock is now
    for hour in range(HISTORY_HOURS - 1):
        await world.set_mids(ETH="3060" if hour % 2 else "3000")
        clock.offset_ms += HOUR_MS
    clock.offset_ms = 0
    await world.set_mids(ETH="3000")
    venue = world.venue()
    try:
        now = clock()
        candles = await venue.hourly_candles("ETH", now - 200 * HOUR_MS, now)
    finally:
        await venue.close()
    closes = [c.close for c in candles if c.time_ms <= now - HOUR_MS]
    assert len(closes) >= 29
    sigma = sigma_pct(closes)
    assert sigma is not None and D(100) < sigma < D(200)  # ±ln 1.02 per hour: ~185 % a year

    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address, vol_target_pct="60")
    await world.start_runner()
    await world.leader_to(leader, "ETH", "10")

    mult = (D(60) / sigma).quantize(D("0.0001"), rounding="ROUND_DOWN")
    expected = q_lot(D("0.01") * mult * 10, 4)  # ρ = 1000 / 100000, times m
    await world.follower_at(follower, "ETH", str(expected), what="the volatility-scaled open")
    assert world.ledger is not None
    async with session_factory(world.ledger.engine)() as session:
        query = select(CopyInstruction).where(
            CopyInstruction.follower == follower, col(CopyInstruction.event_kind) == "open"
        )
        [row] = (await session.exec(query)).all()
    assert (row.vol_sigma, row.vol_mult) == (sigma, mult)
    assert row.ratio == D("0.01") * mult and row.reason is None
    [lineage] = await world.ledger.lineage(row.cloid)
    assert f"volatility σ {sigma} % annualised: ratio multiplier m {mult}" in render_lineage(lineage)
