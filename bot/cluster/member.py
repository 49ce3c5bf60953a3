"""One process of the cluster: its own row (its role, its name, its budget, its heartbeat) and its share of
the work (sources for a watcher, followers for a copy worker), leased with fencing epochs.

Every heartbeat (`beat`) the process renews its leases, counts the live processes of its role and takes
its fair share of the work that is free: `ceil(work / live)`, never more than its budget allows (`cap`).
A process holding more than its share (another joined) gives the excess back, last ones first, so the
newcomer takes it at its next beat. Work whose holder died (no heartbeat for `ttl` = 2 heartbeats) is free
again: the live processes take it at their next beat.

The order of the work (`beat(wanted)`) is what a process takes first and keeps longest: it takes the first
free keys in that order, up to its share, and gives back the last of its own. So when the order keeps
related work adjacent (a copy worker's followers by source, bot/cluster/worker.py), every take and
every give-back is a run in it, and related work is split between two processes only where a share
boundary falls inside it: at most one group per boundary. When the share is a whole number of groups
(as many followers per source, a multiple of them per process), joins and failovers keep every group
on one process; a process may hold two runs after a failover (it takes the free ones where they are),
each still of whole groups.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.cluster.keepalive import KeepAlive
from bot.ledger import Ledger
from bot.ledger.lease import Holder
from bot.ledger.ownership import Budget, Keeper, LeaseKind, Ownership, live
from bot.logs import log_event

log = logging.getLogger(__name__)

DEFAULT_HEARTBEAT_S = 2.0
HEARTBEATS_PER_LEASE = 2  # a lease outlives its holder's last heartbeat by this many heartbeats


class ClusterError(Exception):
    """The process cannot join the cluster (its name is taken by a live process); the message says so."""


@dataclass(frozen=True, slots=True)
class Beat:
    """What one heartbeat changed: the work taken and the work given up or lost."""

    gained: frozenset[str]
    lost: frozenset[str]

    @property
    def changed(self) -> bool:
        return bool(self.gained or self.lost)


def fair_share(work: int, processes: int, cap: int | None) -> int:
    """How much of `work` one of `processes` live processes takes: an even share, within its `cap`."""
    share = math.ceil(work / max(1, processes))
    return share if cap is None else min(share, cap)


class Member:
    def __init__(
        self,
        ledger: Ledger,
        role: LeaseKind,
        work: LeaseKind,
        name: str,
        *,
        heartbeat_s: float = DEFAULT_HEARTBEAT_S,
        budget: Budget | None = None,
        cap: int | None = None,
        clock: Callable[[], datetime] | None = None,
        keepalive: bool = False,
    ) -> None:
        self.role, self.name, self.cap = role, name.strip().lower(), cap
        self.engine = engine = ledger.engine
        self.heartbeat_s = heartbeat_s
        self.holder = Holder()
        ttl = heartbeat_s * HEARTBEATS_PER_LEASE
        timing: dict[str, Any] = {"ttl_s": ttl} | ({} if clock is None else {"clock": clock})
        self.me = Ownership(engine, role, holder=self.holder, budget=budget, **timing)
        self.work = Ownership(engine, work, holder=self.holder, **timing)
        self._clock = clock
        # A thread extending the leases between heartbeats (bot/cluster/keepalive.py): the roles' processes
        # have one, so work on their event loop cannot starve the leases; in-process tests drive `beat`.
        keeper = Keeper(engine, [role, work], self.holder, ttl_s=ttl, clock=clock)
        self.keepalive = (
            KeepAlive(keeper, heartbeat_s=heartbeat_s, ttl_s=ttl, beaten=lambda: self._beaten)
            if keepalive
            else None
        )
        self._renewed = -math.inf  # time.monotonic() of the last renewal of the work
        self._beaten = -math.inf  # time.monotonic() of the last beat's renewal of the row and the work
        # How the work moved since start: "gained", "released" (given back to rebalance), "lost" (taken
        # over, or expired while this process was silent): the role's metrics.
        self.moves: Counter[str] = Counter()
        # The work that left this process (lost, or given back) since its user last dropped what it had
        # loaded for it: work regained meanwhile — even within one heartbeat, lost and taken back in one
        # `beat` — must not keep state from before (another process acted for it): reloaded, see
        # bot/cluster/worker.py.
        self.departed: set[str] = set()

    @property
    def held(self) -> set[str]:
        return set(self.work.held)

    @property
    def heartbeat_age_s(self) -> float:
        """Seconds since the work's leases were last renewed (a ledger write that succeeded; inf: never)."""
        return time.monotonic() - self._renewed

    @property
    def overdue(self) -> bool:
        """Whether the last renewal is older than a lease: this process may have been frozen (SIGSTOP,
        a pause) and replaced, or cannot write to the ledger; it must renew before it acts for its work
        again (and is not ready meanwhile)."""
        return self.heartbeat_age_s > self.heartbeat_s * HEARTBEATS_PER_LEASE

    async def renew(self) -> set[str]:
        """Renew the work's leases now; what was lost (taken over by another)."""
        lost = await self.work.renew()
        self._renewed = time.monotonic()
        self.moves["lost"] += len(lost)
        self.departed |= lost
        return lost

    async def join(self) -> None:
        """Register this process under its name (refused while a live process has that name)."""
        if not await self.me.acquire([self.name]):
            raise ClusterError(
                f"another live {self.role.value} is named {self.name!r}: give this one another --name"
            )
        if self.keepalive is not None:
            self.keepalive.start()

    async def beat(self, wanted: Sequence[str], *, take: bool = True) -> Beat:
        """Renew, give back what is no longer wanted or over the share, take the share of what is free.
        `wanted`: all the work there is, the most important first: the free keys are taken in this order
        (the first `share - held` of them), and a process over its share gives back its last ones in
        it (a suffix of what it holds), so a run of `wanted` is taken and given back as runs.
        `take=False`: renew and give back only (a worker still loading what it took last time takes no
        more until it has: what it could not serve yet is better left to the others)."""
        if await self.me.renew():  # our own row was taken: we were silent past our lease
            await self.me.acquire([self.name])
        lost = await self.renew()
        self._beaten = time.monotonic()
        keys = list(dict.fromkeys(k.strip().lower() for k in wanted))
        processes = len(await live(self.engine, self.role, None if self._clock is None else self._clock()))
        share = fair_share(len(keys), processes, self.cap)
        order = {k: i for i, k in enumerate(keys)}
        mine = sorted(self.work.held, key=lambda k: order.get(k, -1))
        extra = [k for k in mine if k not in order] + [k for k in mine if k in order][share:]
        if extra:
            await self.work.release(extra)
            self.departed.update(extra)
        before = set(self.work.held)
        room = share - len(before) if take else 0
        if room > 0:
            await self.work.acquire([k for k in keys if k not in before], limit=room)
        gained = frozenset(set(self.work.held) - before)
        gone = frozenset(lost | set(extra))
        self.moves["gained"] += len(gained)
        self.moves["released"] += len(extra)
        if gained or gone:
            log_event(
                log,
                "ownership_changed",
                role=self.role.value,
                name=self.name,
                gained=sorted(gained),
                lost=sorted(gone),
                held=len(self.work.held),
                share=share,
                processes=processes,
            )
        return Beat(gained, gone)

    async def leave(self) -> None:
        """Give everything back at once (a clean stop): the others take it at their next beat."""
        if self.keepalive is not None:  # its last extension ends before the leases are given back
            await self.keepalive.stop()
        await self.work.release()
        await self.me.release()
