"""Nonce manager: strictly increasing, same-millisecond bumping, no reuse across restarts, concurrency."""

from __future__ import annotations

import asyncio
import itertools
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.hyperliquid.nonces import (
    MAX_AHEAD_MS,
    FileNonceStore,
    NonceLease,
    NonceManager,
    NonceStoreError,
)

T0 = 1_700_000_000_000


def scripted_clock(readings: list[int]) -> Callable[[], int]:
    """A clock that returns `readings` in turn (then repeats the last): jumps back, stalls, leaps."""
    it: Iterator[int] = iter(readings)
    last = [readings[0]]

    def clock() -> int:
        last[0] = next(it, last[0])
        return last[0]

    return clock


class RecordingStore:
    """An in-memory `NonceStore` that counts its writes."""

    def __init__(self, mark: int | None = None) -> None:
        self.mark = mark
        self.saves: list[int] = []

    def load(self) -> int | None:
        return self.mark

    def save(self, mark: int) -> None:
        self.mark = mark
        self.saves.append(mark)


clock_steps = st.lists(st.integers(min_value=-5_000, max_value=5_000), min_size=1, max_size=200)


def readings_from(steps: list[int]) -> list[int]:
    readings, now = [], T0
    for step in steps:
        now += step
        readings.append(now)
    return readings


@given(steps=clock_steps)
def test_nonces_strictly_increase_and_never_lag_the_clock(steps: list[int]) -> None:
    readings = readings_from(steps)
    manager = NonceManager(clock=scripted_clock(readings))
    nonces = [manager.next() for _ in readings]
    assert all(a < b for a, b in itertools.pairwise(nonces))
    assert all(nonce >= reading for nonce, reading in zip(nonces, readings, strict=True))
    assert manager.last == nonces[-1]


def test_same_millisecond_requests_are_bumped_by_one() -> None:
    manager = NonceManager(clock=lambda: T0)
    assert [manager.next() for _ in range(4)] == [T0, T0 + 1, T0 + 2, T0 + 3]


def test_the_clock_wins_again_once_it_moves_past_the_bumps() -> None:
    manager = NonceManager(clock=scripted_clock([T0, T0, T0, T0 + 50]))
    assert [manager.next() for _ in range(4)] == [T0, T0 + 1, T0 + 2, T0 + 50]


@settings(max_examples=40)
@given(
    lives=st.lists(clock_steps, min_size=2, max_size=5),
    lease_ms=st.integers(min_value=1, max_value=10_000),
)
def test_no_nonce_is_reused_across_restarts(lives: list[list[int]], lease_ms: int) -> None:
    # Each "life" is a process: a new manager on the same file, whose clock may even restart earlier.
    with tempfile.TemporaryDirectory() as directory:
        store = FileNonceStore(Path(directory) / "signer.nonce")
        issued: list[int] = []
        for steps in lives:
            manager = NonceManager(store, clock=scripted_clock(readings_from(steps)), lease_ms=lease_ms)
            for _ in steps:
                issued.append(manager.next())
                mark = store.load()
                assert mark is not None and mark >= issued[-1]  # persisted before it was handed out
            del manager  # a crash: nothing is flushed on the way out
        assert all(a < b for a, b in itertools.pairwise(issued))


@settings(max_examples=40, deadline=None)
@given(
    lives=st.lists(
        st.lists(st.tuples(st.integers(0, 3), st.integers(-2_000, 2_000)), min_size=1, max_size=60),
        min_size=2,
        max_size=4,
    ),
    lease_ms=st.integers(min_value=1, max_value=5_000),
)
def test_signers_sharing_one_lease_never_reuse_a_nonce_across_restarts(
    lives: list[list[tuple[int, int]]], lease_ms: int
) -> None:
    # Four signers, one mark file; each life a process (its clock may restart earlier) killed at the end.
    with tempfile.TemporaryDirectory() as directory:
        store = FileNonceStore(Path(directory) / "all-signers.nonce")
        issued: dict[int, list[int]] = {signer: [] for signer in range(4)}
        for requests in lives:
            clock = scripted_clock(readings_from([step for _, step in requests]))
            lease = NonceLease(store, clock=clock, lease_ms=lease_ms)
            managers = [NonceManager(lease=lease, clock=clock) for _ in range(4)]
            for signer, _ in requests:
                issued[signer].append(managers[signer].next())
                mark = store.load()
                assert mark is not None and mark >= issued[signer][-1]  # saved before handed out
            del lease, managers  # a crash: nothing is flushed on the way out
        for nonces in issued.values():
            assert all(a < b for a, b in itertools.pairwise(nonces))


def test_one_save_covers_every_signer_of_a_fan_out() -> None:
    store = RecordingStore()
    now = [T0]
    lease = NonceLease(store, clock=lambda: now[0], lease_ms=60_000)
    managers = [NonceManager(lease=lease, clock=lambda: now[0]) for _ in range(1_000)]
    assert [m.next() for m in managers] == [T0] * 1_000
    assert store.saves == [T0 + 60_000]
    now[0] += 61_000  # a quiet minute: the lease lapsed
    assert [m.next() for m in managers] == [T0 + 61_000] * 1_000
    assert store.saves == [T0 + 60_000, T0 + 121_000]


def test_a_signers_own_older_mark_is_a_floor_too(tmp_path: Path) -> None:
    # Upgrading from one mark file per signer: its file may be above the (new, empty) shared mark.
    own = FileNonceStore.for_signer(tmp_path, "0xA")
    own.save(T0 + 5_000)
    lease = NonceLease(FileNonceStore(tmp_path / "all-signers.nonce"), clock=lambda: T0)
    manager = NonceManager(lease=lease, clock=lambda: T0, floor=own.load())
    assert manager.next() == T0 + 5_001
    assert NonceManager(lease=lease, clock=lambda: T0).next() == T0  # another signer: no such floor
    with pytest.raises(NonceStoreError, match="more than a day ahead"):
        NonceManager(lease=lease, clock=lambda: T0, floor=T0 + MAX_AHEAD_MS + 1)
    with pytest.raises(ValueError, match="a store or a lease"):
        NonceManager(own, lease=lease)


def test_a_save_never_lowers_the_mark_another_process_saved(tmp_path: Path) -> None:
    # Two processes (the bot, `approve-agent`) with their own signers and one file: a lower save is a no-op.
    mine, theirs = FileNonceStore(tmp_path / "m.nonce"), FileNonceStore(tmp_path / "m.nonce")
    theirs.save(T0 + 60_000)
    mine.save(T0 + 30_000)
    assert mine.load() == T0 + 60_000
    mine.save(T0 + 90_000)
    assert theirs.load() == T0 + 90_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.nonce"]


def test_concurrent_saves_keep_the_largest_mark(tmp_path: Path) -> None:
    # Read-compare-replace under the directory lock: interleaved savers never leave a smaller mark.
    marks = [[T0 + 3 * i + k for i in range(60)] for k in range(3)]
    start = threading.Barrier(len(marks))

    def save_all(values: list[int]) -> None:
        store = FileNonceStore(tmp_path / "m.nonce")
        start.wait()
        for value in values:
            store.save(value)

    threads = [threading.Thread(target=save_all, args=(values,)) for values in marks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert FileNonceStore(tmp_path / "m.nonce").load() == max(map(max, marks))


def test_restart_starts_above_the_mark_and_above_the_clock(tmp_path: Path) -> None:
    store = FileNonceStore.for_signer(tmp_path / "nonces", "0xABCdef0000000000000000000000000000000001")
    assert store.path == tmp_path / "nonces" / "0xabcdef0000000000000000000000000000000001.nonce"
    first = NonceManager(store, clock=lambda: T0, lease_ms=1_000)
    assert first.next() == T0
    assert store.load() == T0 + 1_000
    # Restart with a clock that went backwards: start above the mark.
    assert NonceManager(store, clock=lambda: T0 - 10_000).next() == T0 + 1_001
    # Restart long after: the clock is above the mark, so the clock it is.
    assert NonceManager(store, clock=lambda: T0 + 3_600_000).next() == T0 + 3_600_000


def test_the_mark_is_leased_ahead_so_disk_writes_are_rare() -> None:
    store = RecordingStore()
    readings = [T0 + i for i in range(5_000)]  # 5,000 requests over 5 s
    manager = NonceManager(store, clock=scripted_clock(readings), lease_ms=1_000)
    for _ in readings:
        manager.next()
    assert 1 <= len(store.saves) <= 6
    last = manager.last
    assert store.mark is not None and last is not None and store.mark >= last


def test_a_failed_save_hands_out_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "nonces"
    store = FileNonceStore(directory / "signer.nonce")
    store.save(T0)
    manager = NonceManager(store, clock=lambda: T0 + 5)
    # The directory vanishes and a file takes its place: the mark can no longer be written.
    (directory / "signer.nonce").unlink()
    directory.rmdir()
    directory.write_text("x")
    with pytest.raises(NonceStoreError, match="cannot write nonce mark"):
        manager.next()
    assert manager.last == T0  # still only the inherited floor: nothing was handed out


def test_atomic_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = FileNonceStore(tmp_path / "signer.nonce")
    manager = NonceManager(store, clock=scripted_clock([T0, T0 + 10, T0 + 20]), lease_ms=5)
    for _ in range(3):
        manager.next()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["signer.nonce"]
    assert (tmp_path / "signer.nonce").read_text() == f"{T0 + 25}\n"


@pytest.mark.parametrize("content", ["", "abc", "-5", "12.5"])
def test_a_tampered_mark_file_stops_start_up_naming_the_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "signer.nonce"
    path.write_text(content)
    with pytest.raises(NonceStoreError, match=r"signer\.nonce"):
        NonceManager(FileNonceStore(path), clock=lambda: T0)


def test_a_mark_more_than_a_day_ahead_is_refused(tmp_path: Path) -> None:
    store = RecordingStore(mark=T0 + MAX_AHEAD_MS + 1)
    with pytest.raises(NonceStoreError, match="more than a day ahead"):
        NonceManager(store, clock=lambda: T0)
    assert NonceManager(RecordingStore(mark=T0 + MAX_AHEAD_MS), clock=lambda: T0).next() == (
        T0 + MAX_AHEAD_MS + 1
    )


def test_bad_lease_is_refused() -> None:
    with pytest.raises(ValueError, match="lease_ms must be at least 1"):
        NonceManager(lease_ms=0)


def test_threads_get_distinct_increasing_nonces(tmp_path: Path) -> None:
    # A stalled clock forces every nonce through the bump path, the one a race would break.
    manager = NonceManager(FileNonceStore(tmp_path / "n"), clock=lambda: T0, lease_ms=100)
    per_thread: list[list[int]] = [[] for _ in range(8)]
    start = threading.Barrier(len(per_thread))

    def work(out: list[int]) -> None:
        start.wait()
        for _ in range(500):
            out.append(manager.next())

    threads = [threading.Thread(target=work, args=(out,)) for out in per_thread]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [n for out in per_thread for n in out]
    assert sorted(every) == list(range(T0, T0 + len(every)))  # distinct and gap-free
    assert all(all(a < b for a, b in itertools.pairwise(out)) for out in per_thread)
    mark = FileNonceStore(tmp_path / "n").load()
    assert mark is not None and mark >= max(every)


async def test_asyncio_tasks_get_distinct_nonces_in_issue_order() -> None:
    manager = NonceManager()  # the real wall clock
    issued: list[int] = []

    async def request() -> int:
        await asyncio.sleep(0)
        nonce = manager.next()
        issued.append(nonce)
        await asyncio.sleep(0)
        return nonce

    results = await asyncio.gather(*(request() for _ in range(500)))
    assert len(set(results)) == len(results)
    assert issued == sorted(issued) and len(set(issued)) == len(issued)
