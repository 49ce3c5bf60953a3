"""The fidelity bench on a short slice of the recording (first 40 fills, one $10k follower): the live
copy lands where the engine says, every tracking error is explained by a lot or a deferral, and the
deferrals the ledger records are the ones the user is told about."""

from __future__ import annotations

from decimal import Decimal

import pytest
import pytest_asyncio

from bench import fidelity
from bench.fidelity_model import IdealPair, Tracking, load_history

DEFERRED = fidelity.DEFERRED


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def result() -> fidelity.FidelityResult:
    """One replay shared by the live tests (it is the slow part: a localnet process and a runner)."""
    return await fidelity.replay(40, [Decimal(10_000)])


@pytest.mark.asyncio(loop_scope="module")
async def test_the_follower_ends_at_the_engines_lots(result: fidelity.FidelityResult) -> None:
    run = result.followers[0]
    assert result.unconfirmed == 0
    assert result.leader_trades >= 30  # 10 openings + the slice's changes, less the few below $10
    assert run.expected_final  # the engine (simulate --fills) has a position for every coin
    for coin, expected in run.expected_final.items():
        lot = result.history.markets[coin].lot
        assert abs(run.positions.get(coin, Decimal(0)) - expected) <= lot, coin


@pytest.mark.asyncio(loop_scope="module")
async def test_the_live_copy_decides_as_simulate_does(result: fidelity.FidelityResult) -> None:
    """Same orders and deferrals as `simulate --fills` on the slice (the venue fills every IOC here)."""
    run = result.followers[0]
    assert run.orders == run.expected_orders > 0
    assert run.ledger_reasons[DEFERRED] + run.reason_with_order[DEFERRED] == run.expected_deferred
    assert run.partial == 0 and run.ratio_drift and max(run.ratio_drift) < Decimal("0.001")


@pytest.mark.asyncio(loop_scope="module")
async def test_every_error_is_a_lot_or_a_deferral(result: fidelity.FidelityResult) -> None:
    """After each copy the follower is at q(τ) (within half a lot) or holds a residual below the $10
    minimum; ρ differs from the ideal's only by the equities' drift (fees, PnL: well under 0.1 %)."""
    run = result.followers[0]
    mids = {c.coin: c.avg_px for c in result.history.changes if c.avg_px is not None}
    for coin, tracking in run.tracking.coins.items():
        lot_usd = result.history.markets[coin].lot * mids[coin] * Decimal("1.01")
        drift = max(tracking.notional, default=Decimal(0)) / 1000
        assert all(error <= Decimal(10) + lot_usd + drift for error in tracking.error_usd), coin
    worst = max(t.max for t in run.tracking.coins.values() if t.max is not None)
    assert run.ledger_reasons[DEFERRED] > 0 and worst > Decimal("0.01")  # the slice defers


@pytest.mark.asyncio(loop_scope="module")
async def test_deferrals_in_the_ledger_are_the_ones_alerted(result: fidelity.FidelityResult) -> None:
    run = result.followers[0]
    alerted = run.alerts[("deferred", DEFERRED)]
    assert alerted == run.ledger_reasons[DEFERRED] > 0
    assert not [kind for kind, _ in run.alerts if kind not in ("deferred", "skipped")]  # no failures
    assert run.rejected == 0


@pytest.mark.asyncio(loop_scope="module")
async def test_the_report_has_a_row_per_coin(result: fidelity.FidelityResult) -> None:
    lines = fidelity.report(result)
    rows = [line.split()[0] for line in lines if line.startswith("  ") and line.split()[0].isupper()]
    assert set(rows) == set(result.history.coins)


def test_the_ideal_follows_spec_section_2() -> None:
    """SPEC §2 worked example 1 (ρ = 0.01, then 0.005 at the re-open), on the bench's own oracle."""
    pair = IdealPair()
    steps = [("10", "0.01", "0.1"), ("15", None, "0.15"), ("20", None, "0.2"), ("16", None, "0.16")]
    for source, ratio, target in steps:
        pair.move(Decimal(source), None if ratio is None else Decimal(ratio))
        assert pair.target == Decimal(target)
    pair.move(Decimal(0), None)
    assert pair.target == 0 and pair.ratio is None
    pair.move(Decimal(10), Decimal("0.005"))
    assert pair.target == Decimal("0.05")
    pair.move(Decimal(-1), Decimal("0.05"))  # a flip re-locks ρ
    assert pair.target == Decimal("-0.05")
    with pytest.raises(ValueError, match="needs the ratio"):
        IdealPair().move(Decimal(1), None)


def test_tracking_reports_dollars_where_the_ideal_is_flat() -> None:
    tracking = Tracking()
    tracking.sample({"ETH": Decimal("0.1")}, {"ETH": Decimal(0)}, {"ETH": Decimal(3000)})
    tracking.sample({"ETH": Decimal("0.1")}, {"ETH": Decimal("0.2")}, {"ETH": Decimal(3000)})
    eth = tracking.coins["ETH"]
    assert eth.absolute_usd == [Decimal(300)] and eth.relative == [Decimal("0.5")]
    assert tracking.book == [Decimal("0.5")]


def test_the_slice_keeps_the_recordings_order() -> None:
    history = load_history(40)
    assert len(history.fills) == 40
    times = [f.time_ms for f in history.fills]
    assert times == sorted(times) and all(c.old != c.new for c in history.changes)
