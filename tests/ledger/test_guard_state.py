"""The runtime guards' state in the ledger (bot/ledger/guard_store.py, issue #15), on SQLite and
PostgreSQL: a follower's state is written only under its current lease epoch (a worker that lost the
follower cannot overwrite its new owner's state), and a source's peak equity only rises, whoever
writes it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

from bot.ledger import Ledger
from bot.ledger.ownership import TTL_S
from tests.ledger.conftest import _pg_database, _sqlite_template, db_url, ledger
from tests.ledger.test_ownership import Clock, worker
from tests.pipeline.test_hotpath_ledger import FOLLOWERS

__all__ = ["_pg_database", "_sqlite_template", "db_url", "ledger"]

SOURCE = "0x" + "5e" * 20


def state(peak: str) -> dict[str, object]:
    return {"format": 1, "account": {"peak_equity": peak, "stopped": False}}


async def test_a_state_is_written_under_the_current_epoch_only(ledger: Ledger) -> None:
    clock = Clock()
    a, b = worker(ledger, clock, "a"), worker(ledger, clock, "b")
    epochs = await a.acquire(FOLLOWERS[:2])
    refused = await ledger.save_guard_states(
        {f: state("1000") for f in FOLLOWERS[:2]}, epochs, {SOURCE: Decimal(5000)}
    )
    assert refused == []
    assert await ledger.guard_states(FOLLOWERS) == {f: state("1000") for f in FOLLOWERS[:2]}

    clock.now += timedelta(seconds=TTL_S * 2)  # a silent past its lease: b takes the first follower
    assert await b.acquire(FOLLOWERS[:1]) == {FOLLOWERS[0]: epochs[FOLLOWERS[0]] + 1}
    # a's late write (its old epochs): the moved follower's is refused, the other's lands
    refused = await ledger.save_guard_states({f: state("1500") for f in FOLLOWERS[:2]}, epochs, {})
    assert refused == [FOLLOWERS[0]]
    assert await ledger.guard_states(FOLLOWERS[:2]) == {
        FOLLOWERS[0]: state("1000"),
        FOLLOWERS[1]: state("1500"),
    }
    # without any epoch (a follower never held), nothing is written
    assert await ledger.save_guard_states({FOLLOWERS[2]: state("9")}, {}, {}) == [FOLLOWERS[2]]
    assert FOLLOWERS[2] not in await ledger.guard_states(FOLLOWERS)
    # a released lease fences too
    await a.release()
    assert await ledger.save_guard_states({FOLLOWERS[1]: state("1")}, epochs, {}) == [FOLLOWERS[1]]


async def test_a_source_peak_only_rises_whoever_writes_it(ledger: Ledger) -> None:
    assert await ledger.source_peaks() == {}
    await ledger.save_guard_states({}, {}, {SOURCE: Decimal("5000.5")})
    await ledger.save_guard_states({}, {}, {SOURCE: Decimal(4000)})  # a worker that saw it lower later
    assert await ledger.source_peaks() == {SOURCE: Decimal("5000.5")}
    # two workers at once, each with a peak of its own: the higher stays
    await asyncio.gather(
        *(ledger.save_guard_states({}, {}, {SOURCE: Decimal(6000 + n)}) for n in (3, 7, 1, 5))
    )
    assert await ledger.source_peaks() == {SOURCE: Decimal(6007)}
