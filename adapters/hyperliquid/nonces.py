"""Nonces for one signer: strictly increasing millisecond timestamps, never reused across restarts.

The venue keeps each signer's highest 100 nonces and refuses a nonce it has seen, one below the smallest
of those, or one outside (now − 2 days, now + 1 day). So a nonce is `max(clock, last + 1)`: the clock
when it moved on, one more than the last when two requests land in the same millisecond (or the clock
stepped back).

Restarts: a high-water mark — no nonce handed out is above it — is persisted *before* any nonce above
it is handed out, and a new manager starts above it. Writing (and fsyncing) for every nonce would cap
signing at disk speed, so the mark is leased ahead — `lease_ms` past the nonce that crossed it — and
rewritten about once per lease. The cost: after a restart the first nonces may run up to `lease_ms`
ahead of the clock, well inside the venue's one-day window.

One lease (`NonceLease`, one mark) covers every signer of a process: nonces are clock readings, so a
mark above one signer's nonce is above every signer's nonce taken at that moment. A fan-out to N
followers after a quiet minute, or the first after start-up, then pays one save (2 fsyncs), not N.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final, Protocol

if sys.platform != "win32":
    import fcntl

__all__ = [
    "DEFAULT_LEASE_MS",
    "MAX_AHEAD_MS",
    "SHARED_MARK_FILE",
    "FileNonceStore",
    "NonceLease",
    "NonceManager",
    "NonceStore",
    "NonceStoreError",
    "wall_clock_ms",
]

DEFAULT_LEASE_MS: Final = 60_000
# The venue refuses nonces more than one day ahead of its clock; refuse to start that far ahead.
MAX_AHEAD_MS: Final = 24 * 3600 * 1000
# The one mark of every signer of a nonce directory (a signer's own file is `<address>.nonce`).
SHARED_MARK_FILE: Final = "all-signers.nonce"


def wall_clock_ms() -> int:
    """UTC milliseconds since the epoch, as the SDK's `get_timestamp_ms`."""
    return time.time_ns() // 1_000_000


class NonceStoreError(RuntimeError):
    """The persisted high-water mark cannot be read, written or trusted."""


class NonceStore(Protocol):
    """Where a manager keeps its high-water mark: no nonce handed out is above the saved mark."""

    def load(self) -> int | None:
        """The saved mark, or None if nothing was ever saved."""
        ...

    def save(self, mark: int) -> None:
        """Durably record `mark` before returning."""
        ...


class FileNonceStore:
    """A small text file holding the mark, replaced atomically (temp file, fsync, rename, fsync dir).

    A save never lowers the mark: under a lock on the directory it reads the file and keeps the larger.
    Two processes sharing the file (the bot and e.g. `approve-agent`, each with its own signers) then
    never undo each other's lease."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_signer(cls, directory: Path, address: str) -> FileNonceStore:
        """One file per signer address (case-insensitive), e.g. `<data_dir>/nonces/0xabc….nonce`."""
        return cls(directory / f"{address.lower()}.nonce")

    def __repr__(self) -> str:
        return f"FileNonceStore({str(self.path)!r})"

    def load(self) -> int | None:
        try:
            text = self.path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise NonceStoreError(f"cannot read nonce mark {self.path}: {exc}") from exc
        if not text.isdigit():
            raise NonceStoreError(
                f"nonce mark file {self.path} does not hold a non-negative integer; it is only ever "
                "written atomically, so it was edited by hand: restore it or delete it if the system "
                "clock is correct"
            )
        return int(text)

    def save(self, mark: int) -> None:
        directory = self.path.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
            with _locked(directory) as directory_fd:
                saved = self.load()
                if saved is not None and saved >= mark:
                    return  # another process's lease already covers it
                self._replace(mark)
                if directory_fd is not None:
                    os.fsync(directory_fd)  # make the rename itself durable
        except OSError as exc:
            raise NonceStoreError(f"cannot write nonce mark {self.path}: {exc}") from exc

    def _replace(self, mark: int) -> None:
        temp: str | None = None
        try:
            fd, temp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(f"{mark}\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path)
        except OSError:
            if temp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
            raise


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[int | None]:
    """The directory open and exclusively locked, released on exit. None where a directory cannot be
    opened (Windows): the rename is still atomic there, but nothing orders two processes' saves."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        yield None
        return
    try:
        if sys.platform != "win32":
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)  # releases the lock


def _trusted(mark: int | None, clock: Callable[[], int]) -> int:
    """A loaded mark as a floor (-1: none), refused if the venue would refuse every nonce above it."""
    if mark is not None and mark - (now := clock()) > MAX_AHEAD_MS:
        raise NonceStoreError(
            f"the saved nonce mark {mark} is more than a day ahead of the clock ({now} ms): the venue "
            "would refuse every nonce; check the system clock"
        )
    return -1 if mark is None else mark


class NonceLease:
    """The persisted high-water mark of one or many signers: no nonce any of them handed out is above
    it. Thread-safe. `store=None` keeps nothing across restarts (tests, the localnet, throwaway keys)."""

    def __init__(
        self,
        store: NonceStore | None = None,
        *,
        clock: Callable[[], int] = wall_clock_ms,
        lease_ms: int = DEFAULT_LEASE_MS,
    ) -> None:
        if lease_ms < 1:
            raise ValueError(f"lease_ms must be at least 1, got {lease_ms}")
        self._store = store
        self._lease_ms = lease_ms
        self._lock = threading.Lock()
        # Every nonce of the previous runs is at or below it; this run's signers start above it.
        self.floor: Final = _trusted(store.load() if store is not None else None, clock)
        self._mark = self.floor

    def cover(self, nonce: int) -> None:
        """Return once `nonce` is at or below the saved mark; saves (leased ahead) only if it is not."""
        if self._store is None:
            return
        with self._lock:
            if nonce > self._mark:
                mark = nonce + self._lease_ms
                self._store.save(mark)
                self._mark = mark


class NonceManager:
    """Hands out nonces for one signer; safe to share between threads and asyncio tasks.

    `next()` never awaits, so within one event loop it is atomic; a lock makes it so across threads.
    Its mark: its own `store`'s (`store=None`: nothing kept across restarts: tests, the localnet,
    throwaway keys), or a `lease` shared with other signers; `floor` is a mark this signer's nonces were
    once kept under (its own file, from before the shared lease): it starts above it too.
    """

    def __init__(
        self,
        store: NonceStore | None = None,
        *,
        clock: Callable[[], int] = wall_clock_ms,
        lease_ms: int = DEFAULT_LEASE_MS,
        lease: NonceLease | None = None,
        floor: int | None = None,
    ) -> None:
        if lease is not None and store is not None:
            raise ValueError("give a store or a lease, not both")
        self._lease = lease or NonceLease(store, clock=clock, lease_ms=lease_ms)
        self._clock = clock
        self._lock = threading.Lock()
        self._last = max(self._lease.floor, _trusted(floor, clock))  # the next nonce is above both

    @property
    def last(self) -> int | None:
        """The last nonce handed out (or the floor inherited from the store), None if none yet."""
        return None if self._last < 0 else self._last

    def next(self) -> int:
        """A nonce larger than every nonce this signer used before, here or in an earlier run."""
        with self._lock:
            nonce = max(self._clock(), self._last + 1)
            self._lease.cover(nonce)  # before handing out: a crash after this cannot reuse `nonce`
            self._last = nonce
            return nonce
