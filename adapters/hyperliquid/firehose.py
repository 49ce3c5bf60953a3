"""The node firehose: every user's fills, read from a Hyperliquid non-validating node's files.

A node run with fills output batched by block writes one JSON line per block to
`<data>/node_fills_by_block/hourly/<YYYYMMDD>/<H>` (UTC date and hour of the block):
`{"local_time": ..., "block_time": ..., "block_number": N, "events": [[user, fill], ...]}`, each
`fill` in the API's `userFills` shape. What is and is not confirmed about that format:
docs/firehose.md. One reader sees every source at once, with no per-IP websocket or weight limit.

`BlockTailer` follows the hourly files like `tail -F`: it yields only complete lines (a partial last
line waits for its newline), moves to the next hour file only after reading the current one to its
end *after* the next one appeared (the node finishes an hour before starting the next, so nothing
written to the old file is skipped), and its `position` (hour file, byte offset) can be saved and
given back after a restart: every line is read once. A line longer than `max_line_bytes` is skipped
without being held in memory; a line that is not a block is refused alone — the tail goes on.

`FirehoseFilter` turns blocks into `SourceFill`s of the watched addresses (a dict lookup per event,
so thousands of sources cost what one does); `Firehose` is the async loop the venue's watch runs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from adapters.hyperliquid.parsing import ParseError, parse_fill
from bot.domain import SourceFill

__all__ = [
    "FILLS_DIR",
    "MAX_LINE_BYTES",
    "BlockTailer",
    "Firehose",
    "FirehoseFilter",
    "FirehosePosition",
    "hour_key",
]

log = logging.getLogger(__name__)

FILLS_DIR: Final = Path("node_fills_by_block") / "hourly"
# A mainnet block's line is tens of kilobytes at its busiest; anything this long is not a block.
MAX_LINE_BYTES: Final = 64 * 1024 * 1024
# Lines handed on per read: a first start at the beginning of a busy hour file must not load it whole.
MAX_BATCH_BYTES: Final = 16 * 1024 * 1024
POLL_INTERVAL_S: Final = 0.1
_SKIP_CHUNK: Final = 1 << 20


def hour_key(name: str) -> tuple[int, int] | None:
    """`"20261207/9"` (or `"…/09"`) → (20261207, 9); None for anything that is not an hour file."""
    day, _, hour = name.partition("/")
    if len(day) != 8 or not day.isdigit() or not hour.isdigit() or len(hour) > 2 or int(hour) > 23:
        return None
    return int(day), int(hour)


@dataclass(frozen=True, slots=True)
class FirehosePosition:
    """Where the tail stands: an hour file (`YYYYMMDD/H`, relative to the fills directory) and the byte
    offset of the first line not yet read."""

    hour: str
    offset: int

    def to_json(self) -> dict[str, Any]:
        return {"hour": self.hour, "offset": self.offset}

    @classmethod
    def from_json(cls, raw: Any) -> FirehosePosition | None:
        """A saved position, or None when it is not one (a torn or hostile file: start afresh)."""
        if not isinstance(raw, dict):
            return None
        hour, offset = raw.get("hour"), raw.get("offset")
        if not isinstance(hour, str) or hour_key(hour) is None:
            return None
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            return None
        return cls(hour, offset)

    def save(self, path: Path) -> None:
        """Atomically (write, then rename): a crash leaves the old position or the new one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_json()), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> FirehosePosition | None:
        try:
            return cls.from_json(json.loads(path.read_text(encoding="utf-8")[:4096]))
        except (OSError, ValueError):
            return None


class BlockTailer:
    """Complete lines of the hourly fills files, in order, each once (see the module docstring).

    `root` is the node's data directory (the one holding `node_fills_by_block/`). Without a
    `position`, the tail starts at the beginning of the newest hour file present (or of the first one
    to appear). `refused` counts the lines skipped as too long or torn (partial at a rotation).
    """

    def __init__(
        self,
        root: Path,
        *,
        position: FirehosePosition | None = None,
        max_line_bytes: int = MAX_LINE_BYTES,
        max_batch_bytes: int = MAX_BATCH_BYTES,
    ) -> None:
        self.fills_dir = root / FILLS_DIR
        self.position = position
        self.max_line_bytes = max_line_bytes
        self.max_batch_bytes = max_batch_bytes
        self._taken = 0  # bytes of lines taken by the current read
        self.refused = 0
        self._skipping = False  # inside a too-long line: discard up to its newline

    def _hours(self) -> list[tuple[tuple[int, int], str]]:
        found: list[tuple[tuple[int, int], str]] = []
        try:
            days = [d for d in os.listdir(self.fills_dir) if len(d) == 8 and d.isdigit()]
        except OSError:
            return []
        current = hour_key(self.position.hour) if self.position is not None else None
        for day in days:
            if current is not None and int(day) < current[0]:
                continue  # only the current day and later matter: keep the listing short
            try:
                names = os.listdir(self.fills_dir / day)
            except OSError:
                continue
            for name in names:
                key = hour_key(f"{day}/{name}")
                if key is not None:
                    found.append((key, f"{day}/{name}"))
        found.sort()
        return found

    def _next_hour(self) -> str | None:
        """The first hour file after the current one (hours the node did not write are skipped)."""
        hours = self._hours()
        if self.position is None:
            return hours[-1][1] if hours else None
        current = hour_key(self.position.hour)
        later = [name for key, name in hours if current is None or key > current]
        return later[0] if later else None

    def read(self) -> list[bytes]:
        """The complete lines written since the last call (without their newlines), up to about
        `max_batch_bytes` of them: call again while it returns lines."""
        self._taken = 0
        if self.position is None:
            newest = self._next_hour()
            if newest is None:
                return []
            self.position = FirehosePosition(newest, 0)
        lines: list[bytes] = []
        while True:
            self._read_current(lines)
            if self._full():
                return lines
            following = self._next_hour()
            if following is None:
                return lines
            # The next hour exists, so the node finished this one: read what it wrote meanwhile.
            partial = self._read_current(lines)
            if self._full():
                return lines
            if partial:
                self.refused += 1  # a line the node never finished: it will never be a block
                log.warning("firehose: %s ends in an unfinished line; skipped", self.position_text)
            self._skipping = False  # an overlong line cut off by the rotation: counted when found
            self.position = FirehosePosition(following, 0)

    def _full(self) -> bool:
        return self._taken >= self.max_batch_bytes

    @property
    def position_text(self) -> str:
        return "(start)" if self.position is None else f"{self.position.hour}@{self.position.offset}"

    def _read_current(self, lines: list[bytes]) -> bool:
        """Append the current file's complete lines from the offset; True if a partial line is left."""
        assert self.position is not None
        path = self.fills_dir / self.position.hour
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed below; a missing file is "nothing yet"
        except OSError:
            return False
        with handle:
            offset = self.position.offset
            if offset > os.fstat(handle.fileno()).st_size:
                # Shorter than where we stood: not the file we read (replaced, restored from a backup).
                # Read it from its start; the watch's deduper drops what was already delivered.
                log.warning(
                    "firehose: %s is shorter than the saved offset; reading it again", self.position.hour
                )
                offset = 0
            handle.seek(offset)
            partial = False
            while True:
                if self._skipping:
                    chunk = handle.readline(_SKIP_CHUNK)
                    if not chunk:
                        break
                    offset += len(chunk)
                    if chunk.endswith(b"\n"):
                        self._skipping = False
                    continue
                if self._full():
                    break
                line = handle.readline(self.max_line_bytes + 1)
                if not line:
                    break
                if not line.endswith(b"\n"):
                    if len(line) > self.max_line_bytes:
                        offset += len(line)
                        self._skipping = True
                        self.refused += 1
                        log.warning(
                            "firehose: a line longer than %d bytes in %s; skipped",
                            self.max_line_bytes,
                            self.position.hour,
                        )
                        continue
                    partial = True  # the node is writing it: wait for its newline
                    break
                offset += len(line)
                self._taken += len(line)
                lines.append(line.rstrip(b"\r\n"))
            self.position = FirehosePosition(self.position.hour, offset)
            return partial


@dataclass(slots=True)
class FirehoseStats:
    blocks: int = 0
    events: int = 0
    delivered: int = 0
    refused_lines: int = 0
    refused_fills: int = 0


class FirehoseFilter:
    """Blocks → `SourceFill`s of the watched addresses (`source` set to the caller's spelling)."""

    def __init__(self, sources: Iterable[str]) -> None:
        self._by_lower: dict[str, str] = {}
        self.watch(sources)
        self.stats = FirehoseStats()

    def watch(self, sources: Iterable[str]) -> None:
        """Watch `sources` from the next block on (a watcher whose leases changed keeps its tail)."""
        self._by_lower = {s.lower(): s for s in sources}

    def fills(self, line: bytes, where: str = "line") -> list[SourceFill]:
        """The watched fills of one block line; a line that is not a block is refused (logged, counted)
        and yields nothing. Numbers stay strings (`parse_fill` refuses floats), so money is exact."""
        try:
            block = json.loads(line)
            events = block["events"] if isinstance(block, dict) else None
            if not isinstance(events, list):
                raise ValueError("expected an object with an 'events' list")
        except (ValueError, KeyError, RecursionError) as exc:
            self.stats.refused_lines += 1
            log.warning("firehose: %s is not a block (%s); skipped", where, str(exc)[:200])
            return []
        self.stats.blocks += 1
        self.stats.events += len(events)
        by_lower = self._by_lower
        out: list[SourceFill] = []
        for index, event in enumerate(events):
            if not isinstance(event, list) or len(event) != 2 or not isinstance(event[0], str):
                self.stats.refused_fills += 1
                continue
            source = by_lower.get(event[0]) or by_lower.get(event[0].lower())
            if source is None:
                continue
            raw = event[1]
            try:
                if not isinstance(raw, dict):
                    raise ParseError(f"expected an object, got {type(raw).__name__}")
                fill = parse_fill(raw, f"events[{index}]")
            except ParseError as exc:
                self.stats.refused_fills += 1
                log.error("firehose: %s: a fill of %s refused: %s", where, source, exc)
                continue
            out.append(replace(fill, source=source))
        self.stats.delivered += len(out)
        return out


Sleep = Callable[[float], Awaitable[Any]]


class Firehose:
    """Tail a node's fills files and yield the watched sources' fills, forever.

    `position_file` (optional) keeps the tail's position across restarts; it is written after each
    batch's fills were handed on. The fills are not de-duplicated here: the watch passes them through
    its `FillDeduper`, as it does websocket pushes and backfills.
    """

    def __init__(
        self,
        root: Path,
        sources: Iterable[str],
        *,
        position_file: Path | None = None,
        poll_interval_s: float = POLL_INTERVAL_S,
        max_line_bytes: int = MAX_LINE_BYTES,
        max_batch_bytes: int = MAX_BATCH_BYTES,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.root = root
        self.position_file = position_file
        start = FirehosePosition.load(position_file) if position_file is not None else None
        self.tailer = BlockTailer(
            root, position=start, max_line_bytes=max_line_bytes, max_batch_bytes=max_batch_bytes
        )
        self.filter = FirehoseFilter(sources)
        self._poll_interval_s = poll_interval_s
        self._sleep = sleep
        self.reads = 0  # tail passes (tests wait on it)

    async def fills(self) -> AsyncIterator[SourceFill]:
        while True:
            lines = await asyncio.to_thread(self.tailer.read)
            self.reads += 1
            where = self.tailer.position_text
            for line in lines:
                for fill in self.filter.fills(line, where):
                    yield fill
            if lines and self.position_file is not None and self.tailer.position is not None:
                try:
                    self.tailer.position.save(self.position_file)
                except OSError as exc:  # only a restart's head start is lost: keep watching
                    log.warning("firehose: position not saved to %s: %s", self.position_file, exc)
            if not lines:
                await self._sleep(self._poll_interval_s)
