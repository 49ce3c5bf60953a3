"""`mirrorbot cluster status`: every process of the cluster (role, name, pid, host, heartbeat, budget, what
it holds), the leases (who owns each source and follower, what nobody owns), the bus's lag per copy
worker, and each source's staleness (how old the heartbeat of the watcher that watches it is; a source
nobody watches is stale since its lease expired, or was never watched)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.bus.streams import Bus
from bot.ledger import Ledger
from bot.ledger.ids import normalise_account
from bot.ledger.models import OwnershipLease
from bot.ledger.ownership import LeaseKind, leases

ROLES = (LeaseKind.WATCHER, LeaseKind.WORKER, LeaseKind.CONTROL)
WORK_OF = {LeaseKind.WATCHER: LeaseKind.SOURCE, LeaseKind.WORKER: LeaseKind.FOLLOWER}


@dataclass(frozen=True, slots=True)
class Process:
    role: str
    name: str
    pid: int
    host: str
    alive: bool
    heartbeat_age_s: float
    ws_users: int | None
    weight_per_min: int | None
    holds: int  # sources (a watcher) or followers (a copy worker) it owns now


@dataclass(frozen=True, slots=True)
class Owned:
    key: str
    owner: str | None  # the owning process's name; None: nobody owns it now
    epoch: int | None
    staleness_s: float | None  # how old the owner's heartbeat is; since expiry when unowned (None: never)


@dataclass(frozen=True, slots=True)
class GroupLag:
    group: str
    pending: int  # delivered, not acknowledged
    lag: int | None  # not delivered yet


@dataclass
class ClusterStatus:
    at: datetime
    processes: list[Process] = field(default_factory=list)
    sources: list[Owned] = field(default_factory=list)
    followers: list[Owned] = field(default_factory=list)
    streams: list[GroupLag] = field(default_factory=list)
    bus_error: str | None = None

    @property
    def unowned(self) -> dict[str, list[str]]:
        return {
            "sources": [s.key for s in self.sources if s.owner is None],
            "followers": [f.key for f in self.followers if f.owner is None],
        }

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["at"] = self.at.isoformat()
        out["unowned"] = self.unowned
        return out


def _age(row: OwnershipLease, now: datetime) -> float:
    return round((now - row.heartbeat_at).total_seconds(), 3)


def _owned(keys: list[str], rows: list[OwnershipLease], names: dict[str, str], now: datetime) -> list[Owned]:
    by_key = {r.name: r for r in rows}
    out: list[Owned] = []
    for key in keys:
        row = by_key.get(key)
        if row is None:
            out.append(Owned(key, None, None, None))
        elif row.released_at is None and row.expires_at > now:
            out.append(Owned(key, names.get(row.holder, "?"), row.epoch, _age(row, now)))
        else:
            since = row.released_at or row.expires_at
            out.append(Owned(key, None, row.epoch, round((now - since).total_seconds(), 3)))
    return out


async def cluster_status(ledger: Ledger, venue: str, bus: Bus | None = None) -> ClusterStatus:
    """The cluster as the ledger's leases and the bus show it now."""
    now = datetime.now(UTC)
    rows = await leases(ledger.engine)
    status = ClusterStatus(now)
    held = Counter(
        r.holder
        for r in rows
        if r.kind in (LeaseKind.SOURCE, LeaseKind.FOLLOWER) and r.released_at is None and r.expires_at > now
    )
    names: dict[str, str] = {}
    for row in rows:
        if row.kind not in ROLES:
            continue
        alive = row.released_at is None and row.expires_at > now
        if alive:
            names[row.holder] = row.name
        if row.released_at is None:  # a process that stopped cleanly is not listed
            status.processes.append(
                Process(
                    row.kind,
                    row.name,
                    row.pid,
                    row.host,
                    alive,
                    _age(row, now),
                    row.ws_users,
                    row.weight_per_min,
                    held[row.holder] if alive else 0,
                )
            )
    plans = await ledger.current_plans()
    sources = sorted({normalise_account(p.source) for p in plans})
    followers = sorted({normalise_account(a.address) for a in await ledger.accounts() if a.venue == venue})
    status.sources = _owned(sources, [r for r in rows if r.kind == LeaseKind.SOURCE], names, now)
    status.followers = _owned(followers, [r for r in rows if r.kind == LeaseKind.FOLLOWER], names, now)
    if bus is not None:
        try:
            for group, lags in sorted((await bus.lags()).items()):
                known = [g.lag for g in lags]
                total = None if any(v is None for v in known) else sum(v or 0 for v in known)
                status.streams.append(GroupLag(group, sum(g.pending for g in lags), total))
        except Exception as exc:  # the status still shows the ledger's side
            bus.saw(exc)
            status.bus_error = bus.error
        else:
            bus.saw(None)
    return status


def render(status: ClusterStatus) -> str:
    """The status as text lines for a terminal."""
    lines = [f"cluster at {status.at:%Y-%m-%d %H:%M:%S} UTC"]
    lines.append("processes:")
    for p in status.processes or []:
        budget = f"ws {p.ws_users if p.ws_users is not None else '-'}, weight/min {p.weight_per_min or '-'}"
        state = "alive" if p.alive else "LOST"
        lines.append(
            f"  {p.role:<8} {p.name:<16} {state:<5} pid {p.pid} on {p.host}, "
            f"heartbeat {p.heartbeat_age_s:.1f} s ago, holds {p.holds} ({budget})"
        )
    if not status.processes:
        lines.append("  none")
    for title, items in (("sources", status.sources), ("followers", status.followers)):
        owned = sum(1 for i in items if i.owner is not None)
        lines.append(f"{title}: {owned} of {len(items)} owned")
        for item in items:
            if item.owner is None:
                since = "never watched" if item.staleness_s is None else f"stale for {item.staleness_s:.1f} s"
                lines.append(f"  {item.key}  UNOWNED ({since})")
            elif title == "sources":
                lines.append(
                    f"  {item.key}  {item.owner} epoch {item.epoch}, staleness {item.staleness_s:.1f} s"
                )
    lines.append("bus:")
    if status.bus_error:
        lines.append(f"  unreachable: {status.bus_error}")
    for g in status.streams:
        lines.append(f"  {g.group:<20} pending {g.pending}, lag {'?' if g.lag is None else g.lag}")
    if not status.streams and not status.bus_error:
        lines.append("  no consumer groups")
    return "\n".join(lines)
