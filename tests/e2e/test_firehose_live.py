"""The node firehose, live: the localnet writes every fill as a node's `node_fills_by_block` files
while a leader trades, and the real runner, watching through those files (MIRROR_HL_NODE_DATA's
path), copies the leader into a follower — with no websocket subscription for the leader."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.localnet.nodefiles import NODE_FILLS_DIR
from adapters.localnet.server import LocalnetThread
from bot.config import load_settings
from bot.domain import AccountState, SourceFill
from bot.venues import build_hyperliquid_venue
from tests.e2e.support import World


@pytest.fixture
def node_data(tmp_path: Path) -> Path:
    path = tmp_path / "node"
    path.mkdir()
    return path


@pytest.fixture
def localnet(node_data: Path) -> Iterator[LocalnetThread]:
    with LocalnetThread(seed=3, node_data=node_data) as net:
        yield net


def _fill_subscribers(world: World, user: str) -> int:
    hub = world.net.net.hub
    return world.net.call(lambda: len(hub._subscribers.get(("userFills", user.lower()), set())))


async def test_the_runner_copies_a_leader_seen_only_through_the_node_files(
    world: World, node_data: Path
) -> None:
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    follower = await world.master_follower("5000")
    await world.follow(follower, leader.address)
    runner = await world.start_runner(node_data=node_data)
    venue = runner.venue
    assert venue.node_data == node_data  # type: ignore[attr-defined]

    await world.leader_to(leader, "ETH", "10")  # ρ = 5,000 / 100,000 = 0.05
    await world.follower_at(follower, "ETH", "0.5")
    await world.leader_to(leader, "ETH", "4")
    await world.follower_at(follower, "ETH", "0.2")

    assert venue.sockets == []  # type: ignore[attr-defined]
    assert _fill_subscribers(world, leader.address) == 0
    assert len(venue.firehoses) == 1  # type: ignore[attr-defined]
    # The files hold every user's fills (the follower's too), one block per line.
    lines = [
        json.loads(line)
        for path in sorted((node_data / NODE_FILLS_DIR).glob("*/*"))
        for line in path.read_text().splitlines()
    ]
    users = {user for line in lines for user, _ in line["events"]}
    assert {leader.address.lower(), follower.lower()} <= users
    numbers = [line["block_number"] for line in lines]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)


def test_the_setting_selects_the_firehose(node_data: Path, tmp_path: Path) -> None:
    settings = load_settings(hl_node_data=str(node_data), data_dir=tmp_path / "data")
    venue = build_hyperliquid_venue(settings, trading=False)
    assert venue.node_data == node_data  # type: ignore[attr-defined]
    assert build_hyperliquid_venue(load_settings(data_dir=tmp_path), trading=False).node_data is None  # type: ignore[attr-defined]


async def test_a_block_seen_twice_is_delivered_once_and_events_keep_their_snapshots(
    world: World, node_data: Path
) -> None:
    """The firehose's fills pass the watch's one deduper: a block line the files repeat (a node
    re-writing after a crash, a restored file) is not a second fill. `events` still polls snapshots."""
    await world.set_mids(ETH="3000")
    leader = await world.leader("100000")
    venue = world.venue(node_data=node_data, poll_interval_s=0.2)
    fills: list[SourceFill] = []
    snapshots: list[AccountState] = []
    try:
        async with contextlib.aclosing(venue.events([leader.address])) as events:
            traded = repeated = False
            async for event in events:
                if isinstance(event, AccountState):
                    snapshots.append(event)
                else:
                    fills.append(event)
                if not traded and venue.firehoses and venue.firehoses[0].reads > 0:
                    traded = True
                    await world.leader_trade(leader, "ETH", is_buy=True, size="0.5")
                if fills and not repeated:
                    repeated = True
                    _repeat_last_block(node_data)
                    await world.leader_trade(leader, "ETH", is_buy=True, size="0.25")
                if len(fills) >= 2 and any(s.size("ETH") == Decimal("0.75") for s in snapshots):
                    break
        assert [f.sz for f in fills] == [Decimal("0.5"), Decimal("0.25")]
        assert {f.source for f in fills} == {leader.address}
        assert venue.sockets == [] and venue.firehoses == [] and venue.pollers == []
    finally:
        await venue.close()


def _repeat_last_block(node_data: Path) -> None:
    """Append the newest hour file's last block line to it again."""
    path = max((node_data / NODE_FILLS_DIR).glob("*/*"))
    last = path.read_bytes().splitlines(keepends=True)[-1]
    with open(path, "ab") as handle:
        handle.write(last)
