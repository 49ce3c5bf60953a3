"""`latest_decisions` reads every pair in one statement (issue #15) and still finds what it found pair by
pair: each (follower, coin)'s newest decision, and the source size it mirrored — its newest source change
for that source, unless a follow decision is newer (then 0 if the follow started flat, else unknown).
Generated histories on both databases, checked against that rule read off the rows."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.ledger import CopyInstruction, LeaderEvent, Ledger, cloid_for, create_engine, instruction_id
from bot.ledger.db import session_factory
from bot.ledger.pipeline_reads import _started_flat
from tests.ledger.support import Portal

T0 = datetime(2026, 1, 1, tzinfo=UTC)
COINS = ("ETH", "BTC")
SOURCES = ("0x" + "5a" * 20, "0x" + "5b" * 20)
SIZES = (Decimal(0), Decimal(1))


@dataclass(frozen=True)
class Step:
    follower: int
    coin: str
    source: str
    kind: str  # "change": a decision mirroring a source change; "follow"; "plan"
    before: Decimal
    after: Decimal
    reason: str | None
    size: Decimal  # the source change's new size


steps = st.builds(
    Step,
    follower=st.integers(0, 1),
    coin=st.sampled_from(COINS),
    source=st.sampled_from(SOURCES),
    kind=st.sampled_from(["change", "follow", "plan"]),
    before=st.sampled_from(SIZES),
    after=st.sampled_from(SIZES),
    reason=st.sampled_from([None, "in_sync", "untracked"]),
    size=st.sampled_from([Decimal("-2.5"), Decimal(0), Decimal(3)]),
)


@pytest.fixture
def portal_ledger(db_url: str, sync_portal: Portal) -> Iterator[Ledger]:
    ledger = Ledger(create_engine(db_url))
    yield ledger
    sync_portal.run(ledger.close())


async def _record(ledger: Ledger, followers: list[str], history: list[Step]) -> list[CopyInstruction]:
    rows: list[CopyInstruction] = []
    async with session_factory(ledger.engine)() as session, session.begin():
        for n, step in enumerate(history):  # one second apart: no two decisions of a pair tie
            follower, at = followers[step.follower], T0 + timedelta(seconds=n)
            event_id = f"{step.kind}:{step.source}:v{n}" if step.kind != "change" else f"fills:{n}"
            leader_event_id = None
            if step.kind == "change":
                event = LeaderEvent(
                    venue="hyperliquid",
                    source=step.source,
                    coin=step.coin,
                    event_id=f"{follower}:{n}",
                    old_size=Decimal(0),
                    new_size=step.size,
                    time=at,
                )
                session.add(event)
                await session.flush()
                leader_event_id = event.id
            ident = instruction_id(follower, step.coin, event_id, 0)
            row = CopyInstruction(
                id=ident,
                cloid=cloid_for(ident),
                follower=follower,
                source=step.source,
                coin=step.coin,
                source_event_id=event_id,
                leader_event_id=leader_event_id,
                strategy="proportional",
                target_before=step.before,
                target_after=step.after,
                delta=step.after - step.before,
                reason=step.reason,
                created_at=at,
            )
            session.add(row)
            rows.append(row)
    return rows


def _expected(rows: list[CopyInstruction], sizes: dict[str, Decimal]) -> list[tuple[str, Decimal | None]]:
    """The rule, pair by pair, on the rows as recorded (`sizes`: each change decision's source size)."""
    out: list[tuple[str, Decimal | None]] = []
    by_pair = sorted(rows, key=lambda r: (r.follower, r.coin))
    for _, pair in itertools.groupby(by_pair, key=lambda r: (r.follower, r.coin)):
        latest = max(pair, key=lambda r: r.created_at)
        key = (latest.follower, latest.coin, latest.source)
        same = [r for r in rows if (r.follower, r.coin, r.source) == key]
        newest = lambda r: r.created_at  # noqa: E731
        linked = max((r for r in same if r.id in sizes), key=newest, default=None)
        follow = max((r for r in same if r.source_event_id.startswith("follow:")), key=newest, default=None)
        size: Decimal | None
        if linked is not None and (follow is None or follow.created_at <= linked.created_at):
            size = sizes[linked.id]
        else:
            size = Decimal(0) if follow is not None and _started_flat(follow) else None
        out.append((latest.id, size))
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=st.lists(steps, min_size=1, max_size=14))
def test_the_latest_decisions_read_at_once_are_those_read_pair_by_pair(
    portal_ledger: Ledger, sync_portal: Portal, history: list[Step]
) -> None:
    followers = [f"0x{uuid.uuid4().hex}{i:08x}" for i in range(2)]  # this example's own rows
    rows = sync_portal.run(_record(portal_ledger, followers, history))
    sizes = {r.id: s.size for r, s in zip(rows, history, strict=True) if s.kind == "change"}
    found = sync_portal.run(portal_ledger.latest_decisions(followers))
    assert [(d.row.id, d.source_size) for d in found] == _expected(rows, sizes)
