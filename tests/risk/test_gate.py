"""The gate's pauses: the user's pause and the daily-loss pause are kept apart (a new UTC day lifts only
the guard's), and a resume re-checks the equity floor rather than lifting it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from bot.alerts import AlertBus, AlertKind
from bot.domain import AccountState, TradingAccount
from bot.ledger import FollowPlan
from bot.pipeline.desk import Desk, LoadedPlan
from bot.pipeline.guard_gate import RiskGate
from bot.risk import RiskBook, RiskReason
from strategies.engine import Follower
from strategies.model import Market

D = Decimal
FOLLOWER = "0x" + "f" * 40
SOURCE = "0x" + "5" * 40
DAY1 = int(datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp() * 1000)
DAY2 = int(datetime(2026, 3, 3, 0, 0, 1, tzinfo=UTC).timestamp() * 1000)


class Clock:
    def __init__(self) -> None:
        self.now = DAY1

    def __call__(self) -> int:
        return self.now


def setup(**limits: str) -> tuple[RiskGate, Desk, Clock]:
    clock = Clock()
    gate = RiskGate(RiskBook(), AlertBus(), clock)
    desk = Desk(TradingAccount(FOLLOWER, "00" * 32), Follower({"ETH": Market("ETH", 4)}, min_notional=D(10)))
    plan = FollowPlan(follower=FOLLOWER, source=SOURCE, version=1, settings={"strategy": "mirror", **limits})
    desk.plans[SOURCE] = LoadedPlan.of(plan)
    return gate, desk, clock


def equity(gate: RiskGate, desk: Desk, value: str, clock: Clock) -> None:
    desk.engine.equity = D(value)
    gate.observe_follower(desk, AccountState(FOLLOWER, D(value), (), clock.now))


def test_a_new_utc_day_lifts_the_daily_loss_pause_but_not_the_users() -> None:
    gate, desk, clock = setup(daily_loss_limit="0.05")
    equity(gate, desk, "1000", clock)
    assert not desk.engine.paused
    equity(gate, desk, "940", clock)  # −6 %: the guard pauses
    assert desk.engine.paused
    gate.set_paused(desk, True)  # and the user pauses too, the same day
    clock.now = DAY2
    equity(gate, desk, "940", clock)
    assert desk.engine.paused  # the guard's pause is over; the user's is not
    gate.set_paused(desk, False)
    assert not desk.engine.paused


def test_the_daily_loss_pause_lifts_at_the_next_day_when_the_user_did_not_pause() -> None:
    gate, desk, clock = setup(daily_loss_limit="0.05")
    equity(gate, desk, "1000", clock)
    equity(gate, desk, "940", clock)
    assert desk.engine.paused
    clock.now = DAY2
    equity(gate, desk, "940", clock)
    assert not desk.engine.paused


def test_a_users_pause_is_not_lifted_by_an_equity_reading() -> None:
    gate, desk, clock = setup(daily_loss_limit="0.05")
    gate.set_paused(desk, True)
    equity(gate, desk, "1000", clock)
    assert desk.engine.paused


def test_resume_lifts_the_daily_loss_pause_and_rebases_the_day() -> None:
    gate, desk, clock = setup(daily_loss_limit="0.05")
    equity(gate, desk, "1000", clock)
    equity(gate, desk, "940", clock)
    gate.set_paused(desk, True)
    assert gate.resume(desk) == []
    assert not desk.engine.paused
    equity(gate, desk, "935", clock)  # −0.5 % since the resume
    assert not desk.engine.paused


def test_resume_keeps_an_equity_floor_suspension_while_still_below() -> None:
    gate, desk, clock = setup(equity_floor="900")
    equity(gate, desk, "950", clock)
    assert gate.book.account(FOLLOWER).suspended is False
    equity(gate, desk, "899", clock)
    assert gate.book.account(FOLLOWER).suspended
    assert gate.resume(desk) == [RiskReason.EQUITY_FLOOR]
    assert gate.book.account(FOLLOWER).suspended
    held = [a for a in gate.alerts.of_kind(AlertKind.GUARD) if a.message.startswith("resumed, but")]
    assert len(held) == 1 and held[0].reason == RiskReason.EQUITY_FLOOR.value
    desk.engine.equity = D("905")  # deposited: the next resume finds it above the floor
    assert gate.resume(desk) == [] and not gate.book.account(FOLLOWER).suspended
