"""The metrics registry and the alert feed: Prometheus naming, isolation, no account in a label."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.alerts import Alert, AlertBus, AlertKind
from bot.ops.feed import RunnerFeed
from bot.ops.health import Backoff, Readiness, wait_for_venue
from bot.ops.metrics import LAG_STAGES, Metrics

ADDRESS = "0x5e9ee1089755c3435139848e47e6635505d5a13a"


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.exposition().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_names_follow_prometheus_conventions() -> None:
    metrics = Metrics()
    for family in metrics.registry.collect():
        assert family.name.startswith("mirrorbot_"), family.name
        if family.type == "counter":
            assert all(s.name.endswith(("_total", "_created")) for s in family.samples), family.name
        if family.type == "histogram" and family.name != "mirrorbot_sync_score":
            assert family.name.endswith("_seconds"), family.name


def test_each_metrics_has_its_own_registry() -> None:
    one, two = Metrics(), Metrics()
    one.order_answered("filled", "open")
    assert samples(one)[("mirrorbot_orders_total", (("reason", "open"), ("result", "filled")))] == 1
    assert ("mirrorbot_orders_total", (("reason", "open"), ("result", "filled"))) not in samples(two)


def test_lag_stages_are_fill_seen_decided_sent_answered() -> None:
    metrics = Metrics()
    for i, stage in enumerate(LAG_STAGES):
        metrics.lag_observed(stage, 0.01 * (i + 1))
    got = samples(metrics)
    for stage in ("seen", "decided", "sent", "answered"):
        assert got[("mirrorbot_ingestion_lag_seconds_count", (("stage", stage),))] == 1
    with pytest.raises(KeyError):
        metrics.lag_observed("typo", 1.0)


async def test_alerts_become_order_and_alert_counts_without_the_account() -> None:
    metrics, bus = Metrics(), AlertBus()
    feed = RunnerFeed(metrics, Readiness(), bus, runner=object())
    feed.start()
    bus.publish(Alert(AlertKind.COPIED, "open", "bought", follower=ADDRESS, source=ADDRESS, coin="ETH"))
    bus.publish(Alert(AlertKind.REJECTED, "margin", "no margin", follower=ADDRESS, coin="ETH"))
    bus.publish(Alert(AlertKind.SKIPPED, "paused", "paused", follower=ADDRESS))
    bus.publish(Alert(AlertKind.FAULT, "ws_dropped", "socket closed"))
    bus.publish(Alert(AlertKind.FAILURE, "watch_failed", "boom"))
    await asyncio.sleep(0)
    feed.refresh()
    got = samples(metrics)
    assert got[("mirrorbot_orders_total", (("reason", "open"), ("result", "filled")))] == 1
    assert got[("mirrorbot_orders_total", (("reason", "margin"), ("result", "rejected")))] == 1
    assert got[("mirrorbot_decisions_not_sent_total", (("outcome", "skipped"), ("reason", "paused")))] == 1
    assert got[("mirrorbot_websocket_reconnects_total", ())] == 1
    assert got[("mirrorbot_pipeline_errors_total", (("reason", "watch_failed"),))] == 1
    assert got[("mirrorbot_alerts_total", (("kind", "rejected"), ("reason", "margin")))] == 1
    assert ADDRESS not in metrics.exposition().decode().lower()
    await feed.stop()


def test_readiness_is_false_until_every_check_passes() -> None:
    readiness = Readiness(("venue", "ledger"))
    assert not readiness.ready
    readiness.set("venue", True, "answered")
    assert not readiness.ready and readiness.doc()["checks"] == {
        "ledger": {"ok": False, "detail": "not checked yet"},
        "venue": {"ok": True, "detail": "answered"},
    }
    readiness.set("ledger", True)
    assert readiness.ready
    assert not Readiness().ready  # nothing registered: nothing known to work


async def test_a_refusing_venue_is_not_waited_out() -> None:
    """Only a venue that is not there is waited for; a refusal of the request itself is raised."""
    from bot.domain import VenueRequestError

    class Forbidden(VenueRequestError):
        status = 403

    calls = 0

    async def probe() -> int:
        nonlocal calls
        calls += 1
        raise Forbidden("HTTP 403")

    with pytest.raises(Forbidden):
        await wait_for_venue(probe, Readiness(), asyncio.Event(), url="http://x", backoff=Backoff(0.001))
    assert calls == 1


async def test_a_venue_that_is_down_is_retried_with_back_off_until_it_answers() -> None:
    import httpx

    readiness = Readiness()
    answers: list[object] = [httpx.ConnectError("refused"), OSError("unreachable"), "listed"]
    seen_ready: list[bool] = []

    async def probe() -> str:
        seen_ready.append(readiness.checks["venue"].ok)
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        assert isinstance(answer, str)
        return answer

    got = await wait_for_venue(probe, readiness, asyncio.Event(), url="http://x", backoff=Backoff(0.001))
    assert got == "listed" and seen_ready == [False, False, False] and readiness.checks["venue"].ok


async def test_stopping_while_waiting_ends_the_wait() -> None:
    import httpx

    stop = asyncio.Event()

    async def probe() -> str:
        stop.set()  # a SIGTERM arrives while the venue is down
        raise httpx.ConnectError("refused")

    assert await wait_for_venue(probe, Readiness(), stop, url="http://x", backoff=Backoff(60.0)) is None


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [Backoff(1, 2, 5).delay(n) for n in range(1, 6)] == [1, 2, 4, 5, 5]
