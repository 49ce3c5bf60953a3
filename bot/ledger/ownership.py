"""Ownership leases of the distributed roles (issue #15, docs/cluster.md), and the fencing rule.

Each source is owned by one watcher, each follower by one copy worker, through a row of
`ownership_lease` (revision 0007): the holding process, a fencing `epoch` and a heartbeat expiry.

- `acquire` takes the keys that are free, released or expired (and keeps the ones already ours), each
  with a compare-and-swap on the row version read, so of two processes racing for one key exactly one
  wins, on SQLite and PostgreSQL alike. Every acquisition raises the key's epoch; it never goes down.
- The holder `renew`s all its leases in one statement every heartbeat; what it finds no longer its own
  (taken over after it was silent past the expiry) it drops.
- **The fencing rule** (`check_fence`): an intent for a follower is written only in a transaction that
  also proves the writer's epoch is that follower's current one. The check is an UPDATE of the lease row
  that changes nothing (`epoch = epoch`) guarded by the epoch: it locks the row until the intent's
  transaction ends, so a takeover (which raises the epoch) is ordered before or after the write, never
  in between. A process that froze past its expiry (SIGSTOP, a partition) and was replaced cannot write
  an intent with its old epoch, so it cannot send: the pipeline sends only intents it wrote.
- Expiry is the holder's clock against the taker's: hosts sharing a ledger keep their clocks within a
  small part of the lease (NTP). Safety does not depend on clocks — the epoch does that — only liveness.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.ledger.db import create_engine
from bot.ledger.lease import ACQUIRE_ATTEMPTS, ACQUIRE_BACKOFF_S, Holder, _utcnow
from bot.ledger.models import OwnershipLease
from bot.ledger.values import LedgerError

_TABLE = OwnershipLease.__table__  # type: ignore[attr-defined]
TTL_S = 4.0  # a lease expires this long after its last heartbeat: 2 heartbeats of 2 s (SCALE.md)

T = TypeVar("T")

# A follower → the writer's epoch for it: what a write of intents carries (`Ledger.record_decisions`).
Fence = Mapping[str, int]


class LeaseKind(StrEnum):
    SOURCE = "source"  # owned by a watcher
    FOLLOWER = "follower"  # owned by a copy worker
    # A process's own row (name: its own, unique among the live ones of its role): its heartbeat says
    # it is alive, so the live ones share the work; it carries the budget the process declared.
    WATCHER = "watcher"
    WORKER = "worker"
    CONTROL = "control"


@dataclass(frozen=True, slots=True)
class Budget:
    """What one process may spend from its egress IP (Hyperliquid limits per IP, docs/cluster.md)."""

    ws_users: int | None = None  # websocket user subscriptions (the venue allows 10 per IP)
    weight_per_min: int | None = None  # REST request weight per minute (the venue allows 1,200 per IP)


class Fenced(LedgerError):
    """An intent was written with an epoch that is not its follower's current one: the writer lost
    the lease (it froze or was cut off, and another process owns the follower now). Nothing was
    written; the writer must stop acting for that follower."""


def lock_followers(conn: Connection, followers: Sequence[str]) -> None:
    """Lock the followers' lease rows until the transaction ends, by name first: an UPDATE locks them in
    its scan order, which deadlocked with a holder's renewal locking its hundreds of rows by name
    (bench.scale, PostgreSQL; SQLite ignores it). What writes for a follower under its epoch locks so."""
    conn.execute(
        select(_TABLE.c.name)
        .where(_TABLE.c.kind == LeaseKind.FOLLOWER.value, _TABLE.c.name.in_(followers))
        .order_by(_TABLE.c.name)
        .with_for_update()
    )


def check_fence(conn: Connection, followers: Iterable[str], fence: Fence) -> None:
    """In the transaction that writes intents for `followers`: raise `Fenced` unless `fence` holds each
    one's current, unreleased epoch. Locks the lease rows until the transaction ends (see above)."""
    wanted = sorted({f.lower() for f in followers})  # one order for every writer: no deadlock
    if not wanted:
        return
    fence = {k.lower(): v for k, v in fence.items()}
    missing = [f for f in wanted if f not in fence]
    if missing:
        raise Fenced(
            f"no lease epoch given for follower {missing[0]}: an intent is written only by its owner"
        )
    pairs = [(f, fence[f]) for f in wanted]
    lock_followers(conn, wanted)
    touched = conn.execute(
        update(_TABLE)
        .where(
            _TABLE.c.kind == LeaseKind.FOLLOWER.value,
            tuple_(_TABLE.c.name, _TABLE.c.epoch).in_(pairs),
            _TABLE.c.released_at.is_(None),
        )
        .values(epoch=_TABLE.c.epoch)
    )
    if touched.rowcount == len(pairs):
        return
    rows = {
        r.name: r
        for r in conn.execute(
            select(_TABLE).where(_TABLE.c.kind == LeaseKind.FOLLOWER.value, _TABLE.c.name.in_(wanted))
        )
    }
    for follower, epoch in pairs:
        row = rows.get(follower)
        if row is None:
            raise Fenced(f"follower {follower} has no lease: an intent is written only by its owner")
        if row.epoch != epoch or row.released_at is not None:
            now = (
                "released"
                if row.released_at is not None
                else f"epoch {row.epoch}, pid {row.pid} on {row.host}"
            )
            raise Fenced(
                f"follower {follower}: lease epoch {epoch} is stale (now {now}); this process lost it"
            )


class Ownership:
    """One process's leases of one kind: `acquire(keys)`, `renew()` every heartbeat, `release()`."""

    def __init__(
        self,
        engine: AsyncEngine,
        kind: LeaseKind,
        *,
        holder: Holder | None = None,
        ttl_s: float = TTL_S,
        clock: Callable[[], datetime] = _utcnow,
        budget: Budget | None = None,
    ) -> None:
        self.engine, self.kind, self.ttl_s, self.clock = engine, kind, ttl_s, clock
        self.holder = holder or Holder()
        self.budget = budget or Budget()
        self.held: dict[str, int] = {}  # key → epoch, as last acquired or renewed

    @property
    def fence(self) -> Fence:
        """What this process's writes of intents carry (followers only)."""
        return dict(self.held)

    def _claim(self, now: datetime) -> dict[str, Any]:
        return {
            "holder": self.holder.token,
            "pid": self.holder.pid,
            "host": self.holder.host,
            "acquired_at": now,
            "heartbeat_at": now,
            "expires_at": now + timedelta(seconds=self.ttl_s),
            "released_at": None,
            "ws_users": self.budget.ws_users,
            "weight_per_min": self.budget.weight_per_min,
        }

    def _take(self, conn: Connection, keys: list[str], now: datetime, limit: int | None) -> dict[str, int]:
        """Keep what of `keys` is ours; take what is free (no row, released, expired), at most `limit`
        new ones, in the order of `keys`."""
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        claim = self._claim(now)
        rows = {
            r.name: r
            for r in conn.execute(
                select(_TABLE).where(_TABLE.c.kind == self.kind.value, _TABLE.c.name.in_(keys))
            )
        }
        ours = [r for r in rows.values() if r.holder == self.holder.token and r.released_at is None]
        free = [
            k
            for k in keys
            if k not in rows
            or rows[k].released_at is not None
            or (rows[k].expires_at <= now and rows[k].holder != self.holder.token)
        ]
        free = free if limit is None else free[: max(0, limit)]
        missing = [k for k in free if k not in rows]
        taken: dict[str, int] = {}
        if missing:
            new = conn.execute(
                insert(_TABLE)
                .on_conflict_do_nothing(index_elements=["kind", "name"])
                .returning(_TABLE.c.name),
                [{"kind": self.kind.value, "name": k, "epoch": 1, **claim} for k in missing],
            )
            taken = dict.fromkeys((r.name for r in new), 1)
        for row in sorted(ours + [rows[k] for k in free if k in rows], key=lambda r: r.name):  # by name
            ours_now = row.holder == self.holder.token and row.released_at is None
            # Compare-and-swap on the version read: a concurrent taker of the same key loses here.
            epoch = row.epoch if ours_now else row.epoch + 1
            swapped = conn.execute(
                update(_TABLE)
                .where(
                    _TABLE.c.kind == self.kind.value,
                    _TABLE.c.name == row.name,
                    _TABLE.c.epoch == row.epoch,
                    _TABLE.c.holder == row.holder,
                )
                .values(epoch=epoch, **({**claim, "acquired_at": row.acquired_at} if ours_now else claim))
            )
            if swapped.rowcount == 1:
                taken[row.name] = epoch
        return taken

    async def acquire(self, keys: Iterable[str], *, limit: int | None = None) -> dict[str, int]:
        """Take what of `keys` is free, released or expired — at most `limit` new ones, in the order
        given — keeping what is already ours with a fresh expiry; key → epoch for every key of `keys`
        held now. Keys held by another live process are skipped: what is taken is the first `limit` of
        the free keys in the order given (of two racing takers, each key goes to one)."""
        wanted = list(dict.fromkeys(k.strip().lower() for k in keys))
        if not wanted:
            return {}
        taken = await _retrying(
            self.engine, self.clock, lambda conn, now: self._take(conn, wanted, now, limit)
        )
        self.held.update(taken)
        return taken

    def _renew(self, conn: Connection, now: datetime) -> dict[str, int]:
        _extend(conn, [self.kind], self.holder.token, now, self.ttl_s)
        rows = conn.execute(
            select(_TABLE.c.name, _TABLE.c.epoch).where(
                _TABLE.c.kind == self.kind.value,
                _TABLE.c.holder == self.holder.token,
                _TABLE.c.released_at.is_(None),
            )
        )
        return {r.name: r.epoch for r in rows}

    async def renew(self) -> set[str]:
        """Extend every lease of ours; the keys lost since the last renewal (taken over by another)."""
        still = await _retrying(self.engine, self.clock, self._renew)
        lost = {k for k, epoch in self.held.items() if still.get(k) != epoch}
        self.held = {k: e for k, e in self.held.items() if k not in lost}
        return lost

    async def release(self, keys: Iterable[str] | None = None) -> None:
        """Give up `keys` (all when None) so another process takes them at once; leases already taken
        by another are left alone."""
        gone = list(self.held) if keys is None else [k.strip().lower() for k in keys]
        if not gone:
            return
        now = self.clock()
        async with self.engine.begin() as conn:
            await conn.execute(
                update(_TABLE)
                .where(
                    _TABLE.c.kind == self.kind.value,
                    _TABLE.c.holder == self.holder.token,
                    _TABLE.c.name.in_(gone),
                )
                .values(released_at=now)
            )
        for k in gone:
            self.held.pop(k, None)


def _extend(conn: Connection, kinds: Sequence[LeaseKind], token: str, now: datetime, ttl_s: float) -> int:
    """Extend every unreleased lease of `kinds` that `token` holds; how many. The rows are locked by
    (kind, name) first, the order the fencing rule and `_take` lock them in: renewing in the table's
    scan order deadlocked with them (PostgreSQL; SQLite ignores FOR UPDATE)."""
    mine = (
        _TABLE.c.kind.in_([k.value for k in kinds]),
        _TABLE.c.holder == token,
        _TABLE.c.released_at.is_(None),
    )
    conn.execute(select(_TABLE.c.name).where(*mine).order_by(_TABLE.c.kind, _TABLE.c.name).with_for_update())
    extended = conn.execute(
        update(_TABLE).where(*mine).values(heartbeat_at=now, expires_at=now + timedelta(seconds=ttl_s))
    )
    return int(extended.rowcount)


async def keep_alive(
    engine: AsyncEngine,
    kinds: Sequence[LeaseKind],
    holder: Holder,
    *,
    ttl_s: float,
    clock: Callable[[], datetime] | None = None,
) -> int:
    """Extend every lease of `kinds` held by `holder` (a process's own row and its work, at once) without
    taking, giving or checking anything: what a process's keep-alive thread writes between the
    heartbeats of its event loop (bot/cluster/keepalive.py). Leases already taken by another are not
    its to extend (another holder); released ones stay released. How many were extended."""

    def extend(conn: Connection, now: datetime) -> int:
        return _extend(conn, kinds, holder.token, now, ttl_s)

    return await _retrying(engine, clock or _utcnow, extend)


class Keeper:
    """`keep_alive` for one holder over a ledger connection of its own, for a thread with its own event
    loop (bot/cluster/keepalive.py): the ledger's engine is bound to the process's loop."""

    def __init__(
        self,
        engine: AsyncEngine,
        kinds: Sequence[LeaseKind],
        holder: Holder,
        *,
        ttl_s: float,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._url = engine.url.render_as_string(hide_password=False)
        self.kinds, self.holder, self.ttl_s, self.clock = list(kinds), holder, ttl_s, clock
        self._engine: AsyncEngine | None = None

    async def extend(self) -> int:
        """Extend the holder's leases now (its engine opened in the running loop the first time)."""
        if self._engine is None:
            self._engine = create_engine(self._url)
        return await keep_alive(self._engine, self.kinds, self.holder, ttl_s=self.ttl_s, clock=self.clock)

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None


async def _retrying(
    engine: AsyncEngine, clock: Callable[[], datetime], work: Callable[[Connection, datetime], T]
) -> T:
    """One transaction; SQLite refuses a second writer at once ("database is locked") when two
    processes upgrade their reads together, PostgreSQL ends one of two transactions that wait on
    each other's rows ("deadlock detected"): that one tries again on a fresh read."""
    for attempt in range(ACQUIRE_ATTEMPTS):
        now = clock()
        try:
            async with engine.begin() as conn:
                return await conn.run_sync(work, now)
        except DBAPIError as exc:
            if not _contended(exc) or attempt == ACQUIRE_ATTEMPTS - 1:
                raise
            await asyncio.sleep(ACQUIRE_BACKOFF_S * (attempt + 1))
    raise AssertionError("unreachable")


async def leases(engine: AsyncEngine, kind: LeaseKind | None = None) -> list[OwnershipLease]:
    """Every lease row (of `kind`), for `mirrorbot cluster status`."""
    query = select(_TABLE).order_by(_TABLE.c.kind, _TABLE.c.name)
    if kind is not None:
        query = query.where(_TABLE.c.kind == kind.value)
    async with engine.connect() as conn:
        return [OwnershipLease.model_validate(r._mapping) for r in await conn.execute(query)]


async def live(engine: AsyncEngine, kind: LeaseKind, now: datetime | None = None) -> list[OwnershipLease]:
    """The leases of `kind` held now (not released, not expired): for a process role, the live
    processes of that role."""
    at = now or _utcnow()
    query = (
        select(_TABLE)
        .where(_TABLE.c.kind == kind.value, _TABLE.c.released_at.is_(None), _TABLE.c.expires_at > at)
        .order_by(_TABLE.c.name)
    )
    async with engine.connect() as conn:
        return [OwnershipLease.model_validate(r._mapping) for r in await conn.execute(query)]


def _contended(exc: DBAPIError) -> bool:
    """A transaction refused only because another held what it needed: worth one more try."""
    return "database is locked" in str(exc) or "deadlock detected" in str(exc)
