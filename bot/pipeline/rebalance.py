"""Portfolio-allocation mode's rebalance ticks (SPEC §9) on the runner's scheduler, and the out-of-sync
policy `rebalance` (the recovery from a sync disruption) for the reconciliation pass.

Ticks: one APScheduler job per active allocation follow (follower, source), every `rebalance_every`
seconds, kept in step with the applied plans (`schedule`, after every plan sync). A tick reads the
source's and the follower's equities now (`ρ(now)`), prices every pair at a fresh mid and asks the
engine (`Follower.tick`); a pair outside its no-trade band is traded under its lock like any decision,
one inside it holds (logged, not recorded: the next tick decides afresh from the same state).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable

from bot.logs import log_event
from bot.pipeline.copier import Copier
from bot.pipeline.desk import Desk
from bot.pipeline.execute import DecisionKey, now_ms
from bot.pipeline.jobs import Job, Jobs
from strategies.allocation import AllocationSizing
from strategies.model import Status

log = logging.getLogger(__name__)

JOB_PREFIX = "rebalance:"


def allocation_follows(desks: Iterable[Desk]) -> list[tuple[Desk, str, int]]:
    """Every active allocation follow: (desk, source, seconds between its ticks)."""
    out: list[tuple[Desk, str, int]] = []
    for desk in desks:
        for source, loaded in desk.plans.items():
            sizing = loaded.settings.config.sizing
            if loaded.settings.active and isinstance(sizing, AllocationSizing):
                out.append((desk, source, sizing.every_s))
    return out


class Rebalancer:
    def __init__(self, copier: Copier, jobs: Jobs) -> None:
        self.copier = copier
        self.jobs = jobs
        self.ticks = 0  # ticks begun (tests and the benchmark read it)

    def schedule(self) -> None:
        """One job per active allocation follow, at its own interval; the others removed."""
        wanted: dict[str, tuple[float, Job]] = {
            f"{JOB_PREFIX}{d.address}:{source}": (every, functools.partial(self.tick, d.address, source))
            for d, source, every in allocation_follows(self.copier.desks.values())
        }
        self.jobs.keep(JOB_PREFIX, wanted)

    async def tick(self, follower: str, source: str) -> int:
        """One rebalance tick of `follower`'s pairs copied from `source`; the number of orders sent."""
        copier = self.copier
        desk = copier.desks.get(follower)
        if desk is None or source not in desk.engine.follows:
            return 0
        self.ticks += 1
        await copier.accounts.refresh([source])  # E_S, E_F and p as the venue has them now: ρ(now)
        copier.followers.set_mids(desk, await copier.followers.mids())
        key = DecisionKey(source, f"rebalance:{now_ms()}", record_idle=False)
        sent = 0
        for coin, pair in sorted(desk.engine.pairs.items()):
            if pair.source != source or pair.status is not Status.TRACKING:
                continue
            async with desk.lock(coin):
                decision = desk.engine.tick(coin)
                if decision is None:
                    continue
                if decision.order is None:
                    log_event(
                        log,
                        "rebalance_hold",
                        follower=desk.address,
                        coin=coin,
                        reason=None if decision.reason is None else decision.reason.value,
                    )
                    continue
                before = desk.epoch(coin)
                await copier.executor.carry_out(desk, decision, key)
                sent += desk.epoch(coin) != before  # sent, not refused by a runtime guard
        log_event(log, "rebalanced", follower=desk.address, source=source, orders=sent)
        return sent
