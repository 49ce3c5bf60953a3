"""The localnet as a node: every fill of every user written as a non-validating node writes them.

`mirrorbot localnet --node-data DIR` (and `Localnet(node_data=DIR)`) appends one JSON line per "block"
— every request (or price step) that filled anything — to `DIR/node_fills_by_block/hourly/YYYYMMDD/H`
(UTC, the hour not zero-padded): `{"local_time", "block_time", "block_number", "events": [[user, fill],
…]}`, each fill exactly as the localnet's `userFills` carries it. So the firehose reader
(adapters/hyperliquid/firehose.py) is tested offline against the same layout; what of the node's format
is assumed rather than confirmed: docs/firehose.md.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final

__all__ = ["NODE_FILLS_DIR", "NodeFillsWriter", "hour_file"]

NODE_FILLS_DIR: Final = Path("node_fills_by_block") / "hourly"


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def hour_file(ms: int) -> str:
    """The hour file of a block at `ms`: `YYYYMMDD/H`."""
    at = _utc(ms)
    return f"{at:%Y%m%d}/{at.hour}"


def _node_time(ms: int) -> str:
    return _utc(ms).replace(tzinfo=None).isoformat(timespec="microseconds")


class NodeFillsWriter:
    """Appends blocks to the hourly files under `root`; a new hour closes the old file first (a reader
    may move on once the next file exists). Whole lines are written and flushed in one call."""

    def __init__(self, root: Path, *, first_block: int = 1) -> None:
        self.root = root
        self.block_number = first_block - 1
        self._hour: str | None = None
        self._file: IO[bytes] | None = None
        self._lock = threading.Lock()  # the localnet's loop writes; a test thread may close

    def write_block(self, events: Sequence[tuple[str, dict[str, Any]]], now_ms: int) -> None:
        if not events:
            return
        with self._lock:
            self.block_number += 1
            hour = hour_file(now_ms)
            if hour != self._hour or self._file is None:
                self._close()
                path = self.root / NODE_FILLS_DIR / hour
                path.parent.mkdir(parents=True, exist_ok=True)
                self._file = open(path, "ab")  # noqa: SIM115 - kept open across blocks, closed by _close
                self._hour = hour
            line = {
                "local_time": _node_time(now_ms),
                "block_time": _node_time(now_ms),
                "block_number": self.block_number,
                "events": [[user, fill] for user, fill in events],
            }
            self._file.write(json.dumps(line, separators=(",", ":"), default=str).encode() + b"\n")
            self._file.flush()

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def close(self) -> None:
        with self._lock:
            self._close()
