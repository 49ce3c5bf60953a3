"""The runtime guards as pure rules: no I/O, no clock (the caller passes the time), exact decimals.

Account guards watch the follower's equity (the venue's account value: realised and unrealised PnL
both move it): a **daily loss limit** measured from the UTC day's start equity pauses new exposure for
the rest of the day; a **max drawdown** from the peak equity stops copying (latched until reset); an
**equity floor** suspends every order (latched until reset). Source guards: a source whose equity
falls more than a fraction below its peak, or whose leverage in a followed coin goes above a cap, is
dropped (auto-unfollow with an alert). The per-follow filter "maximum source leverage to copy" is a
different thing: it lowers τ in the engine (strategies/config.py), it never unfollows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

DRAWDOWN_ACTIONS = ("close", "keep")  # what a max-drawdown stop does with the mirrored positions


class RiskReason(StrEnum):
    """Reason codes of the runtime guards (ledger, alerts, status)."""

    DAILY_LOSS_LIMIT = "daily_loss_limit"
    MAX_DRAWDOWN = "max_drawdown"
    EQUITY_FLOOR = "equity_floor"
    SOURCE_DRAWDOWN = "source_drawdown"
    SOURCE_LEVERAGE_CAP = "source_leverage_cap"
    PRICE_OUTLIER = "price_outlier"  # the mid is contradicted by the venue's reference: held (SPEC §11)


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """One follow's runtime limits (None = off). Fractions are of the reference equity (0.05 = 5 %)."""

    daily_loss_limit: Decimal | None = None  # of the UTC day's start equity
    max_drawdown: Decimal | None = None  # of the follower's peak equity
    max_drawdown_action: str | None = None  # close (default) / keep
    equity_floor: Decimal | None = None  # USD
    source_max_drawdown: Decimal | None = None  # of the source's peak equity → auto-unfollow
    source_leverage_cap: Decimal | None = None  # the source above it in a followed coin → auto-unfollow

    @property
    def closes_on_drawdown(self) -> bool:
        return self.max_drawdown_action != "keep"

    @classmethod
    def strictest(cls, limits: Iterable[RiskLimits]) -> RiskLimits:
        """The account-level limits of a follower with several follows: the tightest of each."""
        items = list(limits)

        def low(name: str) -> Decimal | None:
            values = [v for v in (getattr(x, name) for x in items) if v is not None]
            return min(values) if values else None

        floors = [x.equity_floor for x in items if x.equity_floor is not None]
        keep = bool(items) and all(
            x.max_drawdown_action == "keep" for x in items if x.max_drawdown is not None
        )
        return cls(
            daily_loss_limit=low("daily_loss_limit"),
            max_drawdown=low("max_drawdown"),
            max_drawdown_action="keep" if keep and low("max_drawdown") is not None else None,
            equity_floor=max(floors) if floors else None,
            source_max_drawdown=low("source_max_drawdown"),
            source_leverage_cap=low("source_leverage_cap"),
        )


@dataclass(frozen=True, slots=True)
class AccountRisk:
    """A follower's guard state; persisted so a restart neither forgets a trip nor resets the peak."""

    day: str | None = None  # the UTC day (YYYY-MM-DD) `day_start_equity` belongs to
    day_start_equity: Decimal | None = None
    peak_equity: Decimal | None = None
    daily_loss_day: str | None = None  # the day whose loss limit tripped (new exposure paused that day)
    stopped: bool = False  # max drawdown tripped: copying stopped
    suspended: bool = False  # equity floor tripped: no order at all

    def paused_on(self, day: str) -> bool:
        return self.daily_loss_day == day

    def reset(self) -> AccountRisk:
        """Trips cleared, the peak restarts from the next reading (no equity known to rebase on)."""
        return replace(self, daily_loss_day=None, stopped=False, suspended=False, peak_equity=None)

    def tripped(self, day: str) -> list[RiskReason]:
        """The account guards holding now (for a resume's answer and status)."""
        held = [RiskReason.EQUITY_FLOOR] if self.suspended else []
        held += [RiskReason.MAX_DRAWDOWN] if self.stopped else []
        return held + ([RiskReason.DAILY_LOSS_LIMIT] if self.paused_on(day) else [])


def utc_day(now_ms: int) -> str:
    return datetime.fromtimestamp(now_ms / 1000, UTC).date().isoformat()


def observe_equity(
    state: AccountRisk, equity: Decimal, now_ms: int, limits: RiskLimits
) -> tuple[AccountRisk, list[RiskReason]]:
    """Fold one equity reading into the state; returns the new state and the guards that tripped now."""
    day = utc_day(now_ms)
    if state.day != day:
        state = replace(state, day=day, day_start_equity=equity)
    peak = equity if state.peak_equity is None else max(state.peak_equity, equity)
    state = replace(state, peak_equity=peak)
    tripped: list[RiskReason] = []
    start = state.day_start_equity
    if (
        limits.daily_loss_limit is not None
        and start is not None
        and not state.paused_on(day)
        and start > equity
        and start - equity >= limits.daily_loss_limit * start
    ):
        state = replace(state, daily_loss_day=day)
        tripped.append(RiskReason.DAILY_LOSS_LIMIT)
    drawdown = limits.max_drawdown
    if drawdown is not None and not state.stopped and peak > equity and peak - equity >= drawdown * peak:
        state = replace(state, stopped=True)
        tripped.append(RiskReason.MAX_DRAWDOWN)
    if limits.equity_floor is not None and not state.suspended and equity < limits.equity_floor:
        state = replace(state, suspended=True)
        tripped.append(RiskReason.EQUITY_FLOOR)
    return state, tripped


def resume_account(
    state: AccountRisk, equity: Decimal | None, now_ms: int, limits: RiskLimits
) -> tuple[AccountRisk, list[RiskReason]]:
    """The user resumed: the losses so far are acknowledged (the day's start and the peak restart from
    the equity now), so the daily-loss pause and the drawdown stop are lifted; the equity floor is
    re-checked, never lifted blindly (an unknown equity keeps a suspension). Returns the new state and
    the guards still holding."""
    if equity is None:
        kept = replace(state, daily_loss_day=None, stopped=False, peak_equity=None)
        return kept, [RiskReason.EQUITY_FLOOR] if kept.suspended else []
    below = limits.equity_floor is not None and equity < limits.equity_floor
    state = replace(
        state,
        day=utc_day(now_ms),
        day_start_equity=equity,
        peak_equity=equity,
        daily_loss_day=None,
        stopped=False,
        suspended=below,
    )
    return state, [RiskReason.EQUITY_FLOOR] if below else []


def account_block(state: AccountRisk, now_ms: int, *, reduce_only: bool) -> RiskReason | None:
    """Why an order may not be sent now (None = it may). Reductions and closes pass a daily-loss
    pause and a drawdown stop (the stop's own closes are reductions); the equity floor stops all."""
    if state.suspended:
        return RiskReason.EQUITY_FLOOR
    if reduce_only:
        return None
    if state.stopped:
        return RiskReason.MAX_DRAWDOWN
    if state.paused_on(utc_day(now_ms)):
        return RiskReason.DAILY_LOSS_LIMIT
    return None


def source_leverage_trips(leverages: Iterable[Decimal | None], cap: Decimal | None) -> bool:
    """The source runs above the leverage cap in some coin the follow covers (unknown leverage passes)."""
    return cap is not None and any(lev is not None and lev > cap for lev in leverages)


def source_drawdown_trips(peak: Decimal | None, equity: Decimal, limit: Decimal | None) -> bool:
    return limit is not None and peak is not None and peak > equity and peak - equity >= limit * peak
