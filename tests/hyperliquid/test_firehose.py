"""The node firehose reader: the tail of the hourly `node_fills_by_block` files (rotation, partial
lines, restarts, hostile lines) and the filter that turns blocks into the watched sources' fills."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.hyperliquid.firehose import (
    FILLS_DIR,
    BlockTailer,
    Firehose,
    FirehoseFilter,
    FirehosePosition,
    hour_key,
)
from bot.domain import Side

LEADER = "0x" + "ab" * 20
OTHER = "0x" + "cd" * 20


def fill(
    tid: int, *, coin: str = "ETH", px: Any = "3000.5", sz: str = "0.1", side: str = "B"
) -> dict[str, Any]:
    return {
        "coin": coin,
        "px": px,
        "sz": sz,
        "side": side,
        "time": 1_780_000_000_000 + tid,
        "startPosition": "0.0",
        "dir": "Open Long",
        "closedPnl": "0.0",
        "hash": "0x" + "00" * 32,
        "oid": 1000 + tid,
        "crossed": True,
        "fee": "0.01",
        "tid": tid,
        "feeToken": "USDC",
    }


def block(number: int, *events: tuple[str, dict[str, Any]]) -> bytes:
    body = {
        "local_time": "2026-12-07T13:00:00.000000",
        "block_time": "2026-12-07T13:00:00.000000",
        "block_number": number,
        "events": [[user, f] for user, f in events],
    }
    return json.dumps(body).encode() + b"\n"


def hour_path(root: Path, hour: str) -> Path:
    path = root / FILLS_DIR / hour
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as handle:
        handle.write(data)


def test_a_partial_last_line_waits_for_its_newline(tmp_path: Path) -> None:
    path = hour_path(tmp_path, "20261207/13")
    line = block(1, (LEADER, fill(1)))
    append(path, line[:25])
    tailer = BlockTailer(tmp_path)
    assert tailer.read() == []
    append(path, line[25:-1])
    assert tailer.read() == []  # still no newline: the node is writing it
    append(path, b"\n")
    assert tailer.read() == [line.rstrip(b"\n")]
    assert tailer.read() == []
    assert tailer.refused == 0


def test_rotation_reads_the_old_hour_to_its_end_before_the_new_one(tmp_path: Path) -> None:
    """The node appends its last block of 13h, then opens 14h: a reader that saw the old file's end
    earlier must still get that last block, and before the new hour's."""
    old = hour_path(tmp_path, "20261207/13")
    append(old, block(1))
    tailer = BlockTailer(tmp_path)
    assert len(tailer.read()) == 1
    append(old, block(2))  # written after the reader's last look...
    append(hour_path(tmp_path, "20261207/14"), block(3))  # ...then the next hour begins
    assert [json.loads(x)["block_number"] for x in tailer.read()] == [2, 3]
    assert tailer.position == FirehosePosition("20261207/14", len(block(3)))


def test_rotation_across_days_and_missing_hours(tmp_path: Path) -> None:
    append(hour_path(tmp_path, "20261207/9"), block(1))
    tailer = BlockTailer(tmp_path)
    assert len(tailer.read()) == 1
    append(hour_path(tmp_path, "20261207/10"), block(2))  # 10 sorts after 9 (numbers, not text)
    append(hour_path(tmp_path, "20261208/0"), block(3))  # the node was down from 11h to midnight
    assert [json.loads(x)["block_number"] for x in tailer.read()] == [2, 3]


def test_a_line_left_unfinished_at_a_rotation_is_refused_alone(tmp_path: Path) -> None:
    old = hour_path(tmp_path, "20261207/13")
    append(old, block(1) + block(2)[:10])  # the node died mid-line, then restarted in the next hour
    tailer = BlockTailer(tmp_path)
    assert len(tailer.read()) == 1
    append(hour_path(tmp_path, "20261207/14"), block(3))
    assert [json.loads(x)["block_number"] for x in tailer.read()] == [3]
    assert tailer.refused == 1


def test_an_overlong_line_is_skipped_without_holding_it(tmp_path: Path) -> None:
    path = hour_path(tmp_path, "20261207/13")
    tailer = BlockTailer(tmp_path, max_line_bytes=200)
    append(path, b"x" * 150)
    assert tailer.read() == []  # could still be a block
    append(path, b"y" * 500)  # now longer than any block: skipped from here...
    assert tailer.read() == [] and tailer.refused == 1
    append(path, b"z" * 300 + b"\n" + block(2))  # ...up to its newline, however far that is
    assert [json.loads(x)["block_number"] for x in tailer.read()] == [2]
    assert tailer.refused == 1


def test_no_files_yet_then_the_first_hour_appears(tmp_path: Path) -> None:
    tailer = BlockTailer(tmp_path)
    assert tailer.read() == [] and tailer.position is None
    append(hour_path(tmp_path, "20261207/13"), block(1))
    assert len(tailer.read()) == 1


def test_a_restart_from_the_saved_position_reads_each_line_once(tmp_path: Path) -> None:
    path = hour_path(tmp_path, "20261207/13")
    saved = tmp_path / "position.json"
    append(path, block(1) + block(2))
    first = BlockTailer(tmp_path)
    assert len(first.read()) == 2
    assert first.position is not None
    first.position.save(saved)
    append(path, block(3))
    append(hour_path(tmp_path, "20261207/14"), block(4))
    second = BlockTailer(tmp_path, position=FirehosePosition.load(saved))
    assert [json.loads(x)["block_number"] for x in second.read()] == [3, 4]


def test_a_hostile_position_file_is_ignored(tmp_path: Path) -> None:
    saved = tmp_path / "position.json"
    for text in [
        "",
        "[]",
        '{"hour": "../../etc/passwd", "offset": 0}',
        '{"hour": "20261207/13", "offset": -1}',
        '{"hour": "20261207/13", "offset": true}',
        "{" * 10_000,
    ]:
        saved.write_text(text)
        assert FirehosePosition.load(saved) is None
    assert FirehosePosition.load(tmp_path / "missing.json") is None
    assert (
        hour_key("20261207/24") is None
        and hour_key("2026127/1") is None
        and hour_key("20261207/07")
        == (
            20261207,
            7,
        )
    )


@settings(max_examples=60, deadline=None)
@given(
    blocks=st.integers(min_value=1, max_value=12),
    cuts=st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=30),
    hours=st.lists(st.integers(min_value=0, max_value=11), max_size=3),
    restarts=st.lists(st.booleans(), min_size=30, max_size=30),
    batch=st.integers(min_value=1, max_value=2_000),
)
def test_any_write_split_rotation_and_restart_reads_every_block_once_in_order(
    tmp_path_factory: Any, blocks: int, cuts: list[int], hours: list[int], restarts: list[bool], batch: int
) -> None:
    """The node's bytes arrive in arbitrary pieces (lines cut anywhere), some blocks open a new hour,
    the reader reads between any two pieces (at most `batch` bytes of lines per read) and sometimes
    restarts from its saved position: the blocks read are exactly the blocks written, in order."""
    root = tmp_path_factory.mktemp("node")
    saved = root / "position.json"
    rotate_at = {h for h in hours}
    tailer = BlockTailer(root, max_batch_bytes=batch)
    read: list[int] = []
    hour = 0
    pending = b""
    for number in range(1, blocks + 1):
        if number in rotate_at and pending == b"":
            hour += 1  # the node finished the previous hour: nothing of it is still unwritten
        pending += block(number)
        path = hour_path(root, f"20261207/{hour}")
        for i, cut in enumerate(cuts):
            piece, pending = pending[:cut], pending[cut:]
            append(path, piece)
            if restarts[i % len(restarts)] and tailer.position is not None:
                tailer.position.save(saved)
                tailer = BlockTailer(root, position=FirehosePosition.load(saved), max_batch_bytes=batch)
            read += [json.loads(x)["block_number"] for x in tailer.read()]
            if not pending:
                break
        append(path, pending)
        pending = b""
    while more := tailer.read():
        read += [json.loads(x)["block_number"] for x in more]
    assert read == list(range(1, blocks + 1))
    assert tailer.refused == 0


def test_the_filter_keeps_only_watched_users_in_their_spelling(tmp_path: Path) -> None:
    watched = FirehoseFilter([LEADER.upper().replace("0X", "0x")])
    line = block(7, (OTHER, fill(1)), (LEADER, fill(2, side="A", sz="0.25")), (LEADER, fill(3)))
    fills = watched.fills(line.rstrip(b"\n"))
    assert [(f.tid, f.side, f.sz, f.source) for f in fills] == [
        (2, Side.SELL, Decimal("0.25"), LEADER.upper().replace("0X", "0x")),
        (3, Side.BUY, Decimal("0.1"), LEADER.upper().replace("0X", "0x")),
    ]
    assert fills[0].px == Decimal("3000.5")  # exact: numbers are strings in the node's format
    assert watched.stats.blocks == 1 and watched.stats.events == 3 and watched.stats.delivered == 2


def test_hostile_lines_are_refused_by_line_and_bad_fills_alone() -> None:
    watched = FirehoseFilter([LEADER])
    for line in [b"not json", b"[]", b'{"events": 3}', b"{}", b"[" * 100_000, b"\xff\xfe"]:
        assert watched.fills(line) == []
    assert watched.stats.refused_lines == 6 and watched.stats.blocks == 0
    events = [
        [LEADER, fill(1, px=3000.5)],  # a float: not exact, refused
        [LEADER, {"coin": "ETH"}],  # missing fields
        "not-a-pair",
        [OTHER, "unread: not watched"],
        [LEADER, fill(4)],
    ]
    mixed = json.dumps({"block_number": 1, "events": events}).encode()
    assert [f.tid for f in watched.fills(mixed)] == [4]
    assert watched.stats.refused_fills == 3


async def test_the_firehose_saves_its_position_after_handing_fills_on(tmp_path: Path) -> None:
    path = hour_path(tmp_path, "20261207/13")
    saved = tmp_path / "data" / "position.json"  # its directory does not exist yet
    append(path, block(1, (LEADER, fill(1))) + block(2, (OTHER, fill(2))) + block(3, (LEADER, fill(3))))
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        raise _Stop

    hose = Firehose(tmp_path, [LEADER], position_file=saved, sleep=sleep)
    got = []
    try:
        async for f in hose.fills():
            got.append(f.tid)
    except _Stop:
        pass
    assert got == [1, 3] and sleeps
    assert FirehosePosition.load(saved) == FirehosePosition("20261207/13", path.stat().st_size)
    # A new process starts where the last one stopped: nothing again.
    append(path, block(4, (LEADER, fill(4))))
    again = Firehose(tmp_path, [LEADER], position_file=saved, sleep=sleep)
    got = []
    try:
        async for f in again.fills():
            got.append(f.tid)
    except _Stop:
        pass
    assert got == [4]


class _Stop(Exception):
    pass


def test_a_block_written_between_the_read_and_the_look_for_the_next_hour_is_not_lost(tmp_path: Path) -> None:
    """The race the rotation rule exists for: the reader reaches the end of 13h; before it lists the
    directory, the node appends 13h's last block and opens 14h. The reader sees 14h, so it must read
    13h to its end again before leaving it."""
    old = hour_path(tmp_path, "20261207/13")
    append(old, block(1))
    tailer = BlockTailer(tmp_path)
    assert len(tailer.read()) == 1
    look = tailer._next_hour

    def node_writes_meanwhile() -> str | None:
        if not (tmp_path / FILLS_DIR / "20261207/14").exists():
            append(old, block(2))
            append(hour_path(tmp_path, "20261207/14"), block(3))
        return look()

    tailer._next_hour = node_writes_meanwhile  # type: ignore[method-assign]
    assert [json.loads(x)["block_number"] for x in tailer.read()] == [2, 3]


def test_a_file_shorter_than_the_saved_offset_is_read_from_its_start(tmp_path: Path) -> None:
    path = hour_path(tmp_path, "20261207/13")
    append(path, block(1))
    tailer = BlockTailer(tmp_path, position=FirehosePosition("20261207/13", 10_000))
    assert [json.loads(x)["block_number"] for x in tailer.read()] == [1]


async def test_a_hostile_line_in_the_files_does_not_stop_the_watch(tmp_path: Path) -> None:
    path = hour_path(tmp_path, "20261207/13")
    append(
        path,
        block(1, (LEADER, fill(1))) + b"{not json\n" + b"[" * 50_000 + b"\n" + block(2, (LEADER, fill(2))),
    )

    async def sleep(seconds: float) -> None:
        raise _Stop

    hose = Firehose(tmp_path, [LEADER], sleep=sleep)
    got = []
    try:
        async for f in hose.fills():
            got.append(f.tid)
    except _Stop:
        pass
    assert got == [1, 2] and hose.filter.stats.refused_lines == 2


def test_a_read_hands_on_about_max_batch_bytes_of_lines(tmp_path: Path) -> None:
    path = hour_path(tmp_path, "20261207/13")
    append(path, b"".join(block(n) for n in range(1, 11)))
    append(hour_path(tmp_path, "20261207/14"), block(11))
    start = FirehosePosition("20261207/13", 0)
    tailer = BlockTailer(tmp_path, position=start, max_batch_bytes=3 * len(block(1)))
    batches = []
    while more := tailer.read():
        batches.append([json.loads(x)["block_number"] for x in more])
    assert batches == [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11]]


def test_the_watched_set_can_change_between_blocks() -> None:
    watched = FirehoseFilter([LEADER])
    line = block(1, (LEADER, fill(1)), (OTHER, fill(2))).rstrip(b"\n")
    assert [f.tid for f in watched.fills(line)] == [1]
    watched.watch([OTHER])
    assert [(f.tid, f.source) for f in watched.fills(line)] == [(2, OTHER)]


async def test_a_position_that_cannot_be_saved_does_not_stop_the_watch(tmp_path: Path) -> None:
    append(hour_path(tmp_path, "20261207/13"), block(1, (LEADER, fill(1))) + block(2, (LEADER, fill(2))))
    (tmp_path / "a-file").write_text("")

    async def sleep(seconds: float) -> None:
        raise _Stop

    hose = Firehose(tmp_path, [LEADER], position_file=tmp_path / "a-file" / "position.json", sleep=sleep)
    got = []
    try:
        async for f in hose.fills():
            got.append(f.tid)
    except _Stop:
        pass
    assert got == [1, 2]


def test_an_overlong_line_cut_off_by_a_rotation_is_counted_once(tmp_path: Path) -> None:
    tailer = BlockTailer(tmp_path, max_line_bytes=200)  # a block here is ~130 bytes
    append(hour_path(tmp_path, "20261207/13"), b"x" * 500)
    assert tailer.read() == [] and tailer.refused == 1
    append(hour_path(tmp_path, "20261207/14"), block(1))
    assert [json.loads(x)["block_number"] for x in tailer.read()] == [1]
    assert tailer.refused == 1
