"""The runner's periodic jobs (APScheduler) and the tasks they run.

A job is skipped once the runner is stopping, and while this runner no longer holds the ledger's lease
(another runner may be sending: the lease's loss stops this one). A job's failure is logged and alerted
(`job_<name>`), never raised: the next run tries again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]

from bot.alerts import Alert, AlertBus, AlertKind

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]


class Jobs:
    def __init__(self, alerts: AlertBus, held: Callable[[], Awaitable[bool]]) -> None:
        self.alerts = alerts
        self.held = held  # whether this runner still holds the lease
        self.scheduler: AsyncIOScheduler | None = None
        self.tasks: set[asyncio.Task[Any]] = set()  # running jobs and spawned tasks
        self.stopping = False

    def start(self, jobs: Sequence[tuple[str, float, Job]]) -> None:
        """Every job with a positive interval, each at most one at a time (a late run is coalesced)."""
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        for name, seconds, job in jobs:
            if seconds > 0:
                self.scheduler.add_job(
                    self._guarded(name, job),
                    "interval",
                    seconds=seconds,
                    id=name,
                    max_instances=1,
                    coalesce=True,
                )
        self.scheduler.start()

    def keep(self, prefix: str, wanted: Mapping[str, tuple[float, Job]]) -> None:
        """The jobs named `prefix…` become exactly `wanted` (name → interval, job): new ones are added,
        one whose interval changed is rescheduled, one no longer wanted is removed. Before `start` (or
        once stopping) nothing is scheduled."""
        if self.scheduler is None or self.stopping:
            return
        for job in self.scheduler.get_jobs():
            if job.id.startswith(prefix) and job.id not in wanted:
                job.remove()
        for name, (seconds, job_fn) in wanted.items():
            current = self.scheduler.get_job(name)
            if current is not None and current.trigger.interval.total_seconds() == seconds:
                continue
            self.scheduler.add_job(
                self._guarded(name, job_fn),
                "interval",
                seconds=seconds,
                id=name,
                max_instances=1,
                coalesce=True,
                replace_existing=True,
            )

    def spawn(self, coro: Coroutine[Any, Any, object]) -> None:
        """A task the runner's stop waits for, like a job."""
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def stop(self) -> list[asyncio.Task[Any]]:
        """No job starts from now on; the tasks still running (for the caller to await)."""
        self.stopping = True
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        return [t for t in self.tasks if not t.done()]

    def _guarded(self, name: str, job: Job) -> Callable[[], Coroutine[Any, Any, None]]:
        async def run() -> None:
            if self.stopping:
                return
            task = asyncio.current_task()
            if task is not None:
                self.tasks.add(task)
            try:
                if not await self.held():
                    return  # another runner has this ledger now: the lease's loss stops this one
                await job()
            except Exception as exc:
                log.exception("job %s failed", name)
                self.alerts.publish(Alert(AlertKind.FAILURE, f"job_{name}", f"{name} failed: {exc}"))
            finally:
                if task is not None:
                    self.tasks.discard(task)

        return run
