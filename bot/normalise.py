"""Source fills / position snapshots → `SourceChange`s (`old → new` per coin), the engine's only input.

Pure: no I/O, no clock, `Decimal` only. Decisions (see docs/decisions/normalise.md):

- A fill is identified by `(tid, oid)` — both sides of a self-trade carry the same `tid` — or, in
  recordings without `tid`, by `(hash, oid, px, sz, time, side, startPosition)`. Duplicates are dropped.
- The fills of a source in one coin at one timestamp (one block) form one change: the venue matches
  them atomically, nobody can observe or act between them, and their order inside the block is not
  recoverable (self-trades report the same `startPosition` on both sides). This contains the spec's
  "same order id, same timestamp" rule. With `window_ms > 0`, later blocks made only of orders already
  in the group join it while within `window_ms` of its first fill.
- A group's `old` is the size we last knew; its `new` is the venue's own `startPosition` at the block
  plus the block's signed fills. When the block does not start from the size we knew, that is a
  missed event: it is recorded as a `PositionGap` and the change jumps over it (`old` = what we knew,
  `new` = what the venue says), so nothing is assumed away and a flip stays one change.
- Without a known starting size (`initial` lacks the coin: unknown, not flat), the first fill's
  `startPosition` is the starting size.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from bot.domain import SourceChange, SourceFill
from strategies.num import add, div, mul

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class PositionGap:
    """The venue says the source held `reported` before a block, but we last knew `expected`."""

    source: str
    coin: str
    expected: Decimal
    reported: Decimal
    time_ms: int
    event_id: str  # the change that jumped over the gap


FillKey = tuple[object, ...]


def fill_key(fill: SourceFill) -> FillKey:
    """What identifies one fill across re-deliveries (websocket snapshot + backfill + retries)."""
    if fill.tid is not None:
        return (fill.coin, "tid", fill.tid, fill.oid)
    # startPosition too: two partial fills of one order at one price and size differ only there.
    return (
        fill.coin,
        "hash",
        fill.hash,
        fill.oid,
        fill.px,
        fill.sz,
        fill.time_ms,
        fill.side.value,
        fill.start_position,
    )


def _order_key(fill: SourceFill) -> tuple[object, ...]:
    # Canonical order (time, oid, tid, then the rest) so that arrival order never matters.
    tid = -1 if fill.tid is None else fill.tid
    return (fill.time_ms, fill.oid, tid, fill.side.value, fill.px, fill.sz, fill.hash)


def _fill_ref(fill: SourceFill) -> str:
    if fill.tid is not None:
        return f"t{fill.tid}{fill.side.value[0]}"
    return f"{fill.hash}:{fill.px}:{fill.sz}:{fill.side.value[0]}:{fill.start_position}"


@dataclass(slots=True)
class _Group:
    """Consecutive blocks (fills at one timestamp) of one coin that make one change."""

    blocks: list[list[SourceFill]] = field(default_factory=list)
    oids: set[int] = field(default_factory=set)

    @property
    def first_time(self) -> int:
        return self.blocks[0][0].time_ms

    def add(self, block: list[SourceFill]) -> None:
        self.blocks.append(block)
        self.oids.update(f.oid for f in block)


def _blocks(fills: list[SourceFill]) -> list[list[SourceFill]]:
    """Sorted fills of one coin → runs with the same timestamp."""
    blocks: list[list[SourceFill]] = []
    for fill in fills:
        if blocks and blocks[-1][0].time_ms == fill.time_ms:
            blocks[-1].append(fill)
        else:
            blocks.append([fill])
    return blocks


def _groups(fills: list[SourceFill], window_ms: int) -> list[_Group]:
    groups: list[_Group] = []
    for block in _blocks(fills):
        last = groups[-1] if groups else None
        if (
            last is not None
            and window_ms > 0
            and block[0].time_ms - last.first_time <= window_ms
            and {f.oid for f in block} <= last.oids
        ):
            last.add(block)
        else:
            group = _Group()
            group.add(block)
            groups.append(group)
    return groups


_Kind = tuple[Decimal, Decimal, Decimal]  # (startPosition, signed size, px)
_SEARCH_MAX_FILLS = 256  # bigger blocks (a rare sweep) skip the search and use the simple rule
_SEARCH_BUDGET = 20_000  # states


class _OutOfBudget(Exception):
    pass


class _Replay:
    """Can a block's fills be replayed from a start? Each step is a fill that starts at the current
    size, or a self-trade: a buy and a sell of one size and price both starting there (the venue
    reports both sides at the same `startPosition`; the size does not move). Memoised search."""

    def __init__(self, block: list[SourceFill]) -> None:
        counts = Counter((f.start_position, f.signed_sz, f.px) for f in block)
        self.kinds: list[_Kind] = sorted(counts)
        self.counts = tuple(counts[k] for k in self.kinds)
        self.index = {k: i for i, k in enumerate(self.kinds)}
        self.by_start: dict[Decimal, list[int]] = {}
        for i, (start, _, _) in enumerate(self.kinds):
            self.by_start.setdefault(start, []).append(i)
        self.budget = _SEARCH_BUDGET if len(block) <= _SEARCH_MAX_FILLS else 0
        self.memo: dict[tuple[Decimal, tuple[int, ...]], bool] = {}

    def from_start(self, start: Decimal) -> bool | None:
        """True/False; None when the block is too big to search."""
        try:
            return self._replay(start, self.counts)
        except _OutOfBudget:
            return None

    def _replay(self, position: Decimal, counts: tuple[int, ...]) -> bool:
        if not any(counts):
            return True
        key = (position, counts)
        if key not in self.memo:
            self.budget -= 1
            if self.budget < 0:
                raise _OutOfBudget
            self.memo[key] = any(self._replay(pos, rest) for pos, rest in self._steps(position, counts))
        return self.memo[key]

    def _steps(self, position: Decimal, counts: tuple[int, ...]) -> Iterator[tuple[Decimal, tuple[int, ...]]]:
        for i in self.by_start.get(position, ()):
            if not counts[i]:
                continue
            start, signed, px = self.kinds[i]
            rest = list(counts)
            rest[i] -= 1
            yield position + signed, tuple(rest)
            other = self.index.get((start, -signed, px))
            if signed > 0 and other is not None and rest[other]:
                rest[other] -= 1
                yield position, tuple(rest)


def block_starts(block: list[SourceFill]) -> list[Decimal] | None:
    """Every size the block's fills can be replayed from, in the fills' order (usually one; more when
    the block returns to an earlier size, e.g. buy 1 then sell 1). None: too big to search."""
    replay = _Replay(block)
    starts: list[Decimal] = []
    for start in dict.fromkeys(f.start_position for f in block):
        possible = replay.from_start(start)
        if possible is None:
            return None
        if possible:
            starts.append(start)
    return starts


def _block_start(block: list[SourceFill], known: Decimal | None) -> Decimal:
    """Where the venue says the block started: the size we knew if the fills replay from it
    (continuity first), else the first size they replay from. If they replay from nowhere (the venue
    contradicts itself) or the block is too big to search: the size we knew if some fill starts
    there, else the first start that is no fill's end."""
    starts = [f.start_position for f in block]
    if known is not None and known in starts and _Replay(block).from_start(known):
        return known
    feasible = block_starts(block)
    if feasible:
        return feasible[0]
    if known is not None and known in starts:
        return known
    unmatched = Counter(starts) - Counter(add(f.start_position, f.signed_sz) for f in block)
    return next((s for s in starts if unmatched[s] > 0), starts[0])


def _avg_px(group: _Group) -> Decimal:
    fills = [f for block in group.blocks for f in block]
    notional = add(*(mul(f.px, f.sz) for f in fills))
    volume = add(*(f.sz for f in fills))
    return div(notional, volume)


class FillCoalescer:
    """Incremental fill → change detector for one source.

    `add()` fills as they arrive (duplicated, out of order by up to `lateness_ms`; default
    `window_ms`); `flush(now_ms)` returns the changes whose group can no longer grow: its first fill is
    older than `now_ms - lateness_ms - window_ms`. `flush()` with no time flushes everything (end of a
    batch). Fed the same fills, the concatenated flushes equal `changes_from_fills`.

    A fill arriving after its timestamp was already flushed is *late* (listed in `late_fills`). If a
    later block was flushed, that block's `startPosition` — the venue's own figure — already counts
    it: it is *absorbed* (listed in `absorbed_fills`, the position does not move twice). A straggler
    of the last flushed block that starts at the size we hold becomes its own change (`late:` event
    id). A fill arriving after a later fill of its coin is listed in `out_of_order` (inside one flush
    it is simply sorted into place).
    """

    def __init__(
        self,
        source: str,
        *,
        initial: Mapping[str, Decimal] | None = None,
        window_ms: int = 0,
        lateness_ms: int | None = None,
    ) -> None:
        if window_ms < 0 or (lateness_ms is not None and lateness_ms < 0):
            raise ValueError("window_ms and lateness_ms must be >= 0")
        self.source = source
        self.window_ms = window_ms
        self.lateness_ms = window_ms if lateness_ms is None else lateness_ms
        self.gaps: list[PositionGap] = []
        self.late_fills: list[SourceFill] = []
        self.absorbed_fills: list[SourceFill] = []
        self.out_of_order: list[SourceFill] = []
        self.duplicates = 0  # fills delivered again (dropped)
        self._positions: dict[str, Decimal] = dict(initial or {})
        self._seen: dict[FillKey, int] = {}  # key → fill time
        self._pending: dict[str, list[SourceFill]] = {}
        self._late: list[SourceFill] = []
        self._flushed_until: dict[str, int] = {}  # per coin: last timestamp already emitted
        self._newest: dict[str, int] = {}  # per coin: the newest fill time taken
        self._forgotten_before: int | None = None

    def position(self, coin: str) -> Decimal | None:
        """The source's size in `coin` after the last flushed change (None: never observed)."""
        return self._positions.get(coin)

    def forget_before(self, time_ms: int) -> None:
        """Bound memory in a long run: forget fills older than `time_ms` and ignore any that arrive
        again (a websocket snapshot re-sends the recent history); only call it past flushed times."""
        self._forgotten_before = time_ms
        self._seen = {key: t for key, t in self._seen.items() if t >= time_ms}

    def add(self, fill: SourceFill) -> bool:
        """Take one fill; False if it was already seen (or is older than `forget_before`)."""
        key = fill_key(fill)
        forgotten = self._forgotten_before is not None and fill.time_ms < self._forgotten_before
        if forgotten or key in self._seen:
            self.duplicates += 1
            return False
        self._seen[key] = fill.time_ms
        if fill.time_ms < self._newest.get(fill.coin, fill.time_ms):
            self.out_of_order.append(fill)
        self._newest[fill.coin] = max(fill.time_ms, self._newest.get(fill.coin, fill.time_ms))
        flushed = self._flushed_until.get(fill.coin)
        if flushed is not None and fill.time_ms <= flushed:
            self._late.append(fill)
        else:
            self._pending.setdefault(fill.coin, []).append(fill)
        return True

    def add_all(self, fills: Iterable[SourceFill]) -> int:
        return sum(self.add(f) for f in fills)

    def flush(self, now_ms: int | None = None) -> list[SourceChange]:
        changes = self._flush_late()
        emitted: list[SourceChange] = []
        for coin in sorted(self._pending):
            pending = sorted(self._pending[coin], key=_order_key)
            groups = _groups(pending, self.window_ms)
            done = 0
            for group in groups:
                if now_ms is not None and group.first_time >= now_ms - self.lateness_ms - self.window_ms:
                    break
                change = self._emit(coin, group)
                if change is not None:
                    emitted.append(change)
                done += len(group.blocks)
                self._flushed_until[coin] = group.blocks[-1][0].time_ms
            remaining = [f for block in _blocks(pending)[done:] for f in block]
            if remaining:
                self._pending[coin] = remaining
            else:
                del self._pending[coin]
        emitted.sort(key=lambda c: (c.time_ms, c.coin))
        return changes + emitted

    def _emit(self, coin: str, group: _Group) -> SourceChange | None:
        first = group.blocks[0]
        event_id = f"fill:{coin}:{min(f.oid for f in first)}:{group.first_time}"
        known = self._positions.get(coin)
        # First observation of this coin: trust the venue's startPosition (unknown is not flat).
        old = known if known is not None else _block_start(first, None)
        position = old
        for block in group.blocks:
            start = _block_start(block, position)
            if start != position:
                self.gaps.append(PositionGap(self.source, coin, position, start, block[0].time_ms, event_id))
            position = add(start, *(f.signed_sz for f in block))
        self._positions[coin] = position
        if position == old:
            return None  # e.g. a self-trade: the position did not move
        return SourceChange(self.source, coin, old, position, group.first_time, event_id, _avg_px(group))

    def _flush_late(self) -> list[SourceChange]:
        changes: list[SourceChange] = []
        for fill in sorted(self._late, key=_order_key):
            self.late_fills.append(fill)
            old = self._positions.get(fill.coin, fill.start_position)
            if fill.time_ms < self._flushed_until[fill.coin] or fill.start_position != old:
                self.absorbed_fills.append(fill)  # a later startPosition already counts it
                continue
            new = add(old, fill.signed_sz)
            self._positions[fill.coin] = new
            event_id = f"late:{fill.coin}:{fill.oid}:{fill.time_ms}:{_fill_ref(fill)}"
            changes.append(SourceChange(self.source, fill.coin, old, new, fill.time_ms, event_id, fill.px))
        self._late.clear()
        return changes


def changes_from_fills(
    source: str,
    fills: Iterable[SourceFill],
    *,
    initial: Mapping[str, Decimal] | None = None,
    window_ms: int = 0,
) -> list[SourceChange]:
    """All changes in a batch of fills, ordered by (time, coin). Gaps: use `FillCoalescer` directly."""
    coalescer = FillCoalescer(source, initial=initial, window_ms=window_ms)
    coalescer.add_all(fills)
    return coalescer.flush()


def changes_from_snapshots(
    source: str,
    previous: Mapping[str, Decimal],
    current: Mapping[str, Decimal],
    *,
    time_ms: int,
    event_id: str,
) -> list[SourceChange]:
    """Diff two complete position snapshots (a coin missing from one side is flat there). Each change
    gets the id `<event_id>:<coin>`, so ids stay unique when several coins moved."""
    changes: list[SourceChange] = []
    for coin in sorted(set(previous) | set(current)):
        old = previous.get(coin, _ZERO)
        new = current.get(coin, _ZERO)
        if old != new:
            changes.append(SourceChange(source, coin, old, new, time_ms, f"{event_id}:{coin}"))
    return changes
