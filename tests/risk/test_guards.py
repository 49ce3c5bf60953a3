"""The runtime guards as pure rules: each acts past its limit and not before; trips persist."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bot.risk import RiskBook, RiskLimits, RiskReason, RiskStore
from bot.risk.guards import AccountRisk, account_block, observe_equity, resume_account, source_leverage_trips

D = Decimal
DAY1 = int(datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp() * 1000)
DAY1_LATE = int(datetime(2026, 3, 2, 23, 59, tzinfo=UTC).timestamp() * 1000)
DAY2 = int(datetime(2026, 3, 3, 0, 0, 1, tzinfo=UTC).timestamp() * 1000)


def run(readings: list[tuple[str, int]], limits: RiskLimits) -> tuple[AccountRisk, list[RiskReason]]:
    return run_from(AccountRisk(), readings, limits)


def run_from(
    state: AccountRisk, readings: list[tuple[str, int]], limits: RiskLimits
) -> tuple[AccountRisk, list[RiskReason]]:
    trips: list[RiskReason] = []
    for equity, at in readings:
        state, now = observe_equity(state, D(equity), at, limits)
        trips += now
    return state, trips


def test_daily_loss_limit_pauses_new_exposure_for_the_rest_of_the_utc_day() -> None:
    limits = RiskLimits(daily_loss_limit=D("0.05"))
    state, trips = run([("1000", DAY1), ("951", DAY1)], limits)
    assert trips == [] and account_block(state, DAY1, reduce_only=False) is None  # 4.9 %: not yet
    state, trips = observe_equity(state, D("950"), DAY1, limits)
    assert trips == [RiskReason.DAILY_LOSS_LIMIT]
    assert account_block(state, DAY1_LATE, reduce_only=False) is RiskReason.DAILY_LOSS_LIMIT
    assert account_block(state, DAY1_LATE, reduce_only=True) is None  # reductions and closes mirror
    assert account_block(state, DAY2, reduce_only=False) is None  # a new UTC day
    state, trips = run_from(state, [("950", DAY2), ("910", DAY2)], limits)  # the new day's first reading
    assert trips == [] and state.day_start_equity == D("950")
    state, trips = observe_equity(state, D("902.5"), DAY2, limits)
    assert trips == [RiskReason.DAILY_LOSS_LIMIT]


def test_max_drawdown_stops_from_the_peak_and_stays_stopped() -> None:
    limits = RiskLimits(max_drawdown=D("0.2"))
    state, trips = run([("1000", DAY1), ("1500", DAY1), ("1201", DAY1)], limits)
    assert trips == [] and not state.stopped and state.peak_equity == D("1500")
    state, trips = run([("1000", DAY1), ("1500", DAY1), ("1200", DAY1), ("1600", DAY2)], limits)
    assert trips == [RiskReason.MAX_DRAWDOWN] and state.stopped  # a recovery does not restart copying
    assert account_block(state, DAY2, reduce_only=False) is RiskReason.MAX_DRAWDOWN
    assert account_block(state, DAY2, reduce_only=True) is None  # the stop's own closes go through
    assert not state.reset().stopped and state.reset().peak_equity is None


def test_equity_floor_suspends_every_order() -> None:
    limits = RiskLimits(equity_floor=D("500"))
    state, trips = run([("800", DAY1), ("500", DAY1)], limits)
    assert trips == [] and account_block(state, DAY1, reduce_only=False) is None
    state, trips = observe_equity(state, D("499.99"), DAY1, limits)
    assert trips == [RiskReason.EQUITY_FLOOR]
    assert account_block(state, DAY1, reduce_only=True) is RiskReason.EQUITY_FLOOR


def test_no_limits_never_act() -> None:
    state, trips = run([("1000", DAY1), ("1", DAY1), ("0", DAY2)], RiskLimits())
    assert trips == [] and account_block(state, DAY2, reduce_only=False) is None


@given(st.lists(st.decimals(D("0.01"), D("1000000"), places=2), min_size=1, max_size=30))
def test_drawdown_trips_exactly_when_the_worst_fall_from_a_peak_reaches_the_limit(
    values: list[Decimal],
) -> None:
    limit = D("0.25")
    state, trips = run([(str(v), DAY1) for v in values], RiskLimits(max_drawdown=limit))
    peak, worst = values[0], D(0)
    for v in values:
        peak = max(peak, v)
        worst = max(worst, (peak - v) / peak)
    assert (RiskReason.MAX_DRAWDOWN in trips) == (worst >= limit) == state.stopped
    assert trips.count(RiskReason.MAX_DRAWDOWN) <= 1  # alerted once


def test_strictest_limits_of_several_follows() -> None:
    a = RiskLimits(daily_loss_limit=D("0.1"), equity_floor=D("100"), max_drawdown=D("0.3"))
    b = RiskLimits(daily_loss_limit=D("0.05"), equity_floor=D("300"), max_drawdown_action="keep")
    merged = RiskLimits.strictest([a, b])
    assert (merged.daily_loss_limit, merged.equity_floor, merged.max_drawdown) == (
        D("0.05"),
        D("300"),
        D("0.3"),
    )
    assert merged.closes_on_drawdown  # the follow with a drawdown limit closes (default)
    assert RiskLimits.strictest([]) == RiskLimits()


def test_source_guards() -> None:
    book = RiskBook()
    assert book.observe_source("0xs", D("1000")) is None
    book.observe_source("0xs", D("2000"))
    assert not book.source_trips("0xf", "0xs", 1, D("1600"), D("0.3"))  # 20 % below the peak
    assert not book.source_trips("0xf", "0xs", 1, D("100"), None)  # no limit: never
    assert book.source_trips("0xf", "0xs", 1, D("1400"), D("0.3"))
    assert not book.source_trips("0xf", "0xs", 1, D("1000"), D("0.3"))  # tripped once
    assert book.block("0xf", DAY1, reduce_only=False, source="0xs", version=1) is RiskReason.SOURCE_DRAWDOWN
    assert book.block("0xf", DAY1, reduce_only=True, source="0xs", version=1) is None
    assert book.block("0xf", DAY1, reduce_only=False, source="0xs", version=2) is None  # followed again


def test_source_leverage_cap_trips_only_above_the_cap() -> None:
    assert not source_leverage_trips([D("10"), None], D("10"))  # at the cap, or unknown: copied
    assert not source_leverage_trips([D("50")], None)  # no cap: never
    assert source_leverage_trips([D("3"), D("10.5")], D("10"))
    book = RiskBook()
    assert book.drop("0xf", "0xt", 1, RiskReason.SOURCE_LEVERAGE_CAP)
    assert not book.drop("0xf", "0xt", 1, RiskReason.SOURCE_LEVERAGE_CAP)  # once
    blocked = book.block("0xf", DAY1, reduce_only=False, source="0xt", version=1)
    assert blocked is RiskReason.SOURCE_LEVERAGE_CAP
    assert book.block("0xf", DAY1, reduce_only=True, source="0xt", version=1) is None  # its closes


def test_the_book_survives_a_restart(tmp_path: Path) -> None:
    store = RiskStore(tmp_path / "risk.json")
    book = RiskBook.open(store)
    limits = RiskLimits(daily_loss_limit=D("0.1"), max_drawdown=D("0.5"))
    book.observe_follower("0xf", D("1000.5"), DAY1, limits)
    assert book.observe_follower("0xf", D("900"), DAY1, limits) == [RiskReason.DAILY_LOSS_LIMIT]
    book.observe_source("0xs", D("123.45"))
    book.source_trips("0xf", "0xs", 3, D("1"), D("0.5"))
    again = RiskBook.open(store)
    assert again.accounts == book.accounts and again.account("0xf").peak_equity == D("1000.5")
    assert again.source_peaks == {"0xs": D("123.45")} and again.is_dropped("0xf", "0xs", 3)
    assert again.block("0xf", DAY1, reduce_only=False) is RiskReason.DAILY_LOSS_LIMIT
    assert again.observe_follower("0xf", D("850"), DAY1, limits) == []  # not tripped twice
    again.reset("0xf")
    assert RiskBook.open(store).block("0xf", DAY1, reduce_only=False) is None


def test_the_drop_reasons_survive_a_restart_and_old_files_read_as_drawdowns(tmp_path: Path) -> None:
    store = RiskStore(tmp_path / "risk.json")
    book = RiskBook.open(store)
    book.drop("0xf", "0xs", 2, RiskReason.SOURCE_LEVERAGE_CAP)
    assert RiskBook.open(store).drop_reason("0xf", "0xs", 2) is RiskReason.SOURCE_LEVERAGE_CAP
    store.save({"format": 1, "dropped": ["0xf 0xs v4"]})  # written before the reasons were kept
    assert RiskBook.open(store).drop_reason("0xf", "0xs", 4) is RiskReason.SOURCE_DRAWDOWN


def test_resume_lifts_the_trips_and_rebases_on_the_equity_now() -> None:
    limits = RiskLimits(daily_loss_limit=D("0.05"), max_drawdown=D("0.1"))
    state, trips = run([("1000", DAY1), ("850", DAY1)], limits)
    assert trips == [RiskReason.DAILY_LOSS_LIMIT, RiskReason.MAX_DRAWDOWN]
    resumed, holding = resume_account(state, D("850"), DAY1, limits)
    assert holding == [] and account_block(resumed, DAY1, reduce_only=False) is None
    assert resumed.day_start_equity == D("850") and resumed.peak_equity == D("850")
    again, trips = run_from(resumed, [("840", DAY1)], limits)  # −1.2 % since the resume: not again
    assert trips == [] and account_block(again, DAY1, reduce_only=False) is None


def test_resume_rechecks_the_equity_floor_instead_of_lifting_it() -> None:
    limits = RiskLimits(equity_floor=D("900"))
    state, trips = run([("1000", DAY1), ("899.99", DAY1)], limits)
    assert trips == [RiskReason.EQUITY_FLOOR]
    still, holding = resume_account(state, D("899.99"), DAY1, limits)
    assert holding == [RiskReason.EQUITY_FLOOR]
    assert account_block(still, DAY1, reduce_only=True) is RiskReason.EQUITY_FLOOR
    unknown, holding = resume_account(state, None, DAY1, limits)  # no reading: not lifted blindly
    assert holding == [RiskReason.EQUITY_FLOOR] and unknown.suspended
    lifted, holding = resume_account(state, D("900"), DAY1, limits)  # back at the floor: lifted
    assert holding == [] and account_block(lifted, DAY1, reduce_only=False) is None
