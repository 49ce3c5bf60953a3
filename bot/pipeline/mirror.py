"""Mirroring: a batch of source changes → every follower's decision, carried out as one batch per change.

Each source's changes of a coin run in order; different coins, and different sources of one coin, run
concurrently (100 sources trading ETH are not mirrored one after another). One change is decided for ALL
the followers of its source first (each pair's lock held throughout, taken in the desks' order so that
two fan-outs never wait on each other), then recorded, sent and settled together (`Executor.run`).
A follower of two sources trading one coin is in both fan-outs: its pair's lock puts them one after the
other, each decided against the position the other left.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from decimal import Decimal

from bot.domain import SourceChange
from bot.ledger import LeaderEvent
from bot.ledger.repository import leader_event_row
from bot.pipeline.convert import change_of
from bot.pipeline.execute import DecisionKey, Executor, Step, now_ms
from bot.pipeline.followers import Followers

# Different sources' changes mirrored at once, at most: each fan-out holds a ledger connection while it
# records, and 1,000 sources trading together (bench.scale, 1,000 × 10,000) waited 30 s on the pool
# (5 + 10 connections) and failed ("QueuePool limit … reached"); 5,604 copies left to the next pass.
FAN_OUTS_AT_ONCE = 8


class Mirror:
    def __init__(self, followers: Followers, executor: Executor) -> None:
        self.followers = followers
        self.executor = executor
        self._busy = 0  # batches of source changes being mirrored
        self._fan_outs = asyncio.Semaphore(FAN_OUTS_AT_ONCE)  # for every batch: they come at once too

    @property
    def idle(self) -> bool:
        """No source change is being mirrored right now (health, tests, shutdown)."""
        return self._busy == 0

    async def on_changes(self, changes: Sequence[SourceChange], events: Mapping[str, LeaderEvent]) -> None:
        """Mirror a batch of source changes: each source's changes of a coin in order, the rest
        concurrently, each change to all its followers at once. Each change's leader event
        (`events[event_id]`, the intake's row with the raw fills) is recorded in the transaction that
        records its decisions."""
        if not changes:
            return
        for change in changes:  # before any await: a source read in flight is older than this change
            self.followers.source_changed(change.source)
        self._busy += 1
        try:
            await self._mirror(changes, events)
        finally:
            self._busy -= 1

    async def _mirror(self, changes: Sequence[SourceChange], events: Mapping[str, LeaderEvent]) -> None:
        runs: dict[tuple[str, str], list[SourceChange]] = {}  # (coin, source) → its changes, in order
        for change in changes:
            runs.setdefault((change.coin, change.source), []).append(change)
        sources: dict[str, set[str]] = {}
        for coin, source in runs:
            sources.setdefault(coin, set()).add(source)
        mids, _ = await asyncio.gather(self.followers.mids(), self.followers.volatilities(sources))

        async def run(items: list[SourceChange]) -> None:
            async with self._fan_outs:
                for change in items:
                    event = events.get(change.event_id) or leader_event_row(
                        change, venue=self.followers.source_venue_name(change.source)
                    )
                    await self._fan_out(change, event, mids.get(change.coin))

        await asyncio.gather(*(run(items) for items in runs.values()))

    async def _fan_out(self, change: SourceChange, event: LeaderEvent, mid: Decimal | None) -> None:
        """Decide `change` for every follower of its source (each pair's lock held throughout), then
        record, send and settle it all as one batch (`Executor.run`)."""
        executor = self.executor
        executor.clock.reached("seen", change.time_ms, now_ms())
        if change.coin not in self.followers.markets:
            await executor.run([], event)  # not tradable here: recorded, nothing decided
            return
        key = DecisionKey(change.source, change.event_id, event_time_ms=change.time_ms)
        followers = [d for d in self.followers.desks.values() if change.source in d.engine.follows]
        async with AsyncExitStack() as locks:
            # Always in the desks' order: two fan-outs of one coin (two sources, or two batches) sharing
            # followers take their locks in one order, so neither holds one the other waits for.
            for desk in followers:
                await locks.enter_async_context(desk.lock(change.coin))
            steps: list[Step] = []
            for desk in followers:
                try:
                    if mid is not None:
                        desk.engine.set_mid(change.coin, mid)
                    self.followers.set_vols(desk, (change.coin,))
                    leverage = desk.engine.source_position(change.source, change.coin).leverage
                    saved = desk.engine.save(change.source, change.coin)
                    decision = desk.engine.on_change(change_of(change, leverage))
                    step = executor.prepare(desk, decision, key, undo=saved)
                except Exception as exc:
                    executor.failed(desk, change.coin, key, exc)
                    continue
                if step is not None:
                    steps.append(step)
            executor.clock.reached("decided", change.time_ms, now_ms())
            await executor.run(steps, event)
