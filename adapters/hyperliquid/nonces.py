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
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final, Protocol

__all__ = [
    "DEFAULT_LEASE_MS",
    "MAX_AHEAD_MS",
    "FileNonceStore",
    "NonceManager",
    "NonceStore",
    "NonceStoreError",
    "wall_clock_ms",
]

DEFAULT_LEASE_MS: Final = 60_000
# The venue refuses nonces more than one day ahead of its clock; refuse to start that far ahead.
MAX_AHEAD_MS: Final = 24 * 3600 * 1000


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
    """A small text file holding the mark, replaced atomically (temp file, fsync, rename, fsync dir)."""

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
        temp: str | None = None
        try:
            directory.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(f"{mark}\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path)
        except OSError as exc:
            if temp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
            raise NonceStoreError(f"cannot write nonce mark {self.path}: {exc}") from exc
        _fsync_directory(directory)  # make the rename itself durable


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open directories; the rename is still atomic there
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class NonceManager:
    """Hands out nonces for one signer; safe to share between threads and asyncio tasks.

    `next()` never awaits, so within one event loop it is atomic; a lock makes it so across threads.
    `store=None` keeps nothing across restarts (tests, the localnet, throwaway keys).
    """

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
        self._clock = clock
        self._lease_ms = lease_ms
        self._lock = threading.Lock()
        mark = store.load() if store is not None else None
        if mark is not None and mark - (now := clock()) > MAX_AHEAD_MS:
            raise NonceStoreError(
                f"the saved nonce mark {mark} is more than a day ahead of the clock ({now} ms): the venue "
                "would refuse every nonce; check the system clock"
            )
        self._last = -1 if mark is None else mark  # the next nonce is above the mark
        self._mark = -1 if mark is None else mark

    @property
    def last(self) -> int | None:
        """The last nonce handed out (or the floor inherited from the store), None if none yet."""
        return None if self._last < 0 else self._last

    def next(self) -> int:
        """A nonce larger than every nonce this signer used before, here or in an earlier run."""
        with self._lock:
            nonce = max(self._clock(), self._last + 1)
            if self._store is not None and nonce > self._mark:
                mark = nonce + self._lease_ms
                self._store.save(mark)  # before handing out: a crash after this cannot reuse `nonce`
                self._mark = mark
            self._last = nonce
            return nonce
