"""Stage timestamps for the copy benchmarks: wrap named methods of the live pipeline's objects so each
call records (stage, start ns, end ns) on the wall clock the localnet also stamps with (`time.time_ns`,
one machine). Instrumentation only: the wrapped objects behave exactly as before (~1 µs per call)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from adapters.hyperliquid.signer import Signer
from bot.pipeline.runner import Runner


@dataclass(frozen=True, slots=True)
class Span:
    stage: str
    start_ns: int
    end_ns: int


@dataclass
class StageClock:
    spans: list[Span] = field(default_factory=list)
    _undo: list[Callable[[], None]] = field(default_factory=list)

    def wrap(self, owner: Any, method: str, stage: str) -> None:
        original = getattr(owner, method)
        spans = self.spans

        if _is_async(original):

            @functools.wraps(original)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                start = time.time_ns()
                try:
                    return await original(*args, **kwargs)
                finally:
                    spans.append(Span(stage, start, time.time_ns()))

            setattr(owner, method, timed_async)
        else:

            @functools.wraps(original)
            def timed(*args: Any, **kwargs: Any) -> Any:
                start = time.time_ns()
                try:
                    return original(*args, **kwargs)
                finally:
                    spans.append(Span(stage, start, time.time_ns()))

            setattr(owner, method, timed)
        self._undo.append(lambda: setattr(owner, method, original))

    def restore(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()

    def between(self, start_ns: int, end_ns: int) -> list[Span]:
        return [s for s in self.spans if start_ns <= s.start_ns <= end_ns]


def _is_async(fn: Any) -> bool:
    import inspect

    return inspect.iscoroutinefunction(fn)


# The ledger's transactions before a copied order is sent, in order (bot/pipeline/execute.py `Executor.run`).
LEDGER_WRITES = ("record_decisions", "mark_intents")


def instrument(runner: Runner) -> StageClock:
    """Time the stages of a copy: intake hand-off, the mids read (feed or HTTP), the ledger writes
    before the send, the decision (engine), signing, and the venue's `place` (signing + HTTP)."""
    clock = StageClock()
    assert runner.intake is not None and runner.copier is not None
    clock.wrap(runner.intake, "process", "intake.process")
    clock.wrap(runner.intake, "handler", "copier.on_changes")  # the copier's, bound at construction
    clock.wrap(runner.copier.venue, "mids", "venue.mids")
    clock.wrap(runner.copier.venue, "place", "venue.place")
    for method in LEDGER_WRITES:
        clock.wrap(runner.ledger, method, f"ledger.{method}")
    for desk in runner.copier.desks.values():
        clock.wrap(desk.engine, "on_change", "engine.on_change")
    clock.wrap(Signer, "sign_l1_body", "sign")
    return clock


def stage_sums(spans: Iterable[Span]) -> dict[str, int]:
    sums: dict[str, int] = {}
    for span in spans:
        sums[span.stage] = sums.get(span.stage, 0) + span.end_ns - span.start_ns
    return sums
