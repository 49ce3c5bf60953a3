"""Whether a running pipeline can do its job, as named checks: the one set of facts that the ops port's
`/readyz` (bot/ops), `mirrorbot status` and Telegram's `/health` (through the health row) all read.

- `venue`: the venue answered at start-up and every source watch is running;
- `ledger`: the runner's lease is held (renewed, a ledger write, within MIRROR_LEASE_STALE_S);
- `websockets`: every source websocket is connected (none open: polling only, passes);
- `dead_man_switch`: every follower's scheduled cancel is armed into the future (a venue without one
  passes).
A check not yet known to pass fails: a runner still waiting for its venue is not ready.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain import Venue
from bot.ledger.lease import Lease
from bot.pipeline.sources import SourceWatch
from bot.pipeline.venue_wait import VenueWait

VENUE = "venue"
LEDGER = "ledger"
WEBSOCKETS = "websockets"
DEAD_MAN = "dead_man_switch"
RUNNER_CHECKS = (VENUE, LEDGER, WEBSOCKETS, DEAD_MAN)
NOT_CHECKED = "not checked yet"


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    detail: str = ""

    def doc(self) -> dict[str, Any]:
        return {"ok": self.ok, "detail": self.detail}


def runner_checks(
    *,
    venue: Venue | None,
    venue_wait: VenueWait,
    started: bool,
    watches: Mapping[str, SourceWatch],
    lease: Lease | None,
    followers: Iterable[str],
    armed_until: Mapping[str, str],
    now: datetime,
) -> dict[str, Check]:
    """The runner's checks now. `armed_until`: follower → its dead-man switch's time (ISO, UTC)."""
    checks = dict.fromkeys(RUNNER_CHECKS, Check(False, NOT_CHECKED))
    checks[VENUE] = venue_check(watches, started, venue_wait.detail)
    if lease is not None:
        if lease.lost is not None:
            checks[LEDGER] = Check(False, "runner lease lost")
        elif lease.epoch is None:
            checks[LEDGER] = Check(False, "runner lease not held")
        else:
            checks[LEDGER] = Check(True, f"lease held (epoch {lease.epoch})")
    if venue is None:
        return checks
    checks[WEBSOCKETS] = websockets_check(venue)
    if not venue.capabilities.schedule_cancel:
        checks[DEAD_MAN] = Check(True, "the venue has none")
    elif started:
        names = list(followers)
        missing = [a for a in names if a not in armed_until or datetime.fromisoformat(armed_until[a]) <= now]
        detail = f"{len(missing)} follower(s) not armed" if missing else f"{len(names)} follower(s) armed"
        checks[DEAD_MAN] = Check(not missing, detail)
    return checks


def venue_check(watches: Mapping[str, SourceWatch], started: bool, waiting: str) -> Check:
    """`venue`: it answered at start-up (`started`) and every source watch is running (`waiting`: what
    start-up is at meanwhile). A watcher of the distributed roles reads the same rule."""
    stopped = sorted(name for name, w in watches.items() if w.watching and not w.running)
    if stopped:
        return Check(False, f"source watch stopped: {', '.join(stopped)}")
    if started:
        return Check(True, "answered; source watches running")
    return Check(False, waiting)  # start-up: waiting for a venue that is down, or still starting


def websockets_check(venue: Venue) -> Check:
    """`websockets`: every source websocket of the venue's client is connected (none open: passes)."""
    sockets = getattr(venue, "sockets", [])  # the Hyperliquid client's live watches
    down = sum(1 for s in sockets if not s.connected.is_set())
    detail = f"{len(sockets) - down}/{len(sockets)} connected" if sockets else "none open (polling)"
    return Check(down == 0, detail)


def checks_doc(checks: Mapping[str, Check]) -> dict[str, Any]:
    """The checks as the health row and `/readyz` write them."""
    return {
        "ready": bool(checks) and all(c.ok for c in checks.values()),
        "checks": {name: c.doc() for name, c in sorted(checks.items())},
    }
