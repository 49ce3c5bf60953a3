"""The localnet as a node: every fill of every user written to `node_fills_by_block` hourly files, one
block line per request, read back by the firehose reader exactly as the venue's `userFills` has them."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from adapters.hyperliquid.firehose import BlockTailer, FirehoseFilter, FirehosePosition
from adapters.hyperliquid.parsing import parse_user_fills
from adapters.localnet.nodefiles import NODE_FILLS_DIR, NodeFillsWriter, hour_file
from tests.localnet.core_helpers import ALICE, BOB, START_MS, Net

RICH = Decimal(100_000_000)
HOUR_MS = 3_600_000


def test_hour_files_are_named_by_utc_date_and_unpadded_hour() -> None:
    assert hour_file(START_MS) == "20231114/22"  # 1_700_000_000_000 ms = 2023-11-14 22:13:20 UTC
    assert hour_file(START_MS + 2 * HOUR_MS) == "20231115/0"


def test_every_users_fills_are_written_per_request_and_rotate_by_the_hour(tmp_path: Path) -> None:
    net = Net()
    net.ex.fund(ALICE, RICH)
    net.ex.fund(BOB, RICH)
    writer = NodeFillsWriter(tmp_path)
    net.ex.add_block_listener(writer.write_block)
    bid = net.book("ETH")[0][0]
    net.order(ALICE, "ETH", False, 2, float(Decimal(bid["px"]) + Decimal("0.1")), "Gtc")  # rests: no block
    net.order(BOB, "ETH", True, 1, 3100, "Ioc")  # takes ALICE's ask: one block, both users
    net.clock.now += 2 * HOUR_MS  # past midnight UTC: a new day's file
    net.order(BOB, "ETH", True, 1, 3100, "Ioc")
    writer.close()

    files = sorted((tmp_path / NODE_FILLS_DIR).glob("*/*"))
    names = [f.relative_to(tmp_path / NODE_FILLS_DIR).as_posix() for f in files]
    assert names == ["20231114/22", "20231115/0"]
    lines = [json.loads(x) for f in files for x in f.read_bytes().splitlines()]
    assert [line["block_number"] for line in lines] == [1, 2]
    first = lines[0]
    assert first["block_time"] == "2023-11-14T22:13:20.000000" and set(first) == {
        "local_time",
        "block_time",
        "block_number",
        "events",
    }
    assert sorted(user for user, _ in first["events"]) == sorted([ALICE, BOB])
    # Each fill is the venue's own userFills entry for that user.
    for user in (ALICE, BOB):
        written = [f for line in lines for u, f in line["events"] if u == user]
        assert written == sorted(net.info({"type": "userFills", "user": user}), key=lambda f: f["tid"])
    # And the firehose reader turns them into the fills the API gives, and the same `SourceFill`s.
    tail = BlockTailer(tmp_path, position=FirehosePosition("20231114/22", 0))
    watched = FirehoseFilter([BOB])
    from_files = [f for x in tail.read() for f in watched.fills(x)]
    api = sorted(parse_user_fills(net.info({"type": "userFills", "user": BOB})), key=lambda f: f.time_ms)
    assert [replace(f, source="") for f in from_files] == api and len(api) == 2
