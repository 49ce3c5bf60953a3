"""The guards as the copier meets them: equity readings in, a verdict before every order out, and the
follows a guard drops (a max-drawdown stop, a source's drawdown) for the copier to unfollow.

A trip is alerted once (kind `guard`, the reason code) and recorded in the book before anything acts
on it. The daily loss limit also pauses the follower's engine for the rest of the UTC day, so skipped
opens and increases are skipped the SPEC §4 way (τ unchanged) rather than owed; the check before every
order stays the backstop for every guard.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bot.alerts import Alert, AlertBus, AlertKind
from bot.domain import AccountState
from bot.pipeline.desk import Desk
from bot.risk.book import RiskBook
from bot.risk.guards import RiskLimits, RiskReason, utc_day
from strategies.model import Decision


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Drop:
    """A follow a guard ends: unfollow `source`, closing its positions or detaching them."""

    source: str
    close: bool
    reason: RiskReason


@dataclass
class RiskGate:
    book: RiskBook
    alerts: AlertBus
    clock: Callable[[], int] = wall_ms
    _paused: set[str] = field(default_factory=set)  # followers whose engine the daily limit paused

    @staticmethod
    def limits(desk: Desk) -> RiskLimits:
        """The follower's account-level limits: the tightest of its active follows."""
        return RiskLimits.strictest(p.settings.risk for p in desk.plans.values() if p.settings.active)

    def observe_follower(self, desk: Desk, state: AccountState) -> None:
        now = self.clock()
        limits = self.limits(desk)
        for reason in self.book.observe_follower(desk.address, state.equity, now, limits):
            self._alert(reason, _TRIPPED[reason].format(equity=state.equity), desk.address)
        paused = self.book.account(desk.address).paused_on(utc_day(now))
        if paused and not desk.engine.paused:
            desk.engine.set_paused(True)
            self._paused.add(desk.address)
        elif not paused and desk.address in self._paused:
            self._paused.discard(desk.address)  # a new UTC day: the pause this guard set is lifted
            desk.engine.set_paused(False)

    def observe_source(self, desks: Iterable[Desk], source: str, state: AccountState) -> None:
        """Track the source's peak; a follow whose source drawdown limit is passed is marked dropped."""
        self.book.observe_source(source, state.equity)
        for desk in desks:
            plan = desk.plan_for(source)
            if plan is None or source not in desk.engine.follows:
                continue
            limit = plan.settings.risk.source_max_drawdown
            if self.book.source_trips(desk.address, source, plan.version, state.equity, limit):
                self._alert(
                    RiskReason.SOURCE_DRAWDOWN,
                    f"source {source} fell more than {limit} below its peak equity (now {state.equity}): "
                    "unfollowed",
                    desk.address,
                    source,
                )

    def drops(self, desk: Desk) -> list[Drop]:
        """The follows a guard has ended that the engine still holds (also after a restart)."""
        stopped = self.book.account(desk.address).stopped
        close = self.limits(desk).closes_on_drawdown
        out: list[Drop] = []
        for source in sorted(desk.engine.follows):
            plan = desk.plan_for(source)
            if stopped:
                out.append(Drop(source, close, RiskReason.MAX_DRAWDOWN))
            elif plan is not None and self.book.is_dropped(desk.address, source, plan.version):
                out.append(
                    Drop(source, plan.settings.risk.max_drawdown_action != "keep", RiskReason.SOURCE_DRAWDOWN)
                )
        return out

    def screen(self, desk: Desk, decision: Decision, source: str) -> RiskReason | None:
        """The guard that forbids this decision's order now (None: send it). Alerted when it acts."""
        order = decision.order
        if order is None:
            return None
        plan = desk.plan_for(source)
        reason = self.book.block(
            desk.address,
            self.clock(),
            reduce_only=order.reduce_only,
            source=source,
            version=plan.version if plan else None,
            source_leverage=desk.engine.source_position(source, decision.coin).leverage,
            limits=plan.settings.risk if plan else None,
        )
        if reason is not None:
            self._alert(
                reason,
                f"{decision.coin}: order not sent ({reason.value})",
                desk.address,
                source,
                decision.coin,
            )
        return reason

    def reset(self, desk: Desk) -> None:
        """The user resumed after a trip: the follower's trips are cleared (its peak restarts)."""
        self.book.reset(desk.address)
        self._paused.discard(desk.address)

    def _alert(
        self,
        reason: RiskReason,
        message: str,
        follower: str,
        source: str | None = None,
        coin: str | None = None,
    ) -> None:
        self.alerts.publish(Alert(AlertKind.GUARD, reason.value, message, follower, source, coin))


_TRIPPED = {
    RiskReason.DAILY_LOSS_LIMIT: "daily loss limit reached (equity {equity}): no new exposure until 0:00 UTC",
    RiskReason.MAX_DRAWDOWN: "max drawdown from peak equity reached (equity {equity}): copying stopped",
    RiskReason.EQUITY_FLOOR: "equity {equity} is below the floor: mirroring suspended",
}
