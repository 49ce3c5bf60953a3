"""What a role of the multi-process mode says about itself: its readiness checks and `RoleView`, what its
ops port reads (bot/ops/roles.py; the commands start that port beside the role, as `mirrorbot run`'s).

Readiness (`/readyz`; a check's name is `run`'s where the fact is the same):
- `ledger`: the process's heartbeat — a ledger write renewing its row and its leases — succeeded within
  a lease: the ledger is writable and the process holds what it holds (or has nothing to hold);
- `bus`: Redis answered the last time this process asked (its own traffic; the ops port's ping);
- a watcher also `venue` and `websockets`; a copy worker `run`'s four, its `ledger` being the above.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bot.bus.streams import Bus
from bot.cluster.member import HEARTBEATS_PER_LEASE, Member
from bot.ledger.ownership import LeaseKind
from bot.pipeline.readiness import NOT_CHECKED, Check
from bot.redaction import redact_text

BUS = "bus"
WORK_KINDS = (LeaseKind.SOURCE, LeaseKind.FOLLOWER)  # a control process holds no work


def bus_check(bus: Bus) -> Check:
    """`bus`: whether Redis answered this process the last time it asked."""
    if bus.reachable is None:
        return Check(False, NOT_CHECKED)
    if bus.reachable:
        return Check(True, "answered")
    return Check(False, f"unreachable: {redact_text(bus.error)}")


def heartbeat_check(member: Member) -> Check:
    """`ledger`: the heartbeat (a ledger write renewing the process's leases) succeeded within a lease."""
    if math.isinf(member.heartbeat_age_s):
        return Check(False, "no heartbeat written yet")
    lease_s = member.heartbeat_s * HEARTBEATS_PER_LEASE
    if member.overdue:
        return Check(False, f"no heartbeat written within a lease ({lease_s:g} s)")
    kind = member.work.kind
    holds = f"; holds {len(member.held)} {kind.value} lease(s)" if kind in WORK_KINDS else ""
    return Check(True, f"heartbeat written within a lease ({lease_s:g} s){holds}")


def _zero() -> int:
    return 0


@dataclass
class RoleView:
    """What the ops port reads of a role's process (bot/ops/roles.py `RoleFeed`)."""

    member: Member
    bus: Bus
    checks: Callable[[], Mapping[str, Check]]
    group: str | None = None  # the consumer group whose stream lag it reports; None: every group
    published: Callable[[], int] = field(default=_zero)  # changes it put on the bus so far
    consumed: Callable[[], int] = field(default=_zero)  # bus entries it acknowledged so far

    @property
    def kind(self) -> str | None:
        """The kind of work it leases (`source`, `follower`); None: none (the control process)."""
        kind = self.member.work.kind
        return kind.value if kind in WORK_KINDS else None

    @property
    def held(self) -> int:
        return len(self.member.held)

    @property
    def moves(self) -> Mapping[str, int]:
        return self.member.moves

    @property
    def heartbeat_age_s(self) -> float:
        return self.member.heartbeat_age_s
