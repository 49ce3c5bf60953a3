"""The roles' processes: `mirrorbot watch`, `mirrorbot copy`, `mirrorbot control` (start, run until
SIGINT/SIGTERM or `--duration`, stop cleanly) and `mirrorbot cluster status`. Each needs MIRROR_BUS_URL
beside a PostgreSQL MIRROR_DATABASE_URL (bot/config.py refuses one beside SQLite)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from bot.alerts import Alert, AlertBus, AlertKind
from bot.bus.streams import Bus
from bot.cluster.health import BUS, RoleView, bus_check, heartbeat_check
from bot.cluster.member import ClusterError, Member
from bot.cluster.status import cluster_status, render
from bot.cluster.watcher import Watcher
from bot.cluster.worker import CopyWorker
from bot.config import Settings
from bot.ledger import Ledger
from bot.ledger.db import LedgerConfigError
from bot.ledger.ownership import Budget, LeaseKind
from bot.logs import configure_from_settings, log_event
from bot.pipeline.accounts import RunnerError
from bot.pipeline.readiness import LEDGER, Check
from bot.pipeline.runner_options import Companion
from bot.pipeline.venue_wait import StoppedBeforeStart
from bot.redaction import redact_text
from bot.venues import watcher_capacity

log = logging.getLogger(__name__)

HYPERLIQUID_WS_USERS = 10  # the venue's websocket limit per IP: unique users across user subscriptions
HYPERLIQUID_WEIGHT_PER_MIN = 1200  # the venue's REST limit per IP


START_GRACE_S = 1.0  # a start told to stop may end by itself this long before it is cancelled


class Role(Protocol):
    @property
    def halt(self) -> asyncio.Event:
        """Set to stop it (SIGINT/SIGTERM): a start-up still waiting for its venue gives up."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def view(self) -> RoleView:
        """What its ops port reads (bot/cluster/health.py)."""
        ...


# Started before a role and stopped after it, given the role (the commands pass the ops port).
Observer = Callable[[Role], Awaitable[Companion | None]]


def default_name() -> str:
    return socket.gethostname().lower()


def needs_bus(settings: Settings, command: str) -> str | None:
    """The refusal (one line) when the distributed roles are not configured; None when they are."""
    if settings.bus_url is None:
        return (
            f"mirrorbot {command}: MIRROR_BUS_URL is not set: the distributed roles need a redis:// bus "
            "and a PostgreSQL MIRROR_DATABASE_URL (one process: mirrorbot run)"
        )
    return None


async def serve(role: Role, duration_s: float | None) -> None:
    """Start `role`, run until SIGINT/SIGTERM (or `duration_s`), stop it."""
    loop = asyncio.get_running_loop()
    stop = role.halt
    handled = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
    try:
        await start_unless_halted(role)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), duration_s)
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
        await role.stop()


async def start_unless_halted(role: Role) -> None:
    """`role.start()`, given up when SIGTERM/SIGINT comes first: a copy worker's start at 10,000 followers
    lasts minutes, and the signal waited for all of it (the process was killed with -9 instead). A start
    asked to stop gets `START_GRACE_S` to end on its own (a venue wait ends at once), then is cancelled.
    Cancelling it is crash-safe as a kill is: what it sent is recorded, or found again by its cloid at the
    next start, and `stop` gives back the leases it took — at once, not after they expire."""
    start = asyncio.ensure_future(role.start())
    halted = asyncio.ensure_future(role.halt.wait())
    try:
        await asyncio.wait({start, halted}, return_when=asyncio.FIRST_COMPLETED)
        if not start.done():
            await asyncio.wait({start}, timeout=START_GRACE_S)
        if not start.done():
            start.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await start
            log_event(log, "start_abandoned", level=logging.WARNING)
            raise StoppedBeforeStart("stopped while starting")
        start.result()
    finally:
        halted.cancel()


class Control:
    """`mirrorbot control`: the Telegram control room (`start_room`, when a token is set) and the cluster's
    watch, every heartbeat: a source or follower that nobody owns is alerted (once, until owned again)."""

    def __init__(
        self,
        settings: Settings,
        member: Member,
        bus: Bus,
        ledger: Ledger,
        start_room: Callable[[Ledger, AlertBus], Awaitable[Any]] | None = None,
    ) -> None:
        self.settings, self.member, self.bus, self.start_room = settings, member, bus, start_room
        self.alerts = AlertBus()
        self._ledger = ledger
        self._room: Any = None
        self._task: asyncio.Task[None] | None = None
        self._told: set[tuple[str, str]] = set()
        self.halt = asyncio.Event()

    async def start(self) -> None:
        await self.member.join()
        await self.check()
        if self.start_room is not None:
            self._room = await self.start_room(self._ledger, self.alerts)
        self._task = asyncio.create_task(self._jobs(), name="control-jobs")
        log_event(log, "control_started", name=self.member.name)

    async def check(self) -> None:
        await self.member.beat([])
        status = await cluster_status(self._ledger, self.settings.follower_venue.value, self.bus)
        now = {(kind, key) for kind, keys in status.unowned.items() for key in keys}
        for kind, key in sorted(now - self._told):
            log_event(log, "cluster_unowned", level=logging.WARNING, kind=kind, lease=key)
            self.alerts.publish(
                Alert(AlertKind.FAILURE, "cluster_unowned", f"no live process owns {kind[:-1]} {key}")
            )
        self._told = now

    def checks(self) -> dict[str, Check]:
        """Its readiness: the ledger written (its heartbeat) and Redis answering (its status reads)."""
        return {LEDGER: heartbeat_check(self.member), BUS: bus_check(self.bus)}

    def view(self) -> RoleView:
        return RoleView(self.member, self.bus, self.checks)

    async def _jobs(self) -> None:
        while True:
            await asyncio.sleep(self.member.heartbeat_s)
            try:
                await self.check()
            except Exception:
                log.exception("control: the cluster check failed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._room is not None:
            await self._room.stop()
        with contextlib.suppress(Exception):
            await self.member.leave()


# A follower's planned REST weight per minute on its worker's IP: its account read (clearinghouseState,
# weight 2) every 15 s, and an allowance of 4 orders (weight 1 each). A planning figure, not a meter.
FOLLOWER_WEIGHT_PER_MIN = 12

Make = Callable[[Ledger, Bus], Role]


def run_role(
    settings: Settings,
    command: str,
    make: Make,
    duration_s: float | None,
    observers: Sequence[Observer] = (),
) -> int:
    """Run one role's process: 0 after a clean stop, 2 when it cannot start (the message says why).
    `observers`: what watches it from before its start to after its stop (the ops port, bot/ops)."""
    configure_from_settings(settings)
    refused = needs_bus(settings, command)
    if refused is not None:
        print(refused, file=sys.stderr)
        return 2

    async def main() -> None:
        bus = Bus.from_url(settings.bus_url or "", max_len=settings.bus_stream_max_len)
        ledger = await Ledger.open(settings.db_url)
        try:
            role = make(ledger, bus)
            started: list[Companion] = []
            try:
                for observer in observers:
                    if (companion := await observer(role)) is not None:
                        started.append(companion)
                await serve(role, duration_s)
            finally:
                while started:
                    await started.pop().stop()
        finally:
            await ledger.close()
            with contextlib.suppress(Exception):
                await bus.close()

    try:
        asyncio.run(main())
    except StoppedBeforeStart as exc:  # a signal while it waited for its venue: a clean stop
        print(f"mirrorbot {command}: {exc}", file=sys.stderr)
        return 0
    except (ClusterError, RunnerError, LedgerConfigError) as exc:
        log_event(log, f"{command}_refused", level=logging.ERROR, error=str(exc))
        print(f"mirrorbot {command}: {redact_text(str(exc))}", file=sys.stderr)
        return 2
    return 0


def watch_main(
    settings: Settings,
    *,
    name: str,
    heartbeat_s: float,
    budget: Budget,
    poll_staleness_s: float = 0.0,
    duration_s: float | None = None,
    observers: Sequence[Observer] = (),
) -> int:
    """`mirrorbot watch`: at most the sources its budget watches — its websocket users, then those its
    weight polls every `poll_staleness_s` (any number from a node's firehose: `watcher_capacity`)."""
    cap = watcher_capacity(
        settings,
        ws_users=budget.ws_users or 0,
        weight_per_min=budget.weight_per_min or 0,
        staleness_s=poll_staleness_s,
    )

    def make(ledger: Ledger, bus: Bus) -> Role:
        member = Member(
            ledger,
            LeaseKind.WATCHER,
            LeaseKind.SOURCE,
            name,
            heartbeat_s=heartbeat_s,
            keepalive=True,
            budget=budget,
            cap=cap,
        )
        return Watcher(settings, bus=bus, member=member, ledger=ledger, ws_users=budget.ws_users)

    return run_role(settings, "watch", make, duration_s, observers)


def copy_main(
    settings: Settings,
    *,
    name: str,
    heartbeat_s: float,
    budget: Budget,
    duration_s: float | None = None,
    observers: Sequence[Observer] = (),
) -> int:
    """`mirrorbot copy`: at most as many followers as the budget's weight per minute plans for."""

    def make(ledger: Ledger, bus: Bus) -> Role:
        weight = budget.weight_per_min
        member = Member(
            ledger,
            LeaseKind.WORKER,
            LeaseKind.FOLLOWER,
            name,
            heartbeat_s=heartbeat_s,
            keepalive=True,
            budget=budget,
            cap=None if weight is None else weight // FOLLOWER_WEIGHT_PER_MIN,
        )
        return CopyWorker(settings, bus=bus, member=member, ledger=ledger)

    return run_role(settings, "copy", make, duration_s, observers)


def control_main(
    settings: Settings,
    *,
    name: str,
    heartbeat_s: float,
    start_room: Callable[[Ledger, AlertBus], Awaitable[Any]] | None,
    duration_s: float | None = None,
    observers: Sequence[Observer] = (),
) -> int:
    """`mirrorbot control`: the control room and the cluster's watch."""

    def make(ledger: Ledger, bus: Bus) -> Role:
        member = Member(
            ledger, LeaseKind.CONTROL, LeaseKind.CONTROL, name, heartbeat_s=heartbeat_s, keepalive=True
        )
        return Control(settings, member, bus, ledger, start_room)

    return run_role(settings, "control", make, duration_s, observers)


def status_main(settings: Settings, *, as_json: bool) -> int:
    """`mirrorbot cluster status [--json]`."""
    refused = needs_bus(settings, "cluster status")
    if refused is not None:
        print(refused, file=sys.stderr)
        return 2

    async def main() -> str:
        ledger = await Ledger.open(settings.db_url)
        bus = Bus.from_url(settings.bus_url or "", max_len=settings.bus_stream_max_len)
        try:
            status = await cluster_status(ledger, settings.follower_venue.value, bus)
        finally:
            await ledger.close()
            await bus.close()
        return json.dumps(status.as_json(), indent=2) if as_json else render(status)

    try:
        print(asyncio.run(main()))
    except LedgerConfigError as exc:
        print(f"mirrorbot cluster status: {redact_text(str(exc))}", file=sys.stderr)
        return 2
    return 0
