"""Readiness: a set of named checks a process registers and updates, served as `/readyz`.

`/healthz` says the process is alive; `/readyz` that it can do its job: every registered check passes.
`mirrorbot run` sets its checks from the runner's own (bot/pipeline/readiness.py: the facts `status`
and `/health` read too); another role registers and sets its own. A check not yet known to pass fails.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.pipeline.readiness import NOT_CHECKED, Check, checks_doc

__all__ = ["Check", "Readiness"]


class Readiness:
    def __init__(self, names: tuple[str, ...] = ()) -> None:
        self.checks: dict[str, Check] = {}
        for name in names:
            self.register(name)

    def register(self, name: str, detail: str = NOT_CHECKED) -> None:
        self.checks.setdefault(name, Check(False, detail))

    def set(self, name: str, ok: bool, detail: str = "") -> None:
        self.checks[name] = Check(ok, detail)

    def update(self, checks: Mapping[str, Check]) -> None:
        self.checks.update(checks)

    @property
    def ready(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks.values())

    def doc(self) -> dict[str, object]:
        return checks_doc(self.checks)
