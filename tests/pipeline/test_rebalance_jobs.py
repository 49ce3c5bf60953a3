"""The runner's rebalance jobs (`Jobs.keep`): one per allocation follow, added, rescheduled when its
interval changes and removed when the follow ends, leaving the runner's other jobs alone."""

from __future__ import annotations

from bot.alerts import AlertBus
from bot.pipeline.jobs import Jobs


async def _held() -> bool:
    return True


async def _job() -> None:
    return None


def _intervals(jobs: Jobs) -> dict[str, float]:
    assert jobs.scheduler is not None
    return {job.id: job.trigger.interval.total_seconds() for job in jobs.scheduler.get_jobs()}


async def test_keep_adds_reschedules_and_removes_only_its_own_jobs() -> None:
    jobs = Jobs(AlertBus(), _held)
    jobs.keep("rebalance:", {"rebalance:a": (5, _job)})  # before start: nothing to schedule on yet
    assert jobs.scheduler is None
    jobs.start([("plans", 5.0, _job)])
    try:
        jobs.keep("rebalance:", {"rebalance:a": (900, _job), "rebalance:b": (60, _job)})
        assert _intervals(jobs) == {"plans": 5.0, "rebalance:a": 900.0, "rebalance:b": 60.0}
        jobs.keep("rebalance:", {"rebalance:a": (30, _job)})
        assert _intervals(jobs) == {"plans": 5.0, "rebalance:a": 30.0}
        jobs.keep("rebalance:", {})
        assert _intervals(jobs) == {"plans": 5.0}
    finally:
        jobs.stop()
    jobs.keep("rebalance:", {"rebalance:a": (5, _job)})  # once stopping: nothing is scheduled
