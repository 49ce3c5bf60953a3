"""The alert bus: every subscriber gets every alert; a slow one loses its oldest, never blocks."""

from __future__ import annotations

from bot.alerts import Alert, AlertBus, AlertKind


def alert(n: int, kind: AlertKind = AlertKind.SKIPPED) -> Alert:
    return Alert(kind, "paused", f"alert {n}", follower="0xf", coin="ETH")


async def test_each_subscriber_receives_each_alert_in_order() -> None:
    bus = AlertBus()
    first, second = bus.subscribe(), bus.subscribe()
    for n in range(3):
        bus.publish(alert(n))
    for queue in (first, second):
        assert [queue.get_nowait().message for _ in range(3)] == ["alert 0", "alert 1", "alert 2"]


async def test_a_full_subscriber_loses_the_oldest_alerts() -> None:
    bus = AlertBus(queue_size=2, history=3)
    queue = bus.subscribe()
    for n in range(5):
        bus.publish(alert(n, AlertKind.REJECTED if n == 4 else AlertKind.SKIPPED))
    assert [queue.get_nowait().message for _ in range(2)] == ["alert 3", "alert 4"]
    assert [a.message for a in bus.recent] == ["alert 2", "alert 3", "alert 4"]
    assert [a.message for a in bus.of_kind(AlertKind.REJECTED)] == ["alert 4"]


async def test_an_unsubscribed_queue_receives_nothing_more() -> None:
    bus = AlertBus()
    queue = bus.subscribe()
    bus.unsubscribe(queue)
    bus.publish(alert(1))
    assert queue.empty()
