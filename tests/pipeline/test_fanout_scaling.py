"""The fan-out's work per order does not grow with the number of followers (issue #13's benchmark
check, counted instead of timed): one leader trade copied to N followers costs the ledger the same
statements on the hot path's tables whatever N (they are batched), plus one derived position per order,
and each follower's engine the same number of calls whatever N (no walk over every follower per order).
The real runner against the localnet; the ledger's connection and the engine are observed, not replaced."""

from __future__ import annotations

import functools
import inspect
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event

from bot.ledger import SnapshotOrigin
from strategies.engine import Follower
from tests.e2e.support import World
from tests.waiting import wait_until

ETH = "ETH"
# What one copy writes before and at the answer: batched per fan-out (bot/pipeline/execute.py).
BATCHED = ("leader_event", "copy_instruction", "order_intent", "venue_order", "venue_order_status")
TABLE = re.compile(r"\b(?:INTO|UPDATE|FROM)\s+(\w+)", re.IGNORECASE)


@dataclass
class Counts:
    statements: Counter[str]  # hot-path statements by "VERB table"
    derived_positions: int  # position_snapshot rows of origin `derived` (one per answered order)
    engine_calls: Counter[str]  # calls into the followers' engines (strategies.engine.Follower), by method


@contextmanager
def engine_calls(counter: Counter[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Count every call into a `Follower` engine's public methods (each still runs)."""

    def counted(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            counter[method.__name__] += 1
            return method(*args, **kwargs)

        return call

    with monkeypatch.context() as patch:
        for name, method in inspect.getmembers(Follower, inspect.isfunction):
            if not name.startswith("_"):
                patch.setattr(Follower, name, counted(method))
        yield


def _values(row: Any) -> tuple[Any, ...]:
    return tuple(row.values()) if isinstance(row, dict) else tuple(row)


async def copy_to(world: World, followers: int, monkeypatch: pytest.MonkeyPatch) -> Counts:
    """One leader trade copied to `followers` followers; what it cost, from the leader's trade until
    the copier is idle again (the fills' batched reads, a second later, are not counted)."""
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    addresses = [await world.master_follower("1000") for _ in range(followers)]  # ρ = 0.01 each
    for address in addresses:
        await world.follow(address, leader.address)
    runner = await world.start_runner()
    assert world.ledger is not None and runner.copier is not None
    copier = runner.copier
    statements: Counter[str] = Counter()
    derived = [0]
    calls: Counter[str] = Counter()

    def observe(_conn: Any, _cursor: Any, statement: str, params: Any, _context: Any, many: bool) -> None:
        match = TABLE.search(statement)
        table = match.group(1).lower() if match else ""
        if table in BATCHED:
            statements[f"{statement.split(None, 1)[0].upper()} {table}"] += 1
        elif table == "position_snapshot" and statement.lstrip().upper().startswith("INSERT"):
            rows = params if many else [params]
            derived[0] += sum(SnapshotOrigin.DERIVED.value in _values(row) for row in rows)

    for engine in world.ledger.sync_engines:
        event.listen(engine, "before_cursor_execute", observe)
    try:
        with engine_calls(calls, monkeypatch):
            await world.leader_to(leader, ETH, "10")
            for address in addresses:
                await world.follower_at(address, ETH, "0.1")

            # The orders are on the venue, so the copy is under way (or done): idle, it is settled.
            await wait_until(lambda: copier.idle, "every follower's copy answered and settled")
    finally:
        for engine in world.ledger.sync_engines:
            event.remove(engine, "before_cursor_execute", observe)
    return Counts(statements, derived[0], calls)


@pytest.mark.parametrize("followers", [2, 5])
async def test_a_fan_outs_work_per_order_does_not_grow_with_the_followers(
    world: World, followers: int, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    counts = await copy_to(world, followers, monkeypatch)
    # The same statements on the hot path's tables for 2 and 5 followers (pinned: the batched writes
    # of bot/pipeline/execute.py), one derived position per order, and per follower the same engine
    # calls: an O(N) walk per order would add N calls per follower, a per-order write or read a row.
    assert dict(counts.statements) == EXPECTED_STATEMENTS, counts.statements
    assert counts.derived_positions == followers
    assert counts.engine_calls == {name: n * followers for name, n in ENGINE_CALLS_PER_FOLLOWER.items()}


# One transaction records the change's leader event, decisions and intents; one marks the intents
# submitted; one records every answer (the intents' status, the venue orders and their statuses).
EXPECTED_STATEMENTS = {
    "INSERT leader_event": 1,
    "INSERT copy_instruction": 1,
    "INSERT order_intent": 1,
    "UPDATE order_intent": 2,
    "SELECT order_intent": 1,
    "INSERT venue_order": 1,
    "SELECT venue_order_status": 1,
    "INSERT venue_order_status": 1,
}
# A follower's engine on a source change: the mid set, the coin's σ set and read (volatility scaling,
# SPEC §10), the source's position observed and read, the change decided (its guards' look at what the
# follower holds), the answered order's position set; and its pair saved first (put back if the ledger
# refuses the decisions).
ENGINE_CALLS_PER_FOLLOWER = {
    "save": 1,
    "set_mid": 1,
    "set_vol": 1,
    "vol_reading": 3,
    "observe_source": 1,
    "source_position": 5,
    "on_change": 1,
    "holder": 1,
    "total_notional": 1,
    "position": 1,
    "set_position": 1,
}
