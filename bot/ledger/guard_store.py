"""The runtime guards' state in the ledger, for the distributed roles: one row per follower (its part of
bot/risk/book.py's book) and one per source (its peak equity). A copy worker reads a follower's row when
it loads the follower and writes it back as it changes, so the state moves with the follower's lease; a
write carries the lease epoch the change was made under, and one whose epoch is no longer current (the
follower moved on) is refused row by row, like an intent (the fencing rule, bot/ledger/ownership.py)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from bot.ledger.base import LedgerBase, _chunks, _table
from bot.ledger.models import GuardState, OwnershipLease, SourcePeak
from bot.ledger.ownership import Fence, LeaseKind, lock_followers

_LEASES = _table(OwnershipLease)
_STATES = _table(GuardState)
_PEAKS = _table(SourcePeak)


class GuardStore(LedgerBase):
    async def guard_states(self, followers: Collection[str]) -> dict[str, dict[str, Any]]:
        """The stored state of each of `followers` that has one (lower-case address → its document)."""
        wanted = sorted({f.lower() for f in followers})

        def read(conn: Connection) -> dict[str, dict[str, Any]]:
            found: dict[str, dict[str, Any]] = {}
            for chunk in _chunks(wanted):
                query = select(_STATES.c.follower, _STATES.c.state).where(_STATES.c.follower.in_(chunk))
                found.update({r.follower: r.state for r in conn.execute(query) if isinstance(r.state, dict)})
            return found

        return await self._write(read) if wanted else {}

    async def source_peaks(self) -> dict[str, Decimal]:
        def read(conn: Connection) -> dict[str, Decimal]:
            return {r.source: r.peak for r in conn.execute(select(_PEAKS.c.source, _PEAKS.c.peak))}

        return await self._write(read)

    async def save_guard_states(
        self, states: Mapping[str, dict[str, Any]], fence: Fence, peaks: Mapping[str, Decimal]
    ) -> list[str]:
        """Store the followers' states whose epoch in `fence` is still their lease's (the others are
        refused: returned, nothing of theirs written), and raise the sources' peaks where these are
        higher — in one transaction."""
        now = datetime.now(UTC)
        fence = {k.lower(): v for k, v in fence.items()}
        states = {k.lower(): v for k, v in states.items()}
        wanted = sorted(states)

        def write(conn: Connection) -> list[str]:
            held = _current(conn, [(f, fence[f]) for f in wanted if f in fence])
            _upsert(conn, {f: states[f] for f in sorted(held)}, now)
            for source in sorted(peaks):  # one order for every writer: no deadlock
                _raise_peak(conn, source.lower(), peaks[source], now)
            return [f for f in wanted if f not in held]

        return await self._write(write)


def _current(conn: Connection, pairs: list[tuple[str, int]]) -> set[str]:
    """The followers of `pairs` whose lease is unreleased at that epoch, their rows locked (as the
    fencing rule locks them)."""
    held: set[str] = set()
    for chunk in _chunks(pairs):
        if not chunk:
            continue
        lock_followers(conn, [name for name, _ in chunk])
        rows = conn.execute(
            select(_LEASES.c.name).where(
                _LEASES.c.kind == LeaseKind.FOLLOWER.value,
                tuple_(_LEASES.c.name, _LEASES.c.epoch).in_(list(chunk)),
                _LEASES.c.released_at.is_(None),
            )
        )
        held.update(r.name for r in rows)
    return held


def _upsert(conn: Connection, states: Mapping[str, dict[str, Any]], now: datetime) -> None:
    """The followers' rows, replaced or added (their lease rows are locked: no other writer meanwhile)."""
    stored: set[str] = set()
    for chunk in _chunks(list(states)):
        if chunk:
            query = select(_STATES.c.follower).where(_STATES.c.follower.in_(chunk))
            stored.update(conn.execute(query).scalars())
    rows = [{"key": f, "follower": f, "state": state, "updated_at": now} for f, state in states.items()]
    old = [r for r in rows if r["follower"] in stored]
    if old:
        conn.execute(
            update(_STATES)
            .where(_STATES.c.follower == bindparam("key"))
            .values(
                state=bindparam("state", type_=_STATES.c.state.type),
                updated_at=bindparam("updated_at", type_=_STATES.c.updated_at.type),
            ),
            old,
        )
    new = [{k: v for k, v in r.items() if k != "key"} for r in rows if r["follower"] not in stored]
    if new:
        conn.execute(_STATES.insert(), new)


def _raise_peak(conn: Connection, source: str, peak: Decimal, now: datetime) -> None:
    """Only up: two workers copying one source each note its peak; neither may lower the other's."""
    dialect = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    insert = dialect(_PEAKS).values(source=source, peak=peak, updated_at=now).on_conflict_do_nothing()
    if conn.execute(insert).rowcount == 1:
        return
    stored = conn.execute(select(_PEAKS.c.peak).where(_PEAKS.c.source == source).with_for_update()).scalar()
    if stored is None or peak > stored:
        conn.execute(update(_PEAKS).where(_PEAKS.c.source == source).values(peak=peak, updated_at=now))
