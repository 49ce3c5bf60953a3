"""Readiness: a set of named checks a process registers and updates, served as `/readyz`.

`/healthz` says the process is alive; `/readyz` that it can do its job: every registered check passes
(for `mirrorbot run`: venue reachable, ledger writable, websockets up, dead-man switch armed; another
role registers its own). A check not yet known to pass is failing: a runner still waiting for its
venue is not ready.
"""

from __future__ import annotations

from dataclasses import dataclass

VENUE = "venue"
LEDGER = "ledger"
WEBSOCKETS = "websockets"
DEAD_MAN = "dead_man_switch"
RUNNER_CHECKS = (VENUE, LEDGER, WEBSOCKETS, DEAD_MAN)


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    detail: str = ""


class Readiness:
    def __init__(self, names: tuple[str, ...] = ()) -> None:
        self.checks: dict[str, Check] = {}
        for name in names:
            self.register(name)

    def register(self, name: str, detail: str = "not checked yet") -> None:
        self.checks.setdefault(name, Check(False, detail))

    def set(self, name: str, ok: bool, detail: str = "") -> None:
        self.checks[name] = Check(ok, detail)

    @property
    def ready(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks.values())

    def doc(self) -> dict[str, object]:
        return {
            "ready": self.ready,
            "checks": {n: {"ok": c.ok, "detail": c.detail} for n, c in sorted(self.checks.items())},
        }
