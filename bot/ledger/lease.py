"""One runner per follower venue on a ledger: a lease row (revision 0005), held while `mirrorbot run` runs.

Two runners on one ledger would both mirror every change (issue #14): only the venue's refusal of a
repeated cloid stopped the duplicate orders. So `Runner.start` takes the lease of its scope before it
reads or sends anything, and a second runner is refused with a message naming the holder (pid, host,
since when). Scope: `follower_venue:<venue>` — the Hyperliquid followers' runner and the GMX followers'
runner (`MIRROR_FOLLOWER_VENUE=gmx`) are two processes on one ledger and each holds its own lease.

- Acquisition is one transaction, a compare-and-swap on the row (insert if absent; else update only
  the row version that was read), so of two runners starting at once exactly one wins, on SQLite and on
  PostgreSQL alike. Every acquisition raises the fencing `epoch`.
- The holder renews its heartbeat every `renew_s`. A lease whose heartbeat is older than `stale_s` (the
  holder was killed with -9, its host died, it froze) is taken over; so is one whose holder is provably
  dead at once: same node (boot id + pid namespace) and its pid gone.
- A holder that finds its lease gone (taken over after it froze), or could not renew it for `stale_s`
  (another may have taken it), calls `on_lost`: the runner stops sending and stops.
- Times are this host's UTC clock: on a PostgreSQL shared by several hosts, `stale_s` must exceed their
  clock skew (NTP keeps it far below the 30 s default).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.ledger.models import RunnerLease

log = logging.getLogger(__name__)

STALE_S = 30.0  # a holder silent this long is presumed dead (MIRROR_LEASE_STALE_S)
RENEWALS_PER_STALE = 6  # renewed this many times within the stale bound: a few lost renewals are fine
RENEW_S = STALE_S / RENEWALS_PER_STALE
ACQUIRE_ATTEMPTS = 20  # SQLite's immediate "database is locked" when runners start at once (acquire)
ACQUIRE_BACKOFF_S = 0.02
_TABLE = RunnerLease.__table__  # type: ignore[attr-defined]


def lease_scope(follower_venue: str) -> str:
    return f"follower_venue:{follower_venue}"


def _node() -> str:
    """Where a pid names one process: this boot of this kernel, this pid namespace ('' off Linux)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
        return f"{boot}/{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        return ""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):  # a zombie (killed, not yet reaped) is dead for us
        return Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()[0] != "Z"
    return True


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds (or asks for) a lease."""

    pid: int = field(default_factory=os.getpid)
    host: str = field(default_factory=socket.gethostname)
    node: str = field(default_factory=_node)
    token: str = field(default_factory=lambda: secrets.token_hex(16))


class LeaseHeld(Exception):
    """Another live runner holds the lease; the message names it (pid, host, since when)."""

    def __init__(self, scope: str, row: RunnerLease, now: datetime) -> None:
        self.pid, self.host = row.pid, row.host
        venue = scope.removeprefix("follower_venue:")
        beat = max(0, int((now - row.heartbeat_at).total_seconds()))
        super().__init__(
            f"another runner already copies this ledger's {venue} followers: pid {row.pid} on host "
            f"{row.host}, since {row.acquired_at:%Y-%m-%d %H:%M:%S} UTC (last heartbeat {beat} s ago, "
            f"lease epoch {row.epoch}); stop it first — a runner that died is replaced once its "
            "heartbeat is stale"
        )


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Lease:
    """The lease of one scope for one holder. `acquire()`, then `start(on_lost)`; `release()` at stop."""

    def __init__(
        self,
        engine: AsyncEngine,
        scope: str,
        *,
        stale_s: float = STALE_S,
        renew_s: float = RENEW_S,
        holder: Holder | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.engine = engine
        self.scope = scope
        self.stale_s = stale_s
        self.renew_s = renew_s
        self.holder = holder or Holder()
        self.clock = clock
        self.epoch: int | None = None  # the fencing epoch while held
        self.lost: str | None = None  # why it was lost
        self._renewed = self.clock()
        self._task: asyncio.Task[None] | None = None
        self._on_lost: Callable[[str], None] | None = None

    # --- the row ---------------------------------------------------------------------------------

    def _takeable(self, row: RunnerLease, now: datetime) -> bool:
        if row.released_at is not None or (now - row.heartbeat_at).total_seconds() > self.stale_s:
            return True
        same_node = bool(row.node) and row.node == self.holder.node
        return same_node and row.pid != self.holder.pid and not _pid_alive(row.pid)

    def _claim(self, now: datetime) -> dict[str, object]:
        h = self.holder
        return {
            "token": h.token,
            "pid": h.pid,
            "host": h.host,
            "node": h.node,
            "acquired_at": now,
            "heartbeat_at": now,
            "released_at": None,
        }

    async def _acquire(self, conn: AsyncConnection, now: datetime) -> None:
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        added = await conn.execute(
            insert(_TABLE)
            .values(scope=self.scope, epoch=1, **self._claim(now))
            .on_conflict_do_nothing(index_elements=["scope"])
        )
        if added.rowcount == 1:
            self.epoch = 1
            return
        row = (await conn.execute(select(_TABLE).where(_TABLE.c.scope == self.scope))).one()
        current = RunnerLease.model_validate(row._mapping)
        if not self._takeable(current, now):
            raise LeaseHeld(self.scope, current, now)
        # Compare-and-swap: only the row version just read is replaced (a concurrent taker loses here).
        taken = await conn.execute(
            update(_TABLE)
            .where(
                _TABLE.c.scope == self.scope,
                _TABLE.c.token == current.token,
                _TABLE.c.epoch == current.epoch,
            )
            .values(epoch=current.epoch + 1, **self._claim(now))
        )
        if taken.rowcount != 1:
            fresh = (await conn.execute(select(_TABLE).where(_TABLE.c.scope == self.scope))).one()
            raise LeaseHeld(self.scope, RunnerLease.model_validate(fresh._mapping), now)
        if current.released_at is None:
            log.warning(
                "runner_lease_taken_over",
                extra={"scope": self.scope, "from_pid": current.pid, "from_host": current.host},
            )
        self.epoch = current.epoch + 1

    async def acquire(self) -> int:
        """Take the lease (one transaction) or raise `LeaseHeld`; the new fencing epoch.

        On SQLite two runners starting at once can both read the row, then one is refused the write at
        once (`database is locked`: SQLite does not wait for a lock upgrade that would deadlock, nor
        for a snapshot that another writer has moved on). That one tries again on a fresh read, which
        sees the winner's row: `LeaseHeld`, never a raw database error."""
        for attempt in range(ACQUIRE_ATTEMPTS):
            now = self.clock()
            try:
                async with self.engine.begin() as conn:
                    await self._acquire(conn, now)
                break
            except OperationalError as exc:
                if "database is locked" not in str(exc) or attempt == ACQUIRE_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(ACQUIRE_BACKOFF_S * (attempt + 1))
        self._renewed = now
        assert self.epoch is not None
        return self.epoch

    async def renew(self) -> bool:
        """Refresh the heartbeat; False when the lease is no longer ours."""
        now = self.clock()
        async with self.engine.begin() as conn:
            done = await conn.execute(
                update(_TABLE)
                .where(
                    _TABLE.c.scope == self.scope,
                    _TABLE.c.token == self.holder.token,
                    _TABLE.c.released_at.is_(None),
                )
                .values(heartbeat_at=now)
            )
        if done.rowcount == 1:
            self._renewed = now
        return done.rowcount == 1

    async def release(self) -> None:
        """Give the lease up (idempotent; a lease already taken by another is left alone)."""
        await self._stop_renewing()
        if self.epoch is None:
            return
        self.epoch = None
        async with self.engine.begin() as conn:
            await conn.execute(
                update(_TABLE)
                .where(_TABLE.c.scope == self.scope, _TABLE.c.token == self.holder.token)
                .values(released_at=self.clock())
            )

    # --- renewal ---------------------------------------------------------------------------------

    def start(self, on_lost: Callable[[str], None]) -> None:
        """Renew every `renew_s`; call `on_lost(why)` once if the lease is lost."""
        self._on_lost = on_lost
        self._task = asyncio.ensure_future(self._renew_loop())

    async def still_held(self) -> bool:
        """Before acting on a change or a job: True while the lease is ours. Asked of the ledger only
        when the last renewal is older than 1.5 intervals — this process was frozen or starved, and
        another runner may have taken over meanwhile; otherwise free (no round trip)."""
        if self.epoch is None:
            return False
        if (self.clock() - self._renewed).total_seconds() < 1.5 * self.renew_s:
            return True
        return await self._check()

    async def _check(self) -> bool:
        try:
            if await self.renew():
                return True
            why = "the lease was taken over by another runner (this one was silent too long)"
        except Exception as exc:
            silent = (self.clock() - self._renewed).total_seconds()
            if silent <= self.stale_s - self.renew_s:
                log.warning("runner_lease_renew_failed", extra={"error": repr(exc)})
                return True
            why = f"the lease could not be renewed for {int(silent)} s ({type(exc).__name__})"
        if self.epoch is not None:  # once: the renewal loop and a check may find it together
            self.lost, self.epoch = why, None
            if self._on_lost is not None:
                self._on_lost(why)
        return False

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(self.renew_s)
            if not await self._check():
                return

    async def _stop_renewing(self) -> None:
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
