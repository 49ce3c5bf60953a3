"""A pair's failure alert names the strategy of its follow (the ops port counts errors per strategy)."""

from __future__ import annotations

from decimal import Decimal

from bot.alerts import AlertBus, AlertKind
from bot.domain import TradingAccount
from bot.ledger import FollowPlan
from bot.pipeline.desk import Desk, LoadedPlan
from bot.pipeline.tell import Teller
from strategies.engine import Follower
from strategies.model import Market

FOLLOWER = "0x" + "f" * 40
SOURCE, OTHER = "0x" + "5" * 40, "0x" + "6" * 40
MARKETS = {"ETH": Market("ETH", 4)}


def test_a_failure_names_the_follows_strategy_and_mirror_when_no_plan_is_applied() -> None:
    bus = AlertBus()
    desk = Desk(TradingAccount(FOLLOWER, "00" * 32), Follower(MARKETS, min_notional=Decimal(10)))
    plan = FollowPlan(
        follower=FOLLOWER, source=SOURCE, version=1, settings={"strategy": "fixed_ratio", "ratio": "2"}
    )
    desk.plans[SOURCE] = LoadedPlan.of(plan)
    teller = Teller(bus, MARKETS)
    teller.failure(desk, "ETH", SOURCE, ValueError("boom"))
    teller.failure(desk, "ETH", OTHER, ValueError("boom"))
    told = [a for a in bus.recent if a.kind is AlertKind.FAILURE]
    assert [a.details["strategy"] for a in told] == ["fixed_ratio", "mirror"]
    assert [a.reason for a in told] == ["ValueError", "ValueError"]
