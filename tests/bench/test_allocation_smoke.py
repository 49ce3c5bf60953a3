"""The allocation-vs-mirror bench in a tiny configuration (12 synthetic changes over a simulated day):
it prints its table in the expected shape, ticks on the history's clock, and after its last tick every
allocation pair is within the no-trade band of its target (no timing assertions: benchmarks are not
tests)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import pytest_asyncio

from bench import allocation


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def result() -> allocation.AllocationResult:
    history, span_ms = allocation.synthetic_history(1, 120, 7)
    return await allocation.replay(history, span_ms)


def test_the_synthetic_history_is_seeded_and_above_the_minimum() -> None:
    history, span_ms = allocation.synthetic_history(1, 120, 7)
    assert (history, span_ms) == allocation.synthetic_history(1, 120, 7)
    assert span_ms == allocation.DAY_MS and len(history.changes) == 12
    for change in history.changes:
        assert change.avg_px is not None
        assert change.new == 0 or abs(change.new - change.old) * change.avg_px >= allocation.MIN_ORDER_USD


@pytest.mark.asyncio(loop_scope="module")
async def test_ticks_follow_the_history_clock(result: allocation.AllocationResult) -> None:
    """A tick after each change whose next change comes after the next 15-minute boundary (all 12 here:
    they are 2 h apart)."""
    assert result.ticks == 12


@pytest.mark.asyncio(loop_scope="module")
async def test_after_the_last_tick_every_pair_is_within_the_band(result: allocation.AllocationResult) -> None:
    band = result.equity * result.band_pct / 100
    assert result.final_drift
    for coin, drift in result.final_drift.items():
        assert drift < band + result.lots[coin], coin  # a lot of slack: ρ(now) read a moment apart


@pytest.mark.asyncio(loop_scope="module")
async def test_the_report_has_a_row_per_follower(result: allocation.AllocationResult) -> None:
    rows = allocation.report(result)
    assert rows[1].split()[:4] == ["follower", "orders", "fills", "fees"]
    names = [row.split()[0] for row in rows[2:4]]
    assert names == ["mirror", "allocation"]
    for row in rows[2:4]:
        orders, fills = int(row.split()[1]), int(row.split()[2])
        assert orders > 0 and fills > 0 and Decimal(row.split()[3]) > 0
