"""What `mirrorbot demo` shows and concludes: the live table and the summary.

Every number about positions comes from the venue (the localnet's `/info`, read through the `Venue`
protocol), never from our own tables:
- tracking error per follower and coin = the follower's venue position − q(ρ₀ × s), with `s` the
  leader's venue position and ρ₀ the ratio the engine locked for the pair (SPEC §2: τ = ρ₀ · s);
- a pair is in sync when that error is zero, or worth less than the venue's minimum order value (a
  residual SPEC §2 defers on purpose until it is large enough to send), and never while the leader
  holds a position the engine has not seen yet (no ρ₀: the copy is still on its way);
- orders and their receive times come from the localnet's `stats`; each follower order is linked through
  the ledger (cloid → instruction → leader event) to the leader fill it copies, and the copy latency is
  the venue's receive time of the follower order minus that fill's time.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import httpx
from rich.console import Group
from rich.table import Table
from rich.text import Text

from bot.alerts import Alert, AlertKind
from bot.domain import AccountState, Instrument, Venue
from bot.ledger import Ledger
from strategies.model import SOURCE_EVENTS
from strategies.num import plain, q_lot

if TYPE_CHECKING:
    import asyncio as _asyncio

    from bot.pipeline.runner import Runner

ZERO: Final = Decimal(0)
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_COPIED_EVENTS: Final = frozenset(str(e) for e in SOURCE_EVENTS)


@dataclass(frozen=True, slots=True)
class Profile:
    """A follower: its equity (USDC), default scaling k (%) and per-token scalings."""

    equity: Decimal
    scaling: int
    scale: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class PairView:
    follower: str
    coin: str
    source: Decimal  # the leader's venue position
    ratio: Decimal | None  # ρ₀ locked by the engine (None: never opened)
    target: Decimal  # q(τ), the engine's target rounded to the lot
    expected: Decimal  # q(ρ₀ × s)
    position: Decimal  # the follower's venue position
    mid: Decimal
    last_action: str
    latency_ms: int | None
    deferred: bool  # a deferral was recorded for this pair during the run

    @property
    def error(self) -> Decimal:
        return self.position - self.expected

    def in_sync(self, min_notional: Decimal) -> bool:
        if self.source != 0 and self.ratio is None:
            return False  # the leader holds a position the engine has not seen yet: its copy is on its way
        return self.error == 0 or abs(self.error) * self.mid < min_notional


@dataclass(frozen=True, slots=True)
class Observation:
    mids: Mapping[str, Decimal]
    leader: AccountState
    followers: Mapping[str, AccountState]
    pairs: tuple[PairView, ...]
    min_notional: Decimal
    orders: int
    latencies_ms: tuple[int, ...]

    @property
    def in_sync(self) -> bool:
        return all(p.in_sync(self.min_notional) for p in self.pairs)


@dataclass(slots=True)
class _OrderRecord:
    user: str
    recv_ns: int
    cloids: list[str]
    errors: int
    latency_ms: int | None = None
    coin: str | None = None


@dataclass
class DemoReport:
    """Collects the run's facts: venue reads, the localnet's stats, the ledger's lineage, the alerts."""

    url: str
    seed: int
    leader: str
    followers: Mapping[str, Profile]
    coins: Sequence[str]
    ledger: Ledger
    reads: Venue
    runner: Runner | None = None
    alerts: list[Alert] = field(default_factory=list)
    _queue: _asyncio.Queue[Alert] | None = None
    _records: list[dict[str, Any]] = field(default_factory=list)
    _orders: list[_OrderRecord] = field(default_factory=list)
    _instruments: dict[str, Instrument] = field(default_factory=dict)
    _last_action: dict[tuple[str, str], str] = field(default_factory=dict)
    _last_latency: dict[tuple[str, str], int] = field(default_factory=dict)

    def attach(self, runner: Runner) -> None:
        self.runner = runner
        self._queue = runner.alerts.subscribe()

    # --- collecting -------------------------------------------------------------------------------

    def _drain_alerts(self) -> None:
        while self._queue is not None and not self._queue.empty():
            alert = self._queue.get_nowait()
            self.alerts.append(alert)
            if alert.follower and alert.coin:
                self._last_action[(alert.follower.lower(), alert.coin)] = f"{alert.kind}: {alert.message}"

    async def _stats(self) -> None:
        """New /exchange records from the localnet; each follower order linked to its leader fill."""
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.post(
                f"{self.url}/_localnet", json={"type": "stats", "since": len(self._records)}
            )
            answer.raise_for_status()
        for record in answer.json()["requests"]:
            self._records.append(record)
            if record.get("action") != "order" or record.get("user") is None:
                continue
            statuses = record.get("statuses") or []
            errors = sum(1 for s in statuses if isinstance(s, dict) and "error" in s)
            order = _OrderRecord(
                str(record["user"]).lower(), int(record["recvNs"]), list(record["cloids"]), errors
            )
            self._orders.append(order)
            if order.user in self.followers:
                await self._link(order)

    async def _link(self, order: _OrderRecord) -> None:
        for cloid in order.cloids:
            for chain in await self.ledger.lineage(f"cloid:{cloid}"):
                event, instruction = chain.leader_event, chain.instruction
                if instruction is None:
                    continue
                order.coin = instruction.coin
                if event is None or (instruction.event_kind or "") not in _COPIED_EVENTS:
                    continue  # a follow, reconciliation or retry order: not a copy of one leader fill
                event_ms = (event.time.astimezone(UTC) - EPOCH) // timedelta(milliseconds=1)
                order.latency_ms = order.recv_ns // 1_000_000 - event_ms
                self._last_latency[(order.user, instruction.coin)] = order.latency_ms

    async def observe(self) -> Observation:
        if not self._instruments:
            self._instruments = {i.coin: i for i in await self.reads.instruments()}
        self._drain_alerts()
        await self._stats()
        mids, leader, *states = await asyncio.gather(
            self.reads.mids(),
            self.reads.account(self.leader),
            *(self.reads.account(f) for f in self.followers),
        )
        followers = {f: s for f, s in zip(self.followers, states, strict=True) if isinstance(s, AccountState)}
        assert isinstance(leader, AccountState) and isinstance(mids, dict)
        pairs = tuple(
            self._pair(f, coin, leader, followers[f], mids) for f in self.followers for coin in self.coins
        )
        min_notional = self.runner.venue.capabilities.min_notional if self.runner else Decimal(10)
        latencies = tuple(o.latency_ms for o in self._orders if o.latency_ms is not None)
        follower_orders = sum(len(o.cloids) for o in self._orders if o.user in self.followers)
        return Observation(mids, leader, followers, pairs, min_notional, follower_orders, latencies)

    def _pair(
        self, follower: str, coin: str, leader: AccountState, state: AccountState, mids: Mapping[str, Decimal]
    ) -> PairView:
        sz_decimals = self._instruments[coin].sz_decimals
        ratio, tau = None, ZERO
        desk = self.runner.copier.desks.get(follower) if self.runner and self.runner.copier else None
        pair = desk.engine.pairs.get(coin) if desk is not None else None
        if pair is not None:
            ratio, tau = pair.ratio, pair.target
        source = leader.size(coin)
        expected = q_lot(ratio * source, sz_decimals) if ratio is not None else ZERO
        deferred = any(
            a.kind is AlertKind.DEFERRED and a.coin == coin and (a.follower or "").lower() == follower
            for a in self.alerts
        )
        return PairView(
            follower,
            coin,
            source,
            ratio,
            q_lot(tau, sz_decimals),
            expected,
            state.size(coin),
            mids.get(coin, ZERO),
            self._last_action.get((follower, coin), "-"),
            self._last_latency.get((follower, coin)),
            deferred,
        )

    # --- the summary -----------------------------------------------------------------------------

    async def summary(self, leader_steps: int, leader_errors: Sequence[str]) -> dict[str, Any]:
        final = await self.observe()
        fills = {user: len(await self.reads.fills_since(user, 0)) for user in (self.leader, *self.followers)}
        followers = []
        for address, profile in self.followers.items():
            mine = [o for o in self._orders if o.user == address]
            pairs = [p for p in final.pairs if p.follower == address]
            followers.append(
                {
                    "address": address,
                    "startEquity": plain(profile.equity),
                    "equity": plain(final.followers[address].equity),
                    "scaling": {"*": profile.scaling, **dict(profile.scale)},
                    "orders": sum(len(o.cloids) for o in mine),
                    "rejected": sum(o.errors for o in mine),
                    "fills": fills[address],
                    "coins": {p.coin: _pair_json(p, final.min_notional) for p in pairs},
                    "inSync": all(p.in_sync(final.min_notional) for p in pairs),
                }
            )
        leader_orders = [o for o in self._orders if o.user == self.leader]
        latencies = sorted(final.latencies_ms)
        return {
            "localnetUrl": self.url,
            "seed": self.seed,
            "leader": {
                "address": self.leader,
                "steps": leader_steps,
                "orders": sum(max(1, len(o.cloids)) for o in leader_orders),
                "fills": fills[self.leader],
                "positions": {c: plain(final.leader.size(c)) for c in self.coins},
                "errors": list(leader_errors),
            },
            "followers": followers,
            "orders": sum(f["orders"] for f in followers),
            "rejected": sum(f["rejected"] for f in followers),
            "fills": sum(f["fills"] for f in followers),
            "deferrals": _alerts_json(self.alerts, AlertKind.DEFERRED),
            "skips": _alerts_json(self.alerts, AlertKind.SKIPPED),
            "outOfSyncAlerts": _alerts_json(self.alerts, AlertKind.OUT_OF_SYNC),
            "latencyMs": {
                "count": len(latencies),
                "p50": percentile(latencies, 50),
                "p99": percentile(latencies, 99),
                "max": latencies[-1] if latencies else None,
            },
            "inSync": final.in_sync,
        }


def percentile(values: Sequence[int], pct: int) -> int | None:
    """Nearest-rank percentile of sorted `values` (None when empty)."""
    if not values:
        return None
    return values[max(0, math.ceil(pct / 100 * len(values)) - 1)]


def _pair_json(pair: PairView, min_notional: Decimal) -> dict[str, Any]:
    return {
        "source": plain(pair.source),
        "ratio": None if pair.ratio is None else plain(pair.ratio),
        "target": plain(pair.target),
        "expected": plain(pair.expected),
        "position": plain(pair.position),
        "error": plain(pair.error),
        "errorUsd": plain((abs(pair.error) * pair.mid).quantize(Decimal("0.01"))),
        "deferred": pair.deferred,
        "inSync": pair.in_sync(min_notional),
    }


def _alerts_json(alerts: Sequence[Alert], kind: AlertKind) -> list[dict[str, Any]]:
    return [
        {"follower": a.follower, "coin": a.coin, "reason": a.reason, "message": a.message}
        for a in alerts
        if a.kind is kind
    ]


# --- rendering ----------------------------------------------------------------------------------------


def _short(x: Decimal | None) -> str:
    """A ratio for display: 6 significant figures (the summary JSON keeps it exact)."""
    return "-" if x is None else f"{x:.6g}"


def render_table(observation: Observation, last_step: str, done: int, total: int) -> Group:
    table = Table(title="mirrorbot demo — source vs followers (venue positions)", expand=False)
    for column in (
        "coin",
        "mid",
        "source",
        "follower",
        "ρ₀",
        "target",
        "position",
        "drift",
        "last action",
        "latency",
    ):
        table.add_column(column, justify="left" if column in ("coin", "follower", "last action") else "right")
    by_coin: dict[str, list[PairView]] = {}
    for pair in observation.pairs:
        by_coin.setdefault(pair.coin, []).append(pair)
    for coin, pairs in by_coin.items():
        for index, pair in enumerate(pairs):
            drift = pair.position - pair.target
            style = "" if pair.in_sync(observation.min_notional) else "bold red"
            table.add_row(
                coin if index == 0 else "",
                plain(pair.mid) if index == 0 else "",
                plain(pair.source) if index == 0 else "",
                pair.follower[:10] + "…",
                _short(pair.ratio),
                plain(pair.target),
                plain(pair.position),
                Text(plain(drift), style=style),
                pair.last_action[:48],
                "-" if pair.latency_ms is None else f"{pair.latency_ms} ms",
                end_section=index == len(pairs) - 1,
            )
    latencies = sorted(observation.latencies_ms)
    footer = Text(
        f"leader: {last_step} ({done}/{total})   follower orders: {observation.orders}   "
        f"copy latency p50 {percentile(latencies, 50) or '-'} ms, "
        f"p99 {percentile(latencies, 99) or '-'} ms   "
        f"{'in sync' if observation.in_sync else 'catching up'}"
    )
    return Group(table, footer)


def render_summary(summary: Mapping[str, Any]) -> Group:
    table = Table(title="demo summary — tracking error per follower and coin (venue position − ρ₀ × source)")
    for column in (
        "follower",
        "equity",
        "orders",
        "fills",
        "coin",
        "source",
        "ρ₀",
        "expected",
        "position",
        "error $",
        "sync",
    ):
        table.add_column(column)
    for follower in summary["followers"]:
        for index, (coin, pair) in enumerate(follower["coins"].items()):
            first = index == 0
            table.add_row(
                follower["address"][:10] + "…" if first else "",
                f"{follower['startEquity']} → {follower['equity']}" if first else "",
                str(follower["orders"]) if first else "",
                str(follower["fills"]) if first else "",
                coin,
                pair["source"],
                _short(None if pair["ratio"] is None else Decimal(pair["ratio"])),
                pair["expected"],
                pair["position"],
                pair["errorUsd"],
                ("ok" if pair["inSync"] else "OUT OF SYNC") + (" (deferred)" if pair["deferred"] else ""),
                end_section=index == len(follower["coins"]) - 1,
            )
    latency = summary["latencyMs"]
    deferrals = summary["deferrals"]
    lines = [
        f"leader: {summary['leader']['steps']} steps, {summary['leader']['fills']} fills; "
        f"followers: {summary['orders']} orders, {summary['fills']} fills, {summary['rejected']} rejected, "
        f"{len(deferrals)} deferrals, {len(summary['skips'])} skips",
        f"copy latency (venue receive time of the follower order − leader fill time): "
        f"p50 {latency['p50']} ms, p99 {latency['p99']} ms over {latency['count']} orders",
        *(f"deferred: {d['follower'][:10]}… {d['coin']} — {d['reason']}: {d['message']}" for d in deferrals),
        *(f"leader error: {e}" for e in summary["leader"]["errors"]),
        "every follower in sync" if summary["inSync"] else "SOME FOLLOWER ENDED OUT OF SYNC",
    ]
    return Group(table, Text("\n".join(lines)))
