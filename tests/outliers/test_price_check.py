"""SPEC §11's rules, pure (bot/risk/outliers.py) and the hold book (bot/pipeline/prices.py): the
reference check, the jump rule and its confirmation, and — a property — a held decision is released,
never lost: it stays held until a mid that passes the check is screened for its pair."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.pipeline.execute import DecisionKey
from bot.pipeline.prices import PriceGate
from bot.risk.outliers import PriceCheck

D = Decimal


def test_a_mid_the_reference_contradicts_is_refused_at_the_limit_it_passes() -> None:
    check = PriceCheck()
    assert check.sound("ETH", D("3045"), D("3000"), 0)  # 1.5 %: at the limit
    assert not check.sound("ETH", D("3045.3"), D("3000"), 0)
    assert not check.sound("ETH", D("2954.9"), D("3000"), 0)


def test_a_jump_without_a_reference_waits_for_the_window_and_one_the_reference_follows_is_confirmed() -> None:
    check = PriceCheck()
    assert check.check("ETH", D("3000"), None, 0)
    assert not check.sound("ETH", D("3160"), None, 5_000)  # 5.3 % within 10 s, nothing confirms it
    assert check.sound("ETH", D("3150"), None, 5_000)  # 5 %: at the limit
    assert check.sound("ETH", D("3160"), None, 10_001)  # persisted past the window
    assert check.sound("ETH", D("3160"), D("3160"), 5_000)  # the venue's reference moved with it
    assert not check.sound("ETH", D("0"), None, 20_000)


def key(n: int = 0) -> DecisionKey:
    return DecisionKey("0xsource", f"event-{n}")


def test_the_gate_holds_the_pair_once_and_the_next_sound_order_takes_the_hold_away() -> None:
    now = [0]
    gate = PriceGate(clock=lambda: now[0])
    gate.refs, gate.refs_ms = {"ETH": D("3000")}, 0
    assert not gate.screen("0xf", "ETH", D("3300"), key(1))
    assert not gate.screen("0xf", "ETH", D("3300"), key(2))
    assert gate.held[("0xf", "ETH")].key == key(1)  # the first hold's key is the one released
    release = gate.release_key(gate.held[("0xf", "ETH")])
    assert (release.source_event_id, release.revision, release.event_kind) == ("event-1", 1, "release")
    now[0] = 29_999
    assert not gate.overdue(gate.held[("0xf", "ETH")])
    now[0] = 30_000
    assert gate.overdue(gate.held[("0xf", "ETH")]) and not gate.overdue(gate.held[("0xf", "ETH")])
    gate.refs_ms = now[0]
    assert gate.screen("0xf", "ETH", D("3001"), key(3))
    assert gate.held == {}


def test_a_reference_older_than_the_stale_limit_is_no_reference() -> None:
    now = [0]
    gate = PriceGate(clock=lambda: now[0])
    gate.refs, gate.refs_ms = {"ETH": D("3000")}, 0
    assert gate.contradicted({"ETH": D("3300")}) and not gate.contradicted({"ETH": D("3010")})
    now[0] = 30_001
    assert gate.reference("ETH") is None and not gate.contradicted({"ETH": D("3300")})


prices = st.integers(min_value=2_000, max_value=4_000).map(D)


@settings(max_examples=60, deadline=None)
@given(
    updates=st.lists(st.tuples(prices, st.booleans(), st.integers(0, 15_000)), max_size=12),
    confirm=prices,
)
def test_a_held_outlier_decision_is_released_not_lost(
    updates: list[tuple[Decimal, bool, int]], confirm: Decimal
) -> None:
    """An outlier holds the pair; through any sequence of price updates (each re-examined as the release
    job does, with or without a fresh reference) the hold stays until one passes, and then exactly that
    screen takes it away; a confirming price (mid = reference) always releases it."""
    now = [0]
    gate = PriceGate(clock=lambda: now[0])
    gate.refs, gate.refs_ms = {"ETH": D("3000")}, 0
    assert gate.screen("0xf", "ETH", D("3000"), key(0))
    assert not gate.screen("0xf", "ETH", D("3100"), key(1))  # 3.3 % off the mark: held
    held = gate.held[("0xf", "ETH")]
    released = False
    for mid, fresh_ref, dt in updates:
        now[0] += dt
        if fresh_ref:
            gate.refs, gate.refs_ms = {"ETH": D("3000")}, now[0]
        if gate.sound("ETH", mid):
            assert gate.held.get(("0xf", "ETH")) is held  # still there for the release to find
            assert gate.screen("0xf", "ETH", mid, gate.release_key(held))
            released = True
            break
        assert gate.held.get(("0xf", "ETH")) is held  # not sound: never dropped
    if not released:
        now[0] += 1
        gate.refs, gate.refs_ms = {"ETH": confirm}, now[0]
        assert gate.sound("ETH", confirm)
        assert gate.screen("0xf", "ETH", confirm, gate.release_key(held))
    assert gate.held == {}
