"""A follower's guard state moves with its lease (issue #15, bot/cluster/guard_state.py): a follower that
passes from one copy worker to another keeps its drawdown peak, so the stop trips where its owner set it.
Each worker had kept the state in a file of its own: the new owner started the peak afresh from the
equity it read, below the peak already lost from, and let the follower lose more than its limit.

In process, on a localnet, a PostgreSQL ledger and the test Redis; the two workers have data dirs of
their own, as on two hosts."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bot.alerts import AlertKind
from bot.cluster.worker import CopyWorker
from bot.ledger import Ledger
from bot.risk import RiskReason
from tests.bus.support import redis_server_url
from tests.cluster.support import bus_of_its_own, in_process_worker
from tests.e2e.support import World
from tests.waiting import wait_until

POSTGRESQL = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
HEARTBEAT_S = 0.5


def tripped(worker: CopyWorker, reason: RiskReason) -> int:
    return sum(1 for a in worker.alerts.of_kind(AlertKind.GUARD) if a.reason == reason.value)


@POSTGRESQL
async def test_a_follower_taken_over_keeps_its_drawdown_peak(world: World, tmp_path: Path) -> None:
    assert world.ledger is not None
    ledger = world.ledger
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    await world.leader_to(leader, "ETH", "20")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address, max_drawdown="0.08", copy_current=True)
    url = redis_server_url()
    bus = bus_of_its_own(url)
    try:
        c1 = in_process_worker(world, url, bus, tmp_path / "c1", "c1", heartbeat_s=HEARTBEAT_S)
        await c1.start()
        await wait_until(lambda: _copied(world, follower), "the copy of the leader's 20 ETH (~0.2)")
        peak = await wait_until(lambda: _peak(ledger, follower), "c1 wrote the follower's peak to the ledger")
        assert Decimal(990) < peak <= Decimal(1000)
        await c1.stop()  # its lease given back: the next worker takes the follower over

        await world.set_mids(ETH="2500")  # −$100: 10 % below the peak c1 saw, past the 8 % stop
        c2 = in_process_worker(world, url, bus, tmp_path / "c2", "c2", heartbeat_s=HEARTBEAT_S)
        await c2.start()
        try:
            assert c2.copier is not None and follower in c2.copier.desks
            await world.follower_at(follower, "ETH", "0", what="c2's max-drawdown stop closing the copy")
            assert tripped(c2, RiskReason.MAX_DRAWDOWN) == 1
            state = (await ledger.guard_states([follower]))[follower]
            assert state["account"]["stopped"] is True
            assert Decimal(state["account"]["peak_equity"]) == peak
        finally:
            await c2.stop()
    finally:
        await bus.close()


async def _copied(world: World, follower: str) -> bool:
    return Decimal("0.19") < await world.position(follower, "ETH") < Decimal("0.21")


async def _peak(ledger: Ledger, follower: str) -> Decimal | None:
    state = (await ledger.guard_states([follower])).get(follower)
    account = None if state is None else state.get("account")
    return None if not account or account.get("peak_equity") is None else Decimal(account["peak_equity"])
