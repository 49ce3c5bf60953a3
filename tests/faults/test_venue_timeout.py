"""Fault: the venue answers late. The order executed; our client timed out (venue_timeout), so the
outcome is unknown: it is looked up by cloid and found filled — never sent again."""

from __future__ import annotations

import logging

import pytest

from bot.alerts import AlertKind
from bot.faults import VENUE_TIMEOUT
from bot.logs import FIELDS_ATTR
from tests.e2e.support import World
from tests.faults.support import (
    alert,
    converged,
    fault,
    held_leader_trade,
    no_duplicate_orders,
    requests_of,
    start,
)


async def test_a_late_answer_is_looked_up_by_cloid_not_resent(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.alerts")
    pair = await start(world, timeout_s=0.3)
    await held_leader_trade(pair, "10", latencyMs=1200, scope="exchange")

    timed_out = await alert(world, VENUE_TIMEOUT, AlertKind.FAULT)
    assert "looked up by cloid" in timed_out.message
    copied = await alert(world, "open", AlertKind.COPIED)
    await fault(world, clear=True)
    await converged(pair, {"ETH": "0.1"})
    await no_duplicate_orders(world)
    assert len(await requests_of(world, str(copied.details["cloid"]))) == 1  # sent once, never again
    assert pair.runner.copier is not None and pair.runner.copier.oms.unknown_outcomes >= 1
    assert not world.alerts.of_kind(AlertKind.UNKNOWN_OUTCOME)  # the lookup settled it
    logged = [getattr(r, FIELDS_ATTR, {}) for r in caplog.records]
    assert {"kind": AlertKind.FAULT, "reason": VENUE_TIMEOUT}.items() <= next(
        f for f in logged if f.get("reason") == VENUE_TIMEOUT
    ).items()  # logged with its reason code, as every alert is
