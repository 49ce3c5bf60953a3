"""Issue #18 for the distributed roles: each role serves /metrics, /healthz and /readyz on its own
MIRROR_METRICS_PORT, like `mirrorbot run`. Real processes on loopback (localnet, PostgreSQL, a private
Redis): a watcher, a copy worker and the control process, one set of them for every assertion — the
stream lag/pending gauges move while the worker is frozen and fall back once it wakes, the worker's
order counter and latency histogram (run's pipeline, run's metrics) move when a leader trades, the
leases match `cluster status`, and /readyz turns false when Redis stops (and true when it is back)."""

from __future__ import annotations

import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.service.runner_health import runner_health
from tests.bus.support import private_redis
from tests.cluster.support import Cluster, Role
from tests.e2e.support import World
from tests.ops.support import free_port, get
from tests.waiting import wait_until

POSTGRESQL = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
# Longer than the suite's 2 s: the worker is frozen a while below and should keep its lease meanwhile
# (it would recover if not, but the test is about the gauges, not a takeover).
HEARTBEAT = "4"


def samples(text: str, name: str, **labels: str) -> list[float]:
    return [
        float(s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    ]


def value(text: str, name: str, **labels: str) -> float:
    return sum(samples(text, name, **labels))


class Port:
    def __init__(self, role: Role, port: int) -> None:
        self.role, self.port = role, port

    async def metrics(self) -> str:
        answer = await get(self.port, "/metrics")
        assert answer.status_code == 200
        return answer.text

    async def ready(self) -> tuple[int, dict[str, dict[str, object]]]:
        answer = await get(self.port, "/readyz")
        return answer.status_code, answer.json()["checks"]

    async def until(self, check: object, what: str) -> str:
        async def probe() -> str | None:
            assert self.role.process.returncode is None, f"{self.role.name} exited: {self.role.events[-5:]}"
            text = await self.metrics()
            return text if check(text) else None  # type: ignore[operator]

        found: str = await wait_until(probe, f"{self.role.name}: {what}", within=60)
        return found

    async def readiness(self, ready: bool, what: str) -> dict[str, dict[str, object]]:
        async def probe() -> dict[str, dict[str, object]] | None:
            code, checks = await self.ready()
            return checks if (code == 200) == ready else None

        found: dict[str, dict[str, object]] = await wait_until(probe, f"{self.role.name}: {what}", within=60)
        return found


def backlog(text: str, group: str) -> float:
    """The group's entries not acknowledged yet: delivered (pending) and not delivered (lag)."""
    return value(text, "mirrorbot_stream_pending_entries", group=group) + value(
        text, "mirrorbot_stream_lag_entries", group=group
    )


@POSTGRESQL
async def test_each_role_serves_its_metrics_and_readiness(world: World, tmp_path: Path) -> None:
    ledger = world.ledger
    assert ledger is not None
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("1000")
    await world.follow(follower, leader.address)

    with private_redis(tmp_path / "redis") as redis:
        cluster = Cluster(world, redis.url)
        ports = {name: free_port() for name in ("ctl", "w1", "c1")}
        for name, number in ports.items():  # one variable per process: each its own port
            cluster.extra_env[name] = {"MIRROR_METRICS_PORT": str(number)}
        try:
            ctl = Port(await cluster.launch("control", "ctl", "--heartbeat", HEARTBEAT), ports["ctl"])
            await ctl.role.started("control_started")
            w1 = Port(await cluster.launch("watch", "w1", "--heartbeat", HEARTBEAT), ports["w1"])
            await w1.role.started("watcher_started")
            c1 = Port(await cluster.launch("copy", "c1", "--heartbeat", HEARTBEAT), ports["c1"])
            await c1.role.started("runner_started")
            await cluster.settled(["c1"], ["w1"])

            # Ready: each role's own checks (the worker's are run's, its `ledger` its heartbeat, + bus).
            checks = {name: await port.readiness(True, "ready") for name, port in (("ctl", ctl), ("w1", w1))}
            checks["c1"] = await c1.readiness(True, "ready")
            assert set(checks["ctl"]) == {"ledger", "bus"}
            assert set(checks["w1"]) == {"venue", "websockets", "ledger", "bus"}
            assert set(checks["c1"]) == {"venue", "websockets", "ledger", "dead_man_switch", "bus"}
            assert (await get(ports["w1"], "/healthz")).json() == {"alive": True}

            # The worker's health row (`mirrorbot status`) reads the same checks: ready too (its `ledger`
            # check, a runner lease the worker never holds, failed there for good before).
            async def row_ready() -> dict[str, object] | None:
                health = await runner_health(ledger, datetime.now(UTC), "worker:c1")
                said = health["readiness"]
                return said if said is not None and said["ready"] else None

            row = await wait_until(row_ready, "the worker's health row ready", within=60)
            assert set(row["checks"]) == set(checks["c1"])

            # The leases each process reports are the ones `cluster status` shows it holding.
            status = await cluster.status()
            holds = {p.name: p.holds for p in status.processes if p.alive}
            before = {name: await port.metrics() for name, port in (("w1", w1), ("c1", c1), ("ctl", ctl))}
            assert value(before["w1"], "mirrorbot_leases_held", kind="source") == holds["w1"] == 1
            assert value(before["c1"], "mirrorbot_leases_held", kind="follower") == holds["c1"] == 1
            assert value(before["c1"], "mirrorbot_lease_changes_total", kind="follower", change="gained") >= 1
            for text in before.values():  # a lease lasts two heartbeats of 4 s
                assert 0 <= value(text, "mirrorbot_cluster_heartbeat_age_seconds") < 8
                assert value(text, "mirrorbot_ready") == 1
                assert value(text, "mirrorbot_heartbeat_timestamp_seconds") > 0
            # The worker reports its own group on every stream; the watcher and the control every group.
            assert len(samples(before["c1"], "mirrorbot_stream_pending_entries", group="copy:c1")) == 16
            assert samples(before["ctl"], "mirrorbot_stream_lag_entries", group="copy:c1")
            assert samples(before["w1"], "mirrorbot_stream_lag_entries", group="copy:c1")
            assert value(before["c1"], "mirrorbot_orders_total", result="filled") == 0

            # A leader trades: the watcher publishes, the worker consumes and orders.
            await world.leader_to(leader, "ETH", "10")
            await world.follower_at(follower, "ETH", "0.1")
            watched = await w1.until(lambda t: value(t, "mirrorbot_bus_published_total") >= 1, "published")

            def copied_once(text: str) -> bool:  # counted when answered, acknowledged once recorded
                filled = value(text, "mirrorbot_orders_total", result="filled")
                return filled >= 1 and backlog(text, "copy:c1") == 0

            copied = await c1.until(copied_once, "the order counted, the change acknowledged")
            assert value(copied, "mirrorbot_bus_consumed_total") >= 1
            assert value(copied, "mirrorbot_ingestion_lag_seconds_count", stage="answered") >= 1
            assert value(copied, "mirrorbot_followers") == 1

            # The worker frozen: the next change waits in its group (the watcher's port shows it), and
            # is consumed once it wakes.
            c1.role.process.send_signal(signal.SIGSTOP)
            try:
                await world.leader_to(leader, "ETH", "15")
                waiting = await w1.until(lambda t: backlog(t, "copy:c1") >= 1, "the frozen worker's backlog")
            finally:
                c1.role.process.send_signal(signal.SIGCONT)
            published = "mirrorbot_bus_published_total"
            assert value(waiting, published) > value(watched, published)
            await world.follower_at(follower, "ETH", "0.15")

            def caught_up(text: str) -> bool:
                filled = value(text, "mirrorbot_orders_total", result="filled")
                return filled >= 2 and backlog(text, "copy:c1") == 0

            woke = await c1.until(caught_up, "the backlog consumed, the order counted")
            assert value(woke, "mirrorbot_bus_consumed_total") > value(copied, "mirrorbot_bus_consumed_total")
            await w1.until(lambda t: backlog(t, "copy:c1") == 0, "the backlog gone")

            for text in (watched, copied, waiting, woke):  # no account on any port
                assert follower.lower() not in text.lower() and leader.address.lower() not in text.lower()

            # Redis stops: every role says it is not ready, and why; back when Redis is.
            redis.stop()
            for port in (ctl, w1, c1):
                down = await port.readiness(False, "not ready without Redis")
                assert down["bus"]["ok"] is False and str(down["bus"]["detail"]).startswith("unreachable")
                assert down["ledger"]["ok"] is True
                assert value(await port.metrics(), "mirrorbot_readiness_check", check="bus") == 0
                assert (await get(port.port, "/healthz")).status_code == 200
            redis.start()
            for port in (ctl, w1, c1):
                await port.readiness(True, "ready again with Redis")
            codes = await cluster.stop_all()
        finally:
            for role in cluster.roles:
                if role.process.returncode is None:
                    role.process.kill()
    assert set(codes.values()) == {0}, {r.name: r.events[-5:] for r in cluster.roles}
