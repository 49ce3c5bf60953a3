"""The metrics registry and the alert feed: Prometheus naming, isolation, no account in a label."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.alerts import Alert, AlertBus, AlertKind
from bot.config import load_settings
from bot.ops.feed import RunnerFeed
from bot.ops.health import Readiness
from bot.ops.metrics import LAG_STAGES, Metrics
from bot.pipeline.runner import Runner

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


def unstarted_runner(tmp_path: Path, bus: AlertBus) -> Runner:
    """A runner as `mirrorbot run` builds it, before `start()`: its alert bus and stopwatch are there."""
    settings = load_settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'ledger.db'}")
    return Runner(settings, alerts=bus)


async def test_alerts_become_order_and_alert_counts_without_the_account(tmp_path: Path) -> None:
    metrics, bus = Metrics(), AlertBus()
    feed = RunnerFeed(metrics, Readiness(), unstarted_runner(tmp_path, bus))
    feed.start()
    bus.publish(Alert(AlertKind.COPIED, "open", "bought", follower=ADDRESS, source=ADDRESS, coin="ETH"))
    bus.publish(Alert(AlertKind.REJECTED, "margin", "no margin", follower=ADDRESS, coin="ETH"))
    bus.publish(Alert(AlertKind.SKIPPED, "paused", "paused", follower=ADDRESS))
    bus.publish(Alert(AlertKind.FAULT, "ws_dropped", "socket closed"))
    bus.publish(Alert(AlertKind.FAILURE, "watch_failed", "boom"))
    failed = {"strategy": "fixed_ratio"}  # a pair's decision failed (Teller.failure names the strategy)
    bus.publish(Alert(AlertKind.FAILURE, "ValueError", "copying ETH failed", ADDRESS, ADDRESS, "ETH", failed))
    await asyncio.sleep(0)
    feed.refresh()
    got = samples(metrics)
    assert got[("mirrorbot_orders_total", (("reason", "open"), ("result", "filled")))] == 1
    assert got[("mirrorbot_orders_total", (("reason", "margin"), ("result", "rejected")))] == 1
    assert got[("mirrorbot_decisions_not_sent_total", (("outcome", "skipped"), ("reason", "paused")))] == 1
    assert got[("mirrorbot_websocket_reconnects_total", ())] == 1
    assert got[("mirrorbot_pipeline_errors_total", (("reason", "watch_failed"),))] == 1
    assert got[("mirrorbot_alerts_total", (("kind", "rejected"), ("reason", "margin")))] == 1
    assert got[("mirrorbot_strategy_errors_total", (("strategy", "fixed_ratio"),))] == 1
    assert ("mirrorbot_strategy_errors_total", (("strategy", "mirror"),)) not in got
    assert ADDRESS not in metrics.exposition().decode().lower()
    await feed.stop()


async def test_the_copy_stopwatch_feeds_the_lag_histogram_until_the_feed_stops(tmp_path: Path) -> None:
    metrics = Metrics()
    runner = unstarted_runner(tmp_path, AlertBus())
    feed = RunnerFeed(metrics, Readiness(), runner)
    feed.start()
    runner.clock.reached("sent", 1_000, 1_250)
    runner.clock.reached("answered", None, 1_250)  # no venue time (a reconciliation order): not timed
    got = samples(metrics)
    assert got[("mirrorbot_ingestion_lag_seconds_count", (("stage", "sent"),))] == 1
    assert got[("mirrorbot_ingestion_lag_seconds_sum", (("stage", "sent"),))] == 0.25
    assert got[("mirrorbot_ingestion_lag_seconds_count", (("stage", "answered"),))] == 0
    await feed.stop()
    assert runner.clock.listeners == []
    runner.clock.reached("sent", 1_000, 1_500)
    assert samples(metrics)[("mirrorbot_ingestion_lag_seconds_count", (("stage", "sent"),))] == 1


def test_status_says_ready_or_names_each_failing_check() -> None:
    from bot.service.runner_health import readiness_line

    ready = Readiness(("venue",))
    ready.set("venue", True, "answered")
    assert readiness_line(ready.doc()) == "ready"
    waiting = Readiness(("venue", "ledger"))
    waiting.set("venue", False, "unreachable: ConnectError")
    assert readiness_line(waiting.doc()) == (
        "not ready: ledger (not checked yet), venue (unreachable: ConnectError)"
    )
    assert readiness_line(None) == "unknown"  # no runner, or one that stopped: nothing to judge


async def test_a_reconciliation_pass_is_counted_once_by_kind_with_its_scores(tmp_path: Path) -> None:
    """The feed reads the pass the runner's health recorder keeps (HealthRecorder.reconciled)."""
    from decimal import Decimal

    from bot.ledger import Ledger
    from bot.pipeline.health import HealthRecorder
    from bot.pipeline.reconcile import PassReport

    metrics, bus = Metrics(), AlertBus()
    runner = unstarted_runner(tmp_path, bus)
    scores = {"0x" + "a" * 40: Decimal("87.5"), "0x" + "b" * 40: Decimal(100)}
    ledger = await Ledger.open(f"sqlite+aiosqlite:///{tmp_path / 'health.db'}")
    runner.health = HealthRecorder(ledger, bus, lambda: scores)
    runner.health.reconciled(
        PassReport(1, orders=2, missed_changes=1, unresolved_orders=3, unknown_reads=["0x" + "a" * 40])
    )
    feed = RunnerFeed(metrics, Readiness(), runner)
    feed.refresh()
    feed.refresh()  # the same pass again: not counted twice
    got = samples(metrics)
    assert got[("mirrorbot_reconcile_passes_total", ())] == 1
    assert got[("mirrorbot_reconcile_orders_total", ())] == 2
    kinds = {"missed_change": 1, "unresolved_order": 3, "unknown_read": 1}
    for kind, count in kinds.items():
        assert got[("mirrorbot_reconcile_mismatches_total", (("kind", kind),))] == count, kind
    assert ("mirrorbot_reconcile_mismatches_total", (("kind", "manual_change"),)) not in got
    assert got[("mirrorbot_sync_score_count", ())] == 2
    assert got[("mirrorbot_sync_score_min", ())] == 87.5
    assert "0xaaaa" not in metrics.exposition().decode()
    await ledger.close()
