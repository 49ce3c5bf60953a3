"""A watcher's budget (issue #15): it takes the sources its websocket users stream — the most followed
first — and then those its weight budget polls every `--poll-staleness` seconds; a source beyond its
websocket users is copied from the venue's polls. On loopback: a localnet, a PostgreSQL ledger, a Redis,
a `mirrorbot watch` allowed one websocket user and a `mirrorbot copy`."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.hyperliquid.venue import HYPERLIQUID_CAPABILITIES, polled_sources
from bot.cli import app
from bot.config import load_settings
from bot.venues import watcher_capacity
from tests.bus.support import private_redis
from tests.cluster.support import Cluster, holds
from tests.e2e.support import World

POSTGRESQL = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def test_a_watchers_capacity_is_its_websocket_users_then_what_its_weight_polls(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    cap = HYPERLIQUID_CAPABILITIES.max_ws_users

    def capacity(ws: int, weight: int, staleness: float) -> int | None:
        return watcher_capacity(settings, ws_users=ws, weight_per_min=weight, staleness_s=staleness)

    assert capacity(3, 1200, 0) == 3  # websocket only
    # (1,200 − the poller's reserve of 50) weight a minute, 4 a poll: 143 sources every 30 s
    assert polled_sources(30, 1200) == (1200 - 50) * 30 // 60 // 4
    assert capacity(10, 1200, 30) == 10 + polled_sources(30, 1200)
    assert capacity(10_000, 1200, 30) == cap + polled_sources(30, 1200)  # one IP streams at most 10
    assert capacity(10, 2400, 60) == 10 + polled_sources(60, 2400)
    assert polled_sources(60, 2400) > polled_sources(60, 1200) > polled_sources(30, 1200)
    node = tmp_path / "node"
    node.mkdir()
    firehose = load_settings(data_dir=tmp_path, hl_node_data=node)
    assert watcher_capacity(firehose, ws_users=1, weight_per_min=1, staleness_s=0) is None  # any number


@POSTGRESQL
async def test_sources_beyond_the_websocket_users_are_polled_and_copied(world: World, tmp_path: Path) -> None:
    await world.set_mids(ETH="3000")
    leaders = [await world.leader("100000") for _ in range(3)]
    followers: list[tuple[int, str]] = []
    for n, count in enumerate((3, 2, 1)):  # leader 0 the most followed: it gets the websocket
        for _ in range(count):
            follower = await world.master_follower("1000")
            await world.follow(follower, leaders[n].address)
            followers.append((n, follower))

    with private_redis(tmp_path / "redis") as redis:
        cluster = Cluster(world, redis.url)
        try:
            # One websocket user; 1,200 weight a minute polls 4 more sources every second.
            watch = ("--ws-users", "1", "--weight-per-min", "1200", "--poll-staleness", "1")
            await (await cluster.launch("watch", "w1", *watch)).started("watcher_started")
            await (await cluster.launch("copy", "c1")).started("runner_started")
            status = await cluster.until(
                lambda s: holds(s, "watcher") == {"w1": 3} and holds(s, "worker") == {"c1": 6},
                "w1 holding all three sources, c1 all six followers",
            )
            assert not any(status.unowned.values())
            for n, size in ((2, "10"), (0, "20"), (1, "-10")):  # a polled source first
                await world.leader_to(leaders[n], "ETH", size)
            for n, follower in followers:
                target = str(Decimal({0: "20", 1: "-10", 2: "10"}[n]) / 100)
                await world.follower_at(follower, "ETH", target, what=f"a follower of leader {n}")
            codes = await cluster.stop_all()
        finally:
            for role in cluster.roles:
                if role.process.returncode is None:
                    role.process.kill()
    assert set(codes.values()) == {0}


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--poll-staleness", "-1"], "--poll-staleness"),
        (["--poll-staleness", "3601"], "--poll-staleness"),
        (["--poll-staleness", "soon"], "--poll-staleness"),
        (["--ws-users", "0"], "--ws-users"),
    ],
)
def test_a_bad_watch_budget_is_refused_naming_the_flag(args: list[str], named: str) -> None:
    """Refused by the command line before anything starts (no ledger, no bus is opened)."""
    result = CliRunner().invoke(app, ["watch", *args])
    assert result.exit_code == 2
    assert named in result.output
