"""`mirrorbot limits` / `/limits`: every risk key is shown with its value and unit, and "loosening" —
which needs a confirmation — is defined per key: a cap raised, a floor lowered, keep instead of close,
any limit turned off; adding a limit only tightens."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.service import InvalidInput
from bot.service.owner import LIMIT_KEYS, OwnerService, limit_lines
from tests.control.test_stop import cli
from tests.e2e.support import World

CAPS = [k for k in LIMIT_KEYS if k not in ("equity_floor", "max_drawdown_action")]


@pytest.mark.parametrize("key", CAPS)
def test_a_cap_loosens_when_raised_or_turned_off_and_tightens_when_lowered(key: str) -> None:
    now = {key: "0.1"}
    assert OwnerService.raised(now, {key: Decimal("0.2")}) == (key,)
    assert OwnerService.raised(now, {key: Decimal("0.05")}) == ()
    assert OwnerService.raised(now, {key: Decimal("0.10")}) == ()  # the same value
    assert OwnerService.raised({key: None}, {key: Decimal("50")}) == ()  # adding one only tightens
    if key != "slippage_cap":
        assert OwnerService.raised(now, OwnerService.parse_limits({key: "off"})) == (key,)


def test_the_equity_floor_loosens_when_lowered() -> None:
    now = {"equity_floor": "500"}
    assert OwnerService.raised(now, {"equity_floor": Decimal("400")}) == ("equity_floor",)
    assert OwnerService.raised(now, {"equity_floor": Decimal("600")}) == ()
    assert OwnerService.raised(now, {"equity_floor": None}) == ("equity_floor",)
    assert OwnerService.raised({"equity_floor": None}, {"equity_floor": Decimal("600")}) == ()


def test_keep_instead_of_close_loosens_the_drawdown_stop() -> None:
    parsed = OwnerService.parse_limits({"max_drawdown_action": "KEEP"})
    assert parsed == {"max_drawdown_action": "keep"}
    assert OwnerService.raised({"max_drawdown_action": None}, parsed) == (
        "max_drawdown_action",
    )  # unset: close
    assert OwnerService.raised({"max_drawdown_action": "keep"}, {"max_drawdown_action": "close"}) == ()
    with pytest.raises(InvalidInput, match=r"max_drawdown_action.*close, keep"):
        OwnerService.parse_limits({"max_drawdown_action": "sell"})


def test_every_key_is_shown_with_its_unit() -> None:
    lines = limit_lines(dict.fromkeys(LIMIT_KEYS) | {"equity_floor": "500", "slippage_cap": "0.01"})
    assert [line.split(":")[0] for line in lines] == list(LIMIT_KEYS)
    assert "equity_floor: 500 USD" in lines and "slippage_cap: 0.01 (= 1 %) fraction of the mid" in lines
    assert "daily_loss_limit: off (fraction of the UTC day's start equity)" in lines
    assert "max_drawdown_action: close (default) (close or keep the positions)" in lines


async def test_the_cli_shows_every_key_and_asks_before_lowering_the_floor(world: World) -> None:
    leader = await world.leader("1000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address, equity_floor="500", daily_loss_limit="0.05")
    shown = await cli(world, "limits", leader.address)
    assert shown.exit_code == 0, shown.output
    assert [line.split(":")[0] for line in shown.output.splitlines()] == list(LIMIT_KEYS)
    assert "equity_floor: 500 USD" in shown.output
    assert "stop_loss_pct: off (% of the entry price (a venue stop-loss trigger))" in shown.output

    tighter = await cli(world, "limits", leader.address, "equity_floor=600", "daily_loss_limit=0.04")
    assert tighter.exit_code == 0, tighter.output
    lower = await cli(world, "limits", leader.address, "equity_floor=400")
    assert lower.exit_code == 2 and "loosens equity_floor: confirm with --yes" in lower.output
    assert world.ledger is not None
    plan = await world.ledger.current_plan(follower, leader.address)
    assert plan is not None and plan.settings["equity_floor"] == "600"  # nothing half-written
    confirmed = await cli(world, "limits", leader.address, "equity_floor=400", "--yes", "--json")
    assert confirmed.exit_code == 0, confirmed.output
    plan = await world.ledger.current_plan(follower, leader.address)
    assert plan is not None and plan.settings["equity_floor"] == "400"
    assert plan.settings["daily_loss_limit"] == "0.04"

    # The per-position stop-loss is a limit like the others: a wider stop loosens it.
    stop = await cli(world, "limits", leader.address, "stop_loss_pct=5", "--json")
    assert stop.exit_code == 0, stop.output
    wider = await cli(world, "limits", leader.address, "stop_loss_pct=8")
    assert wider.exit_code == 2 and "loosens stop_loss_pct: confirm with --yes" in wider.output
    bad = await cli(world, "limits", leader.address, "stop_loss_pct=100")
    assert bad.exit_code == 2 and "stop_loss_pct" in bad.output
    off = await cli(world, "limits", leader.address, "stop_loss_pct=off", "--yes")
    assert off.exit_code == 0, off.output
    plan = await world.ledger.current_plan(follower, leader.address)
    assert plan is not None and plan.settings.get("stop_loss_pct") is None
