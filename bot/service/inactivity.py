"""Source inactivity (SPEC §12): a follow's `inactive_after` (days without a source fill, default 14)
and `inactive_policy` (`alert`, the default; `pause`; `unfollow_keep`; `unfollow_close`), and the one
rule that says a follow's source is inactive — the runner acts on it (bot/pipeline/inactivity.py),
`status` and Telegram's `/status` show it (`inactive_follows`).

The rule: the source has been quiet since the later of its last fill the ledger recorded (a leader
event) and the follow's current plan version; it is inactive once that is `inactive_after` ago. The
ledger is the record both the runner and a `status` in another process read, so they agree.
Decision: docs/decisions/inactivity.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from bot.ledger.models import FollowPlan
from bot.ledger.types import decimal_text
from bot.service import inputs

INACTIVE_POLICIES = ("alert", "pause", "unfollow_keep", "unfollow_close")
INACTIVE_KEYS = ("inactive_after", "inactive_policy")
INACTIVE_AFTER = inputs.Range(Decimal(0), Decimal(3650), "days without a source fill", open_low=True)
DEFAULT_AFTER_DAYS = Decimal(14)


@dataclass(frozen=True, slots=True)
class Inactivity:
    after_days: Decimal = DEFAULT_AFTER_DAYS
    policy: str = "alert"

    @property
    def after(self) -> timedelta:
        return timedelta(seconds=float(self.after_days * 86_400))


def read_inactivity(doc: Mapping[str, Any]) -> Inactivity:
    after = doc.get("inactive_after")
    policy = doc.get("inactive_policy")
    return Inactivity(
        DEFAULT_AFTER_DAYS if after is None else INACTIVE_AFTER.read(after, "inactive_after"),
        "alert" if policy is None else inputs.choice(policy, "inactive_policy", INACTIVE_POLICIES),
    )


def inactivity_json(value: Inactivity) -> dict[str, str]:
    return {"inactive_after": decimal_text(value.after_days), "inactive_policy": value.policy}


def quiet_since(last_fill: datetime | None, followed_at: datetime) -> datetime:
    """Since when the source has been quiet for this follow (never before the follow's version)."""
    return followed_at if last_fill is None else max(last_fill, followed_at)


@dataclass(frozen=True, slots=True)
class InactiveFollow:
    """An active follow whose source has not filled for its `inactive_after`."""

    follower: str
    source: str
    version: int
    since: datetime  # quiet since
    after_days: Decimal
    policy: str

    def describe(self, now: datetime) -> str:
        days = (now - self.since).total_seconds() / 86_400
        return (
            f"source {self.source} (followed by {self.follower}, plan v{self.version}): no fill since "
            f"{self.since:%Y-%m-%d %H:%M} UTC ({days:.1f} days; inactive after "
            f"{decimal_text(self.after_days)}), policy {self.policy}"
        )


def inactive_follows(
    plans: Iterable[tuple[FollowPlan, Inactivity]], last_fills: Mapping[str, datetime], now: datetime
) -> tuple[InactiveFollow, ...]:
    """The active follows (their plan and settings) whose source is inactive at `now`."""
    out = []
    for plan, inactivity in plans:
        since = quiet_since(last_fills.get(plan.source), plan.created_at)
        if now - since >= inactivity.after:
            out.append(
                InactiveFollow(
                    plan.follower, plan.source, plan.version, since, inactivity.after_days, inactivity.policy
                )
            )
    return tuple(out)


class _LastFills(Protocol):
    async def last_source_fills(self, sources: Iterable[str]) -> dict[str, datetime]: ...


async def inactive_now(
    ledger: _LastFills, plans: Iterable[FollowPlan], now: datetime
) -> tuple[InactiveFollow, ...]:
    """`status`'s view (CLI and Telegram): the active follows among `plans` (current versions) whose
    source is inactive now, by the ledger's record."""
    active = [(p, read_inactivity(p.settings)) for p in plans if p.settings.get("active", True)]
    if not active:
        return ()
    return inactive_follows(active, await ledger.last_source_fills({p.source for p, _ in active}), now)
