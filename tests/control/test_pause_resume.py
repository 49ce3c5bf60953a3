"""Pause and resume (SPEC §4) with the real Runner on the localnet, set the way the CLI sets them (a
ControlState row; the runner picks it up at its next plans sync): no new exposure while paused,
reductions and closes still mirror, a flip only closes; resume copies the next change and catches up
nothing (τ never took the skipped growth)."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import select

from bot.alerts import AlertKind
from bot.ledger import CopyInstruction
from bot.ledger.db import session_factory
from bot.pipeline.runner import Runner
from bot.service.owner import OwnerService
from tests.e2e.support import ACTOR, Leader, World
from tests.waiting import wait_until


async def mirroring(world: World) -> tuple[Leader, str, Runner]:
    """A follower (E_F 1,000) mirroring a leader (E_S 100,000, ρ 0.01) that holds 10 ETH."""
    await world.set_mids(ETH="3000", BTC="60000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address)
    runner = await world.start_runner()
    await world.leader_to(leader, "ETH", "10")
    await world.follower_at(follower, "ETH", "0.1")
    await world.settle()
    return leader, follower, runner


async def control(world: World, runner: Runner, action: str, follower: str) -> None:
    """The CLI's call (no hooks: another process), then the runner's plans sync that applies it."""
    assert world.service is not None
    await getattr(OwnerService(world.service), action)(ACTOR, [follower])
    await runner.sync_plans()


async def reasons(world: World, follower: str, coin: str) -> list[str | None]:
    assert world.ledger is not None
    async with session_factory(world.ledger.engine)() as session:
        query = select(CopyInstruction).where(
            CopyInstruction.follower == follower.lower(), CopyInstruction.coin == coin
        )
        return [row.reason for row in (await session.exec(query)).all()]


def skipped(world: World) -> int:
    return sum(1 for a in world.alerts.of_kind(AlertKind.SKIPPED) if a.reason == "paused")


async def skips(world: World) -> int:
    return skipped(world)


async def test_pause_skips_opens_and_increases_and_mirrors_reductions_and_closes(world: World) -> None:
    leader, follower, runner = await mirroring(world)
    await control(world, runner, "pause", follower)

    await world.leader_to(leader, "ETH", "15")  # an increase: skipped
    await world.leader_to(leader, "BTC", "1")  # an open: skipped
    await wait_until(lambda: skips(world), "two skips", equals=2)
    await world.settle()
    assert await world.position(follower, "ETH") == Decimal("0.1")
    assert await world.position(follower, "BTC") == 0
    assert "paused" in await reasons(world, follower, "BTC")
    # One message per paused trade (issue #19): the skip, not also a guard alert saying the same.
    assert [a.kind for a in world.alerts.recent if a.coin == "BTC"] == [AlertKind.SKIPPED]
    assert not [a for a in world.alerts.of_kind(AlertKind.GUARD) if a.reason == "paused"]

    await world.leader_to(leader, "ETH", "6")  # a decrease: mirrored on the un-grown τ (0.1 × 6/15)
    await world.follower_at(follower, "ETH", "0.04")
    await world.leader_to(leader, "ETH", "0")  # a close: mirrored
    await world.follower_at(follower, "ETH", "0")


async def test_a_flip_while_paused_closes_and_does_not_open_the_new_side(world: World) -> None:
    leader, follower, runner = await mirroring(world)
    await control(world, runner, "pause", follower)
    await world.leader_to(leader, "ETH", "-5")
    await world.follower_at(follower, "ETH", "0", what="the flip's close")
    await world.settle()
    assert await world.position(follower, "ETH") == 0  # the short side was not opened
    await world.leader_to(leader, "ETH", "-8")  # that short is untracked: its increase is ignored too
    await world.settle()
    assert await world.position(follower, "ETH") == 0


async def test_not_paused_the_same_changes_are_copied(world: World) -> None:
    leader, follower, _ = await mirroring(world)
    await world.leader_to(leader, "ETH", "15")
    await world.follower_at(follower, "ETH", "0.15")
    await world.leader_to(leader, "BTC", "1")
    await world.follower_at(follower, "BTC", "0.01")
    assert skipped(world) == 0


async def test_resume_copies_the_next_change_and_catches_up_nothing(world: World) -> None:
    leader, follower, runner = await mirroring(world)
    await control(world, runner, "pause", follower)
    await world.leader_to(leader, "ETH", "15")  # skipped: τ stays 0.1
    await wait_until(lambda: skips(world), "the skip", equals=1)
    await world.settle()

    await control(world, runner, "resume", follower)
    assert await runner.reconcile() == 0  # in sync: the skipped growth is not owed
    assert await world.position(follower, "ETH") == Decimal("0.1")
    await world.leader_to(leader, "ETH", "20")  # the next increase: τ + ρ₀ · 5 = 0.15
    await world.follower_at(follower, "ETH", "0.15")


async def test_a_pause_survives_a_restart(world: World) -> None:
    leader, follower, runner = await mirroring(world)
    await control(world, runner, "pause", follower)
    await runner.stop()
    runner = await world.start_runner()  # the state is read from the ledger at start
    await world.leader_to(leader, "ETH", "15")
    await wait_until(lambda: skips(world), "the skip after the restart", equals=1)
    await world.settle()
    assert await world.position(follower, "ETH") == Decimal("0.1")


async def test_resume_rechecks_the_equity_floor_and_lifts_it_once_above(world: World) -> None:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address, equity_floor="990")
    runner = await world.start_runner()
    await world.leader_to(leader, "ETH", "10")
    await world.follower_at(follower, "ETH", "0.1")
    await world.set_mids(ETH="2500")  # −$50: below the floor
    await world.settle()
    await world.leader_to(leader, "ETH", "15")  # suspended: not sent (τ moves on: 0.15)
    await world.settle()
    assert await world.position(follower, "ETH") == Decimal("0.1")

    await control(world, runner, "resume", follower)  # still below: the suspension stays
    assert [a.message for a in world.alerts.of_kind(AlertKind.GUARD) if a.message.startswith("resumed, but")]
    assert await runner.reconcile() == 0
    assert await world.position(follower, "ETH") == Decimal("0.1")

    await world.control({"type": "fund", "user": follower, "usdc": "100"})
    await world.settle()  # the equity read now is above the floor
    await control(world, runner, "resume", follower)  # a second resume: the state was running all along
    assert await runner.reconcile() == 1  # lifted: the pass catches up to τ under catch_up
    assert await world.position(follower, "ETH") == Decimal("0.15")


async def test_a_resume_is_carried_out_once_not_again_after_a_restart(world: World) -> None:
    leader, follower, runner = await mirroring(world)
    await control(world, runner, "pause", follower)
    await control(world, runner, "resume", follower)
    assert runner.copier is not None
    gate = runner.copier.risk
    resumed = gate.book.control_applied(follower.lower())
    assert resumed is not None
    await world.set_mids(ETH="2000")  # a loss after the resume …
    await runner.stop()
    runner = await world.start_runner()  # … is not acknowledged again by the old resume at start
    assert runner.copier is not None and runner.copier.risk.book.control_applied(follower.lower()) == resumed
    await world.leader_to(leader, "ETH", "15")
    await world.follower_at(follower, "ETH", "0.15")  # and copying runs: not paused
