"""The bot's Prometheus metrics (docs/operations.md lists each with its meaning and a query).

One `Metrics` per process, on a registry of its own (not the client's global one: tests build as many
as they like). Names follow Prometheus conventions: `mirrorbot_` prefix, `_total` counters, `_seconds`
histograms. No label ever holds an account address (cardinality and privacy): labels are bounded codes
(a stage, a result, a reason code, an alert kind).

Recording is cheap enough for the hot path: the hot methods are one dict lookup of a pre-built child
plus the client's own increment (no lock or allocation of ours).
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

# Venue fill time → the bot saw it → decided → order sent → the venue answered (SPEC §2's copy latency).
from bot.pipeline.lag import LAG_STAGES

__all__ = ["CONTENT_TYPE_LATEST", "LAG_STAGES", "ClusterMetrics", "Metrics"]

_LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_SCORE_BUCKETS = (50.0, 80.0, 90.0, 95.0, 99.0, 100.0)
MISMATCH_KINDS = ("missed_change", "manual_change", "held_by_policy", "unresolved_order", "unknown_read")


class Metrics:
    """`cluster`: also the metrics of a role of the multi-process mode (`ClusterMetrics`)."""

    def __init__(self, *, cluster: bool = False) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.cluster = ClusterMetrics(r) if cluster else None
        self.lag = Histogram(
            "mirrorbot_ingestion_lag_seconds",
            "Seconds from the source's fill on the venue to each stage of its copy.",
            ["stage"],
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        self._lag = {stage: self.lag.labels(stage) for stage in LAG_STAGES}
        self.orders = Counter(
            "mirrorbot_orders_total",
            "Follower orders answered by the venue, by result (filled, rejected, unknown) and reason code.",
            ["result", "reason"],
            registry=r,
        )
        self.decisions = Counter(
            "mirrorbot_decisions_not_sent_total",
            "Decisions that sent no (or a smaller) order: skipped, deferred or lowered by a guard.",
            ["outcome", "reason"],
            registry=r,
        )
        self.reconcile_passes = Counter(
            "mirrorbot_reconcile_passes_total", "Reconciliation passes run.", registry=r
        )
        self.reconcile_mismatches = Counter(
            "mirrorbot_reconcile_mismatches_total",
            "What reconciliation passes found the venue and the ledger disagreeing about, by kind.",
            ["kind"],
            registry=r,
        )
        self.reconcile_orders = Counter(
            "mirrorbot_reconcile_orders_total",
            "Orders reconciliation passes sent to close a gap.",
            registry=r,
        )
        self.sync_score = Histogram(
            "mirrorbot_sync_score",
            "Each follower's sync score (0-100, SPEC section 6) at each reconciliation pass.",
            buckets=_SCORE_BUCKETS,
            registry=r,
        )
        self.sync_score_min = Gauge(
            "mirrorbot_sync_score_min",
            "The lowest follower sync score at the last pass (100: all in sync).",
            registry=r,
        )
        self.followers = Gauge("mirrorbot_followers", "Follower accounts the runner copies into.", registry=r)
        self.followers_out_of_sync = Gauge(
            "mirrorbot_followers_out_of_sync",
            "Followers with at least one pair out of sync (not at its target).",
            registry=r,
        )
        self.ws_reconnects = Counter(
            "mirrorbot_websocket_reconnects_total",
            "Source websockets that dropped and reconnected.",
            registry=r,
        )
        self.weight_used = Counter(
            "mirrorbot_venue_weight_used_total",
            "Request weight spent on the venue by this process (its IP's budget).",
            registry=r,
        )
        self.weight_budget = Gauge(
            "mirrorbot_venue_weight_budget_per_minute",
            "The request weight this process may spend per minute.",
            registry=r,
        )
        self.alerts = Counter(
            "mirrorbot_alerts_total",
            "Alerts published, by kind and reason code.",
            ["kind", "reason"],
            registry=r,
        )
        self.pipeline_errors = Counter(
            "mirrorbot_pipeline_errors_total",
            "Pipeline stages that failed (the reason code of the failure alert).",
            ["reason"],
            registry=r,
        )
        self.strategy_errors = Counter(
            "mirrorbot_strategy_errors_total",
            "Decisions a strategy failed to make, by strategy.",
            ["strategy"],
            registry=r,
        )
        self.heartbeat = Gauge(
            "mirrorbot_heartbeat_timestamp_seconds",
            "When the process last refreshed its metrics (Unix time).",
            registry=r,
        )
        self.ready = Gauge(
            "mirrorbot_ready", "1 when every readiness check passes (/readyz), else 0.", registry=r
        )
        self.readiness = Gauge(
            "mirrorbot_readiness_check", "Each readiness check: 1 passing, 0 failing.", ["check"], registry=r
        )
        self.dead_man_until = Gauge(
            "mirrorbot_dead_man_armed_until_timestamp_seconds",
            "The earliest time any follower's dead-man switch would cancel its orders (Unix time).",
            registry=r,
        )

    # --- the hot path ----------------------------------------------------------------------------

    def lag_observed(self, stage: str, seconds: float) -> None:
        """One copy reached `stage` (one of LAG_STAGES) `seconds` after the source's fill."""
        self._lag[stage].observe(seconds)

    def order_answered(self, result: str, reason: str) -> None:
        self.orders.labels(result, reason).inc()

    # --- the slow path ---------------------------------------------------------------------------

    def reconciled(self, mismatches: dict[str, int], orders: int, scores: Iterable[float]) -> None:
        self.reconcile_passes.inc()
        for kind, count in mismatches.items():
            if count:
                self.reconcile_mismatches.labels(kind).inc(count)
        if orders:
            self.reconcile_orders.inc(orders)
        seen = list(scores)
        for score in seen:
            self.sync_score.observe(score)
        self.sync_score_min.set(min(seen) if seen else 100.0)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class ClusterMetrics:
    """A role's own (`mirrorbot watch`, `copy`, `control`): the bus's streams as its consumer groups see
    them, the leases this process holds and how they moved, its bus traffic, its heartbeat. Labels: a
    consumer group (`copy:<worker name>`), a stream (`mirror:changes:<shard>`), a lease kind — names an
    operator chose and shard numbers, never an account."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.stream_lag = Gauge(
            "mirrorbot_stream_lag_entries",
            "Entries of a stream not yet delivered to a consumer group.",
            ["group", "stream"],
            registry=r,
        )
        self.stream_pending = Gauge(
            "mirrorbot_stream_pending_entries",
            "Entries of a stream delivered to a consumer group and not acknowledged yet.",
            ["group", "stream"],
            registry=r,
        )
        self.leases_held = Gauge(
            "mirrorbot_leases_held",
            "Work leases this process holds now, by kind (source: a watcher, follower: a copy worker).",
            ["kind"],
            registry=r,
        )
        self.lease_changes = Counter(
            "mirrorbot_lease_changes_total",
            "Work leases this process gained, gave back (rebalancing) or lost (taken over), by kind.",
            ["kind", "change"],
            registry=r,
        )
        self.bus_published = Counter(
            "mirrorbot_bus_published_total", "Source changes this process put on the bus.", registry=r
        )
        self.bus_consumed = Counter(
            "mirrorbot_bus_consumed_total",
            "Bus entries this process consumed and acknowledged.",
            registry=r,
        )
        self.heartbeat_age = Gauge(
            "mirrorbot_cluster_heartbeat_age_seconds",
            "Seconds since this process last renewed its leases in the ledger (+Inf: never yet).",
            registry=r,
        )
