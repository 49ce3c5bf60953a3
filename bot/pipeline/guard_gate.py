"""The runtime guards (SPEC §4) as the copier meets them: equity readings in, a verdict before every
order out, and the follows a guard drops (a max-drawdown stop, a source's drawdown) for the copier to
unfollow. Named `guard_gate` (not `gate`) apart from bot/telegram/gate.py, the room's access gate; it
lives in the pipeline because it acts on a `Desk` — the pure rules stay in bot/risk (guards, book).

A trip is alerted once (kind `guard`, the reason code) and recorded in the book before anything acts
on it. The daily loss limit also pauses the follower's engine for the rest of the UTC day, so skipped
opens and increases are skipped the SPEC §4 way (τ unchanged) rather than owed; the check before every
order stays the backstop for every guard. The user's pause (pause, stop) is kept apart from the
daily-loss pause: the engine is paused while either holds, and a new UTC day lifts only the guard's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from bot.alerts import Alert, AlertBus, AlertKind
from bot.domain import AccountState
from bot.pipeline.desk import Desk
from bot.risk.book import RiskBook
from bot.risk.guards import RiskLimits, RiskReason, source_leverage_trips, utc_day
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
    _manual: set[str] = field(default_factory=set)  # followers the user paused (pause, stop)

    @staticmethod
    def limits(desk: Desk) -> RiskLimits:
        """The follower's account-level limits: the tightest of its active follows."""
        return RiskLimits.strictest(p.settings.risk for p in desk.plans.values() if p.settings.active)

    async def adopt(self, followers: Collection[str]) -> None:
        """The followers this process takes on: their guard state as its store keeps it (a store shared
        by several processes: bot/cluster/guard_state.py), before their equity is read."""
        await self.book.store.adopt(self.book, followers)

    def let_go(self, followers: Collection[str]) -> None:
        """The followers this process dropped: their book state is no longer its to keep. (The user's
        pause stays noted: a follower loaded again finds it, unless a control row since says otherwise.)"""
        self.book.store.let_go(self.book, followers)

    def observe_follower(self, desk: Desk, state: AccountState) -> None:
        now = self.clock()
        limits = self.limits(desk)
        for reason in self.book.observe_follower(desk.address, state.equity, now, limits):
            self._alert(reason, _TRIPPED[reason].format(equity=state.equity), desk.address)
        if self.book.account(desk.address).paused_on(utc_day(now)):
            self._paused.add(desk.address)
        else:
            self._paused.discard(desk.address)  # a new UTC day: only the pause this guard set is lifted
        self._apply_pause(desk)

    def set_paused(self, desk: Desk, paused: bool) -> None:
        """The user's pause (or stop), kept apart from the daily-loss pause: neither lifts the other."""
        if paused:
            self._manual.add(desk.address)
        else:
            self._manual.discard(desk.address)
        self._apply_pause(desk)

    def resume(self, desk: Desk) -> list[RiskReason]:
        """The user resumed: their pause is lifted and the account guards' trips with it — the losses
        so far are acknowledged, the equity floor is re-checked against the last equity read (still
        below: the suspension stays, and is returned and alerted)."""
        now = self.clock()
        equity = desk.engine.equity or None
        holding = self.book.resume(desk.address, equity, now, self.limits(desk))
        self._paused.discard(desk.address)
        self.set_paused(desk, False)
        for reason in holding:
            self._alert(reason, f"resumed, but {_HOLDING[reason].format(equity=equity)}", desk.address)
        return holding

    def _apply_pause(self, desk: Desk) -> None:
        desk.engine.set_paused(desk.address in self._manual or desk.address in self._paused)

    def observe_source(self, desks: Iterable[Desk], source: str, state: AccountState) -> None:
        """Track the source's peak; a follow whose source drawdown limit or leverage cap is passed is
        marked dropped (carried out by `drops`)."""
        self.book.observe_source(source, state.equity)
        for desk in desks:
            plan = desk.plan_for(source)
            config = desk.engine.follows.get(source)
            if plan is None or config is None:
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
            for p in state.positions:
                if config.filters.covers(p.coin) and p.leverage:
                    self._leverage_trip(desk, source, p.coin, Decimal(p.leverage))

    def _leverage_trip(self, desk: Desk, source: str, coin: str, leverage: Decimal | None) -> None:
        """The source runs `coin` above this follow's leverage cap: the follow is dropped (once)."""
        plan = desk.plan_for(source)
        cap = None if plan is None else plan.settings.risk.source_leverage_cap
        if plan is None or not source_leverage_trips([leverage], cap):
            return
        if self.book.drop(desk.address, source, plan.version, RiskReason.SOURCE_LEVERAGE_CAP):
            self._alert(
                RiskReason.SOURCE_LEVERAGE_CAP,
                f"source {source} runs {coin} at {leverage}x, above the cap {cap}x: unfollowed",
                desk.address,
                source,
                coin,
            )

    def drops(self, desk: Desk) -> list[Drop]:
        """The follows a guard has ended that the engine still holds (also after a restart)."""
        stopped = self.book.account(desk.address).stopped
        close = self.limits(desk).closes_on_drawdown
        out: list[Drop] = []
        for source in sorted(desk.engine.follows):
            plan = desk.plan_for(source)
            reason = None if plan is None else self.book.drop_reason(desk.address, source, plan.version)
            if stopped:
                out.append(Drop(source, close, RiskReason.MAX_DRAWDOWN))
            elif plan is not None and reason is not None:
                out.append(Drop(source, plan.settings.risk.max_drawdown_action != "keep", reason))
        return out

    def screen(self, desk: Desk, decision: Decision, source: str) -> RiskReason | None:
        """The guard that forbids this decision's order now (None: send it). Alerted when it acts.
        New exposure while the source runs above the follow's leverage cap drops the follow here and
        now (its unfollow then closes or detaches the pair, so no skipped growth stays in τ)."""
        order = decision.order
        if order is None:
            return None
        plan = desk.plan_for(source)
        if not order.reduce_only:
            self._leverage_trip(
                desk, source, decision.coin, desk.engine.source_position(source, decision.coin).leverage
            )
        reason = self.book.block(
            desk.address,
            self.clock(),
            reduce_only=order.reduce_only,
            source=source,
            version=plan.version if plan else None,
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
        """Trips cleared with no equity to rebase on (tools, tests); a resume calls `resume`."""
        self.book.reset(desk.address)
        self._paused.discard(desk.address)
        self._apply_pause(desk)

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
_HOLDING = {RiskReason.EQUITY_FLOOR: "equity {equity} is still below the floor: mirroring stays suspended"}
