"""What a `Runner` is told: its schedule and limits (`RunnerOptions`), and what to start beside the
pipeline (`CompanionStarter`s: the `run` command passes the Telegram control room)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.config import Settings
from bot.pipeline.fills import FillReaderOptions
from bot.pipeline.oms import RetryPolicy


@dataclass(frozen=True, slots=True)
class RunnerOptions:
    plans_refresh_s: float = 5.0  # follows added or changed while running are picked up this fast
    accounts_refresh_s: float = 15.0  # equities (ρ(now)) and positions re-read from the venue
    reconcile_s: float = 60.0
    dead_man_rearm_s: float = 60.0  # the switch is re-armed this often …
    dead_man_horizon_s: float = 300.0  # … to cancel every open order this long after the last re-arm
    watch_restart_s: float = 2.0  # wait after the venue's watch failed, before restarting it
    fill_window_ms: int = 0  # FillCoalescer window (SPEC §2: configurable)
    quiet_ms: int = 0  # > 0: also wait this long after a fill for more (0: take what is queued, no wait)
    shutdown_timeout_s: float = 30.0  # in-flight sends get this long to finish
    inactivity_check_s: float = 600.0  # sources' inactivity checked this often (SPEC §12: days-long)
    vol_refresh_s: float = 3600.0  # σ of the coins read so far re-read this often (SPEC §10: hourly)
    price_recheck_s: float = 1.0  # decisions a price outlier holds are re-examined this often (SPEC §11)
    heartbeat_s: float = 5.0  # the health row (`mirrorbot status`) is rewritten this often
    # One runner per follower venue (bot/ledger/lease.py): a silent holder's lease is taken over after
    # `lease_stale_s` (None: MIRROR_LEASE_STALE_S); it is renewed `RENEWALS_PER_STALE` times within that.
    lease_stale_s: float | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    fills: FillReaderOptions = field(default_factory=FillReaderOptions)  # batched fills reads (issue #7)

    @classmethod
    def of_settings(cls, settings: Settings) -> RunnerOptions:
        """The defaults, with the schedule the settings set (MIRROR_ACCOUNTS_REFRESH_S, MIRROR_RECONCILE_S,
        MIRROR_DEAD_MAN_REARM_S)."""
        return cls(
            accounts_refresh_s=settings.accounts_refresh_s,
            reconcile_s=settings.reconcile_s,
            dead_man_rearm_s=settings.dead_man_rearm_s,
        )


class Companion(Protocol):
    """Something started beside the pipeline by `run()` once it is up (the Telegram control room: the
    `run` command passes it), and stopped before it stops."""

    async def stop(self) -> None: ...


# Starts a companion for the running `Runner`; None: nothing to run (e.g. no token set). A starter that
# cannot start reports it itself and returns None: copying matters more than what runs beside it.
CompanionStarter = Callable[[Any], Awaitable[Companion | None]]  # given the `Runner`
