"""Source changes on Redis Streams: one stream per shard of sources, consumer groups, acknowledgement
after the consumer recorded the change, and the reclaim of a dead consumer's pending entries.

- A source always hashes to the same shard (`shard_of`), so its changes stay in order on one stream.
- A consumer group sees every entry of its streams once; within a group an entry is delivered to one
  consumer and stays in that consumer's pending list until it is acknowledged (`XACK`). `consume`
  acknowledges an entry only after its handler returned (the change's decisions and intents are
  committed), so a consumer killed in between leaves it pending: the next owner takes it with
  `reclaim` (`XAUTOCLAIM`, once it is idle past the heartbeat bound), or the same consumer, restarted
  under its name, reads its own pending entries first.
- Delivery is at least once: a reclaimed entry may already have been recorded. The handler recognises
  it by the change's event id — the ledger's leader events are unique per (venue, source, event id) and
  a decision's id and cloid derive from it, so recording it again creates nothing and sends nothing.
- An entry that is not a change this code can read is moved to the dead-letter stream (`<prefix>:dead`)
  and acknowledged: one bad entry must not stop a shard.
- Trimming (docs/cluster.md, "Trimming the streams"): an entry stays while any consumer group still owes
  it (delivered and not acknowledged, or not delivered yet), up to a cap of `max_len` entries per stream
  (MIRROR_BUS_STREAM_MAX_LEN). `trim` (each watcher, every heartbeat) removes what every group has
  acknowledged (`XTRIM MINID ~` below the oldest entry any group owes); every `XADD` carries the cap
  (`MAXLEN ~`), which holds Redis's memory even against a group nobody reads any more (a worker retired
  without `XGROUP DESTROY`). Past the cap the oldest entries go even if a group owes them — a worker
  behind by more than `max_len` changes of one shard, not one that was down (a restarted worker skips
  its backlog anyway: recovery reads its followers' sources from the venue) — and `trim` names those
  groups, so it is never silent.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as redis
from redis.exceptions import RedisError, ResponseError

from bot.bus.codec import BusChange, EntryError, decode, encode
from bot.config import BUS_STREAM_MAX_LEN

log = logging.getLogger(__name__)

STREAM_PREFIX = "mirror:changes"
DEFAULT_SHARDS = 16
DEFAULT_MAX_LEN = BUS_STREAM_MAX_LEN  # entries kept per stream at most (MIRROR_BUS_STREAM_MAX_LEN)
# How far past a bound `~` may leave a stream: Redis removes whole nodes of entries (its
# `stream-node-max-entries`, default 100), never part of one.
TRIM_SLACK = 100
TRIMMED = "removed from the stream before it was acknowledged (trimmed past MIRROR_BUS_STREAM_MAX_LEN)"


def shard_of(source: str, shards: int) -> int:
    """The shard of a source address (case-insensitive), stable across processes and Python versions."""
    digest = hashlib.sha256(source.strip().lower().encode()).digest()
    return int.from_bytes(digest[:8], "big") % shards


@dataclass(frozen=True, slots=True)
class Delivery:
    """One entry as a consumer received it: the change, or why it could not be read."""

    stream: str
    entry_id: str
    item: BusChange | None
    error: str | None = None
    fields: dict[str, str] | None = None  # the raw entry, kept only when it could not be read


@dataclass(frozen=True, slots=True)
class GroupLag:
    """A consumer group on one stream: entries delivered but not acknowledged, and entries not yet
    delivered to it (None when Redis cannot tell, after entries were deleted)."""

    stream: str
    pending: int
    lag: int | None


@dataclass(frozen=True, slots=True)
class TrimReport:
    """What `trim` removed, and the groups that were owed entries the cap removed (group → streams)."""

    trimmed: int
    lost: dict[str, list[str]]


def _id(text: str) -> tuple[int, int]:
    ms, _, seq = str(text).partition("-")
    return int(ms), int(seq or 0)


def _owed_from(group: dict[str, Any], oldest_pending: str | None) -> tuple[int, int]:
    """The oldest entry a group still owes: its oldest pending one, else the one after what it was last
    delivered."""
    ms, seq = _id(group["last-delivered-id"])
    after = (ms, seq + 1)
    return after if oldest_pending is None else min(after, _id(oldest_pending))


class Bus:
    """The streams of one Redis (`MIRROR_BUS_URL`), `shards` of them under `prefix`."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        shards: int = DEFAULT_SHARDS,
        prefix: str = STREAM_PREFIX,
        max_len: int = DEFAULT_MAX_LEN,
    ) -> None:
        if shards < 1:
            raise ValueError(f"shards: must be at least 1 (got {shards})")
        if max_len < 1:
            raise ValueError(f"max_len: must be at least 1 (got {max_len})")
        self.client = client
        self.shards = shards
        self.prefix = prefix
        self.max_len = max_len
        # Whether Redis answered the last time this process asked (None: not asked yet) and, if not,
        # why: what a role's readiness says (`bus`), from its own traffic and from `ping`.
        self.reachable: bool | None = None
        self.error = ""

    def saw(self, error: BaseException | None) -> None:
        """Record how the last exchange with Redis went (None: it answered)."""
        self.reachable = error is None
        self.error = "" if error is None else f"{type(error).__name__}: {error}"

    async def ping(self, timeout_s: float = 2.0) -> bool:
        """Ask Redis whether it is there (bounded: a stopped server must not hold a readiness probe)."""
        try:
            await asyncio.wait_for(self.client.ping(), timeout_s)
        except (RedisError, OSError, TimeoutError) as exc:
            self.saw(exc)
        else:
            self.saw(None)
        return bool(self.reachable)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Bus:
        return cls(redis.Redis.from_url(url, decode_responses=True), **options)

    async def close(self) -> None:
        await self.client.aclose()

    def stream(self, shard: int) -> str:
        return f"{self.prefix}:{shard}"

    def streams(self, shards: Iterable[int] | None = None) -> list[str]:
        return [self.stream(s) for s in (range(self.shards) if shards is None else shards)]

    @property
    def dead_letters(self) -> str:
        return f"{self.prefix}:dead"

    async def publish(self, item: BusChange) -> str:
        """Append a change to its source's stream; the entry id. Redis answered, so it is durable as
        far as the server's append-only file is (`appendfsync always`: on disk). The stream is held to
        its cap in the same command (see the module docstring)."""
        stream = self.stream(shard_of(item.change.source, self.shards))
        fields = encode(item)
        entry_id = await self.client.xadd(stream, fields, maxlen=self.max_len, approximate=True)  # type: ignore[arg-type]
        return str(entry_id)

    async def trim(self) -> TrimReport:
        """Remove from every stream what every consumer group has acknowledged (`XTRIM MINID ~`: whole
        nodes, never an entry a group owes); a stream without a group keeps up to its cap (a group may be
        about to start at its beginning). Reports the groups owed entries that are gone: a group owing
        an entry older than the stream's first on a stream that lost entries (trimming takes the oldest
        first; Redis 7 keeps no id of what trimming removed, so the count of entries ever added says it).
        """
        owed = await self.owed()
        pipe = self.client.pipeline(transaction=False)
        for stream, by_group in owed.items():
            ms, seq = min(by_group.values())
            pipe.xtrim(stream, minid=f"{ms}-{seq}", approximate=True)
            pipe.xinfo_stream(stream)
        answers = await pipe.execute()
        trimmed, lost = 0, dict[str, list[str]]()
        for (stream, by_group), removed, info in zip(owed.items(), answers[::2], answers[1::2], strict=True):
            trimmed += int(removed)
            if int(info["entries-added"]) <= int(info["length"]):
                continue  # nothing ever removed
            entry = info.get("first-entry")
            last = _id(info["last-generated-id"])
            first = _id(entry[0]) if entry else (last[0], last[1] + 1)
            for group, owes in by_group.items():
                if owes < first:
                    lost.setdefault(group, []).append(stream)
        return TrimReport(trimmed, lost)

    async def owed(self) -> dict[str, dict[str, tuple[int, int]]]:
        """Stream → group → the oldest entry id the group still owes (streams with groups only)."""
        streams = self.streams()
        pipe = self.client.pipeline(transaction=False)
        for stream in streams:
            pipe.xinfo_groups(stream)
        groups: dict[str, list[dict[str, Any]]] = {}
        for stream, found in zip(streams, await pipe.execute(raise_on_error=False), strict=True):
            if isinstance(found, ResponseError):  # no such stream yet
                continue
            if isinstance(found, BaseException):
                raise found
            if found:
                groups[stream] = found
        pipe = self.client.pipeline(transaction=False)
        asked = [(s, str(g["name"])) for s, found in groups.items() for g in found if int(g["pending"])]
        for stream, name in asked:
            pipe.xpending(stream, name)
        oldest = {key: str(summary["min"]) for key, summary in zip(asked, await pipe.execute(), strict=True)}
        return {
            stream: {str(g["name"]): _owed_from(g, oldest.get((stream, str(g["name"])))) for g in found}
            for stream, found in groups.items()
        }

    async def ensure_group(
        self, group: str, shards: Iterable[int] | None = None, *, start: str = "0"
    ) -> None:
        """Create the group on every stream (and the streams) if missing. `start` "0": at the
        beginning, so a change published before the first consumer started is not missed; "$": only
        what is published from now on."""
        for stream in self.streams(shards):
            try:
                await self.client.xgroup_create(stream, group, id=start, mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    async def skip_to_now(self, group: str, shards: Iterable[int] | None = None) -> int:
        """Start the group afresh: what it was given and never acknowledged is acknowledged, and it
        reads only what is published from now on (`XGROUP SETID $`); the number of entries skipped.
        A copy worker does this at start, before recovery brings its followers to their sources'
        positions as the venue reports them: the backlog is already in those positions."""
        await self.ensure_group(group, shards, start="$")
        skipped = 0
        for stream in self.streams(shards):
            await self.client.xgroup_setid(stream, group, id="$")
            while pending := await self.client.xpending_range(stream, group, min="-", max="+", count=500):
                skipped += int(await self.client.xack(stream, group, *[p["message_id"] for p in pending]))
        return skipped

    async def drop_group(self, group: str) -> None:
        """Remove a consumer group from every stream (a worker retired for good)."""
        for stream in self.streams():
            with contextlib.suppress(ResponseError):
                await self.client.xgroup_destroy(stream, group)

    async def groups(self) -> list[str]:
        """Every consumer group on the streams, sorted."""
        names: set[str] = set()
        for stream in self.streams():
            try:
                names |= {str(g["name"]) for g in await self.client.xinfo_groups(stream)}
            except ResponseError:  # no such stream yet
                continue
        return sorted(names)

    def consumer(self, group: str, name: str, shards: Iterable[int] | None = None) -> Consumer:
        return Consumer(self, group, name, self.streams(shards))

    async def lag(self, group: str, shards: Iterable[int] | None = None) -> list[GroupLag]:
        """The group's pending and undelivered entries per stream (streams without the group: none)."""
        return (await self.lags(shards)).get(group, [])

    async def lags(self, shards: Iterable[int] | None = None) -> dict[str, list[GroupLag]]:
        """Every consumer group's pending and undelivered entries per stream (`XINFO GROUPS` of each
        stream, in one round trip): what `cluster status` shows and the roles' metrics report."""
        streams = self.streams(shards)
        pipe = self.client.pipeline(transaction=False)
        for stream in streams:
            pipe.xinfo_groups(stream)
        answers = await pipe.execute(raise_on_error=False)
        out: dict[str, list[GroupLag]] = {}
        for stream, groups in zip(streams, answers, strict=True):
            if isinstance(groups, ResponseError):  # no such stream yet
                continue
            if isinstance(groups, BaseException):
                raise groups
            for info in groups:
                lag = info.get("lag")
                out.setdefault(str(info["name"]), []).append(
                    GroupLag(stream, int(info["pending"]), None if lag is None else int(lag))
                )
        return out


def _read(found: Any) -> list[Delivery]:
    """XREADGROUP's answer (a list of [stream, entries] pairs, or a map under RESP3) as deliveries."""
    pairs = found.items() if isinstance(found, dict) else (found or [])
    return [d for stream, entries in pairs for d in _deliveries(str(stream), entries)]


def _deliveries(stream: str, entries: Sequence[Any]) -> list[Delivery]:
    out: list[Delivery] = []
    for entry_id, fields in entries:
        if not fields:  # trimmed (or XDEL) while pending (an entry has fields): to the dead letters
            out.append(Delivery(stream, entry_id, None, TRIMMED))
            continue
        try:
            out.append(Delivery(stream, entry_id, decode(fields)))
        except EntryError as exc:
            out.append(Delivery(stream, entry_id, None, str(exc), dict(fields)))
    return out


Handler = Callable[[BusChange], Awaitable[None]]
BatchHandler = Callable[[list[BusChange]], Awaitable[None]]


class Consumer:
    """One named consumer of a group on some streams."""

    def __init__(self, bus: Bus, group: str, name: str, streams: Sequence[str]) -> None:
        self.bus, self.group, self.name, self.streams = bus, group, name, list(streams)
        self._own_pending = dict.fromkeys(self.streams, "0")  # stream → read this consumer's past it
        self.acknowledged = 0  # entries this consumer acknowledged (the role's metrics)

    async def read(self, count: int = 100, block_ms: int | None = 1000) -> list[Delivery]:
        """The next entries for this consumer: first the ones already delivered to it and never
        acknowledged (a restart under the same name), then new ones, waiting up to `block_ms`."""
        client = self.bus.client
        while self._own_pending:
            mine: Any = await client.xreadgroup(self.group, self.name, self._own_pending, count=count)  # type: ignore[arg-type]
            pairs: dict[str, Any] = dict(mine.items() if isinstance(mine, dict) else (mine or []))
            for stream in list(self._own_pending):
                if entries := pairs.get(stream):
                    self._own_pending[stream] = entries[-1][0]
                else:  # none left of this consumer's on that stream
                    del self._own_pending[stream]
            own = _read(mine)
            if own:
                return own
        new = dict.fromkeys(self.streams, ">")
        found = await client.xreadgroup(self.group, self.name, new, count=count, block=block_ms)  # type: ignore[arg-type]
        return _read(found)

    def rewind(self) -> None:
        """Read this consumer's unacknowledged entries again first (after a handler error)."""
        self._own_pending = dict.fromkeys(self.streams, "0")

    async def reclaim(self, min_idle_ms: int, count: int = 100) -> list[Delivery]:
        """Take over the entries other consumers of the group were given and left unacknowledged for
        at least `min_idle_ms` (they died, or froze past their lease): `XAUTOCLAIM`, every stream."""
        out: list[Delivery] = []
        for stream in self.streams:
            start = "0-0"
            while True:
                answer: Any = await self.bus.client.xautoclaim(
                    stream, self.group, self.name, min_idle_ms, start_id=start, count=count
                )
                start, entries = answer[0], answer[1]
                out += _deliveries(stream, entries)
                if start == "0-0":
                    break
        return out

    async def ack(self, deliveries: Iterable[Delivery]) -> int:
        by_stream: dict[str, list[str]] = {}
        for d in deliveries:
            by_stream.setdefault(d.stream, []).append(d.entry_id)
        done = 0
        for stream, ids in by_stream.items():
            done += int(await self.bus.client.xack(stream, self.group, *ids))
        self.acknowledged += done
        return done

    async def handle(self, deliveries: Sequence[Delivery], handler: Handler) -> int:
        """Run `handler` on each change in order and acknowledge each once it returned; an unreadable
        entry goes to the dead letters. Stops at the first handler error, leaving that entry and the
        rest pending (redelivered to this consumer, or reclaimed by another). The number handled."""
        done = 0
        for d in deliveries:
            if d.item is None:
                await self._dead_letter(d)
            else:
                await handler(d.item)
            await self.ack([d])
            done += 1
        return done

    async def handle_all(self, deliveries: Sequence[Delivery], handler: BatchHandler) -> int:
        """`handle` for a whole batch: every readable change to `handler` in one call (in order), then
        every entry acknowledged; on a handler error none is (all stay pending)."""
        items = [d.item for d in deliveries if d.item is not None]
        if items:
            await handler(items)
        for d in deliveries:
            if d.item is None:
                await self._dead_letter(d)
        return await self.ack(deliveries) if deliveries else 0

    async def _dead_letter(self, d: Delivery) -> None:
        fields = {**(d.fields or {}), "error": d.error or "", "from": f"{d.stream}/{d.entry_id}"}
        await self.bus.client.xadd(self.bus.dead_letters, fields)  # type: ignore[arg-type]
        log.error("bus_entry_unreadable", extra={"stream": d.stream, "entry": d.entry_id, "error": d.error})
