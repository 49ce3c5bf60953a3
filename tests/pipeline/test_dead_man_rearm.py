"""Re-arming the dead-man switch while the followers change (found while testing issue #15's workers: a
copy worker's follower released mid-pass raised "dictionary changed size during iteration" out of the
re-arm job, so the followers after it were not re-armed). The real runner on the localnet; the venue's
`schedule_cancel` is observed, and a follower dropped while the pass is under way, as `_drop` does."""

from __future__ import annotations

from bot.domain import TradingAccount
from bot.ledger.ids import normalise_account
from tests.e2e.support import World


async def test_a_follower_dropped_during_the_re_arm_pass_leaves_the_others_re_armed(world: World) -> None:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    followers = [await world.master_follower("1000") for _ in range(3)]
    for follower in followers:
        await world.follow(follower, leader.address)
    runner = await world.start_runner()
    copier = runner.copier
    assert copier is not None
    venue = runner.venue
    real = venue.schedule_cancel
    armed: list[str] = []

    dropped: list[str] = []

    async def arm_and_drop_the_last(account: TradingAccount, at_ms: int | None) -> None:
        armed.append(normalise_account(account.address))
        if not dropped:  # a follower released while the pass is at its first
            dropped.append(list(copier.desks)[-1])
            copier.desks.pop(dropped[0])
        await real(account, at_ms)

    venue.schedule_cancel = arm_and_drop_the_last  # type: ignore[method-assign]

    await runner.arm_dead_man_switch()

    # The pass went on over the others; the one dropped is no longer this process's to arm.
    assert sorted(armed) == sorted(set(followers) - set(dropped)) and len(armed) == 2
