"""Fault: the fills websocket drops (ws_dropped). Rule: reconnect after a capped, jittered backoff,
resubscribe, and backfill every source from its last seen fill (minus an overlap); one de-duplicator
for every path, so a fill made while disconnected is mirrored once and nothing is mirrored twice."""

from __future__ import annotations

from bot.alerts import AlertKind
from bot.faults import WS_DROPPED
from tests.e2e.support import World
from tests.faults.support import alert, converged, fault, no_duplicate_orders, start, subscribed
from tests.waiting import wait_until


async def test_fills_made_while_disconnected_are_backfilled_once(world: World) -> None:
    pair = await start(world)
    await world.leader_to(pair.leader, "ETH", "10")
    await alert(world, "open", AlertKind.COPIED)
    (socket,) = pair.venue.sockets
    connects = socket.connects

    await fault(world, dropWsRate=1, dropWsNow=True)  # every connection closes at its first message
    await alert(world, WS_DROPPED, AlertKind.FAULT)
    await world.leader_to(pair.leader, "ETH", "15")  # traded while the bot cannot stay connected
    await fault(world, clear=True)
    await subscribed(pair.runner)

    await alert(world, "increase", AlertKind.COPIED)
    await converged(pair, {"ETH": "0.15"})

    async def reconnected() -> bool:
        return socket.connects > connects

    await wait_until(reconnected, "a new connection")
    await no_duplicate_orders(world)
    assert len(world.alerts.of_kind(AlertKind.COPIED)) == 2  # the open and the increase, once each
