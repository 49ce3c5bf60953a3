"""What the user is told about the copy: decisions skipped, deferred or lowered by a guard, orders copied,
refused or lost, follows started and stopped. The copy path's messages are worded here; the other parts
(plans, recovery, the protector) publish their few own through `Teller.alert`."""

from __future__ import annotations

from decimal import Decimal

from bot.alerts import Alert, AlertBus, AlertKind
from bot.domain import OrderRequest, OrderResult, OrderStatus
from bot.faults import IOC_PARTIAL, rejection_code
from bot.pipeline.desk import Desk
from strategies.model import SOURCE_EVENTS, Decision, Event, Market, Reason
from strategies.num import plain, q_lot

_SKIPS = frozenset(
    {
        Reason.PAUSED,
        Reason.LONG_ONLY,
        Reason.SHORT_ONLY,
        Reason.SOURCE_LEVERAGE_BELOW_MIN,
        Reason.PRICE_DEVIATION,
        Reason.HELD_BY_OTHER_SOURCE,
        Reason.NO_MID,
        Reason.NO_SOURCE_EQUITY,
        Reason.COPY_CURRENT_DEVIATION,
        Reason.ENTRY_PRICE_UNKNOWN,
    }
)
_TOLD = SOURCE_EVENTS | {Event.COPY_CURRENT, Event.FOLLOW}
CENT = Decimal("0.01")


class Teller:
    def __init__(self, alerts: AlertBus, markets: dict[str, Market]) -> None:
        self.alerts = alerts
        self.markets = markets

    def alert(
        self,
        kind: AlertKind,
        reason: str,
        message: str,
        desk: Desk | None,
        source: str | None,
        coin: str | None,
        **details: object,
    ) -> None:
        self.alerts.publish(
            Alert(kind, reason, message, desk.address if desk else None, source, coin, dict(details))
        )

    def failure(self, desk: Desk, coin: str, source: str, exc: Exception) -> None:
        """A pair's decision or order failed (the pair is out of sync)."""
        strategy = desk.strategy_for(source)  # per-strategy error rates (the ops port's metrics)
        self.alert(
            AlertKind.FAILURE,
            type(exc).__name__,
            f"copying {coin} failed: {exc}",
            desk,
            source,
            coin,
            strategy=strategy,
        )

    def price_outlier_held(
        self, desk: Desk, source: str, coin: str, mid: Decimal | None, ref: Decimal | None
    ) -> None:
        """A decision held by a price outlier (SPEC §11) past the alert delay (told once per hold)."""
        message = (
            f"{coin}: order held for a price outlier (mid {mid if mid is not None else 'unknown'}, "
            f"venue reference {ref if ref is not None else 'unknown'}); sent once the price confirms"
        )
        self.alert(AlertKind.FAULT, "price_outlier", message, desk, source, coin)

    def decision(self, desk: Desk, decision: Decision, source: str, revision: int, decision_id: str) -> None:
        """A first decision on a source event, a follow or Copy Current that sends nothing (deferred
        below the minimum, skipped for a reason) or whose target a guard lowered; each with the
        decision's id (the chat shows it for `/why`)."""
        if decision.event not in _TOLD or revision > 0:
            return
        reason, coin = decision.reason, decision.coin
        if decision.order is None and reason is Reason.DEFERRED_MIN_NOTIONAL:
            mid = desk.engine.mids.get(coin)
            usd = None if mid is None else abs(decision.target - decision.position) * mid
            worth = "" if usd is None else f" (about ${usd.quantize(CENT):,})"
            self.alert(
                AlertKind.DEFERRED,
                reason.value,
                f"{coin}: the order to target {self._lots(decision)}{worth} is below the venue's minimum "
                "order value; it is sent once large enough",
                desk,
                source,
                coin,
                usd=usd,
                decision=decision_id,
            )
        elif decision.order is None and reason in _SKIPS:
            assert reason is not None
            message = f"{coin}: not copied ({reason.value})"
            self.alert(AlertKind.SKIPPED, reason.value, message, desk, source, coin, decision=decision_id)
        for guard in decision.guards:
            if decision.order is None and guard is reason and reason in _SKIPS:
                continue  # the skip above told it (a paused open: one message, not two)
            message = f"{coin}: {guard.value} lowered the target"
            self.alert(AlertKind.GUARD, guard.value, message, desk, source, coin, decision=decision_id)

    def _lots(self, decision: Decision) -> str:
        """τ as the venue would trade it (whole lots): the exact τ carries up to 60 digits."""
        market = self.markets.get(decision.coin)
        return plain(q_lot(decision.target, market.sz_decimals)) if market else plain(decision.target)

    def copied(
        self,
        desk: Desk,
        decision: Decision,
        source: str,
        request: OrderRequest,
        result: OrderResult,
        filled: Decimal,
    ) -> None:
        side = "bought" if request.is_buy else "sold"
        message = f"{side} {filled} {request.coin} at {result.avg_px}"
        self.alert(
            AlertKind.COPIED,
            decision.event.value,
            message,
            desk,
            source,
            request.coin,
            cloid=request.cloid,
            # what the chat shows: the value in USD, and whether it reduced (its realised PnL)
            filled=filled,
            avg_px=result.avg_px,
            is_buy=request.is_buy,
            before=decision.position,
        )

    def order_failed(self, desk: Desk, source: str, request: OrderRequest, result: OrderResult) -> None:
        """The venue refused the order (docs/faults.md: margin, tick, reduce-only …) or never answered."""
        coin, cloid = request.coin, request.cloid
        if result.status is OrderStatus.REJECTED:
            code = rejection_code(result.error)
            self.alert(AlertKind.REJECTED, code, result.error or "rejected", desk, source, coin, cloid=cloid)
        else:
            message = result.error or "no answer"
            self.alert(AlertKind.UNKNOWN_OUTCOME, "order_unknown", message, desk, source, coin, cloid=cloid)

    def ioc_partial(self, desk: Desk, source: str, request: OrderRequest, retried: bool) -> None:
        """An IOC left part unfilled: retried at a fresh mid, or not (its retries are spent)."""
        then = "retried at a fresh mid" if retried else "not retried again"
        told = f"{request.coin}: the IOC left part unfilled; {then}"
        self.alert(AlertKind.FAULT, IOC_PARTIAL, told, desk, source, request.coin, cloid=request.cloid)

    def ioc_unfilled(self, desk: Desk, source: str, request: OrderRequest, attempts: int) -> None:
        """The IOC's retries are spent: the pair is off target."""
        coin = request.coin
        message = f"{coin}: the order was not filled in full after {attempts} attempts"
        self.alert(AlertKind.OUT_OF_SYNC, "ioc_unfilled", message, desk, source, coin, cloid=request.cloid)

    @staticmethod
    def following(reason: str, message: str, desk: Desk, source: str, version: int) -> Alert:
        """A `following` alert (copying started / stopped), published by the runner once the watch matches."""
        return Alert(AlertKind.FOLLOWING, reason, message, desk.address, source, None, {"version": version})
