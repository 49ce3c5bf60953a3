"""Per-position stop-loss / take-profit as venue trigger orders (SPEC §4, issue #5).

For each (follower, coin) with a non-zero position whose follow sets `stop_loss_pct` and/or
`take_profit_pct`, the `Protector` keeps exactly one reduce-only trigger order of each kind on the venue,
sized |position| and priced from the position's entry price (long: SL at entry·(1 − x %), TP at
entry·(1 + x %); short mirrored; rounded to the venue's price rules toward the entry). It is run after a
follower's position is known to have changed (`Settler.after_position`) and on every accounts refresh and
reconciliation pass (`sweep`), always under the pair's lock.

- A change of size or entry places the new trigger first, then cancels the old one by cloid: the position
  is never unprotected, and two reduce-only triggers can never together trade more than it holds.
- Cloids are derived from (follower, coin, "protect:<sl|tp>:<size>@<trigger px>", revision) like every
  decision's; a revision is skipped once the ledger has used its cloid. A restart loads the triggers the
  ledger saw resting and looks them up once; one placed but never recorded is refused by the venue as a
  duplicate when sent again, and the lookup that follows adopts it: one order per cloid, ever.
- Every placement is a CopyInstruction (`event_kind` "protect", the pair's τ and ρ₀ unchanged, `delta` the
  trade the trigger makes when it fires) → OrderIntent → VenueOrder; cancels and fires are VenueOrder
  statuses, a fire's fills are Fills. The intent is recorded once the venue has answered, so that a
  restart never resends a trigger as a plain order (docs/decisions/protect.md).
- A trigger that fired (looked up by cloid whenever the position no longer matches what the triggers
  protect, and on every reconciliation pass; its status shows a fill): its fills and the
  position are recorded, the pair is left `untracked` with τ = 0 — so neither the reconciliation pass nor
  the source's later increases re-open what the trigger closed, until the source's next open or flip —
  recorded as an instruction (`event_kind` stop_loss / take_profit, reason untracked), and the user is
  alerted (AlertKind.GUARD, reason stop_loss / take_profit).
- Flat, follow removed (unfollow, `stop`), or the setting switched off: both triggers are cancelled.
- A venue without trigger orders (`capabilities.trigger_orders` False: paper, GMX) is skipped with a
  logged reason, once per follow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Sequence
from dataclasses import replace
from typing import Any, Final

from bot.alerts import AlertKind
from bot.domain import AccountState, OrderResult, OrderStatus, Side, Tpsl
from bot.ledger import cloid_for, instruction_id
from bot.logs import log_event
from bot.pipeline.copier import Copier
from bot.pipeline.desk import Desk
from bot.pipeline.execute import now_ms
from bot.pipeline.oms import filled_part
from bot.pipeline.triggers import (
    EVENT_KIND,
    LABELS,
    MARKET_TRIGGER_SLIPPAGE,
    REASONS,
    Live,
    Wanted,
    pair_reason,
    parse_event_id,
    trigger_prices,
)
from strategies.model import PairState, Reason
from strategies.num import ZERO, plain
from strategies.orders import limit_price

__all__ = ["Protector"]

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S: Final = 30.0


class Protector:
    def __init__(self, copier: Copier) -> None:
        self.copier = copier
        self.oms = copier.oms  # every trigger is placed, cancelled and looked up there
        self.live: dict[tuple[str, str], dict[Tpsl, Live]] = {}
        self._loaded: set[str] = set()  # followers whose ledger-known triggers were adopted
        self._pending: set[tuple[str, str]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._told_skip: set[tuple[str, str]] = set()
        copier.settler.after_position.append(self.on_position)

    @property
    def idle(self) -> bool:
        """No protection pass is queued or running (tests, shutdown)."""
        return not self._tasks

    # --- entry points ------------------------------------------------------------------------------

    def on_position(self, desk: Desk, coin: str) -> None:
        """The settle hook: the follower's position in `coin` changed. The pass runs in its own task once
        the copier releases the pair's lock (the copy path never waits for it); hooks that come while
        one is queued join it. The pass reads the account itself: the entry price is the venue's."""
        key = (desk.address, coin)
        if key not in self._pending:
            self._pending.add(key)
            self._spawn(self._queued(desk, coin))

    async def sweep(self, *, verify: bool = False) -> None:
        """Every follower that may hold protection: read its account, protect every coin that needs it.
        `verify` also looks up triggers whose position did not move (one cancelled behind our back by the
        dead-man switch or by hand is replaced); the reconciliation pass asks for it."""
        desks = list(self.copier.desks.values())
        await self._load_known(desks)
        for desk in desks:
            if not self._concerns(desk):
                continue
            epochs = {coin: desk.epoch(coin) for coin in self.copier.markets}
            try:
                state = await self.copier.venue.account(desk.account.address)
            except Exception as exc:
                log_event(
                    log, "protect_read_failed", level=logging.WARNING, address=desk.address, error=repr(exc)
                )
                continue
            held = {p.coin for p in state.positions if p.size != 0}
            mine = {coin for (address, coin), live in self.live.items() if address == desk.address and live}
            for coin in sorted((held | mine) & set(self.copier.markets)):
                async with desk.lock(coin):
                    fresh = state if desk.epoch(coin) == epochs[coin] else None  # an order moved it since
                    await self._guarded(desk, coin, fresh, verify=verify)

    async def wait_idle(self) -> None:
        """Until no pass is queued or running (tests; a pass may queue another, which is awaited too)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def close(self) -> None:
        """Let queued passes finish (bounded), then cancel what is left."""
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=CLOSE_TIMEOUT_S)
            for task in late:
                task.cancel()
            for task in late:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    # --- one pair ----------------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _queued(self, desk: Desk, coin: str) -> None:
        async with desk.lock(coin):
            self._pending.discard((desk.address, coin))
            await self._load_known([desk])
            if self._concerns(desk):  # else no request at all: most followers set no protection
                await self._guarded(desk, coin, None)

    async def _guarded(
        self, desk: Desk, coin: str, state: AccountState | None, *, verify: bool = False
    ) -> None:
        """One pass for one pair (the caller holds its lock); a failure is alerted, never raised."""
        try:
            if state is None:
                state = await self.copier.venue.account(desk.account.address)
            await self._protect(desk, coin, state, verify)
        except Exception as exc:
            log.exception("protecting %s %s failed", desk.address, coin)
            self._alert(
                AlertKind.FAILURE, "protect_failed", f"{coin}: stop-loss / take-profit: {exc}", desk, coin
            )

    async def _protect(self, desk: Desk, coin: str, state: AccountState, verify: bool) -> None:
        live = self.live.setdefault((desk.address, coin), {})
        wanted = self._wanted(desk, coin, state)
        moved = any(_wanted_of(live.get(tpsl)) != wanted.get(tpsl) for tpsl in Tpsl)
        if not moved and not verify and all(item.checked for item in live.values()):
            return  # the position is what the triggers protect: nothing can have fired (no request)
        if await self._gone(desk, live):
            state = await self.copier.venue.account(desk.account.address)
            wanted = self._wanted(desk, coin, state)
        for tpsl in Tpsl:
            have, want = live.get(tpsl), wanted.get(tpsl)
            if _wanted_of(have) == want:
                continue  # as it should be (or nothing wanted and nothing there)
            if want is not None:
                placed = await self._place(desk, want)
                if placed is None:
                    # Refused, unknown, or it fired at once (the position moved: a new pass is queued).
                    # The old one (if any) stays until a pass places its replacement.
                    continue
                live[tpsl] = placed
            else:
                del live[tpsl]
            if have is not None:
                await self._cancel(desk, have)

    def _wanted(self, desk: Desk, coin: str, state: AccountState) -> dict[Tpsl, Wanted]:
        """The triggers the pair should have now (none: flat, not followed, off, or not supported)."""
        position = next((p for p in state.positions if p.coin == coin and p.size != 0), None)
        pair = desk.engine.pairs.get(coin)
        if position is None or pair is None or pair.source not in desk.engine.follows:
            return {}
        plan = desk.plan_for(pair.source)
        if plan is None or (plan.settings.stop_loss_pct is None and plan.settings.take_profit_pct is None):
            return {}
        if not self.copier.venue.capabilities.trigger_orders:
            if (desk.address, pair.source) not in self._told_skip:
                self._told_skip.add((desk.address, pair.source))
                log_event(
                    log,
                    "protect_skipped",
                    level=logging.WARNING,
                    follower=desk.address,
                    source=pair.source,
                    reason="venue_has_no_trigger_orders",
                    venue=self.copier.venue.capabilities.name,
                )
            return {}
        if position.entry_px is None or position.entry_px <= 0:
            log_event(log, "protect_waiting", follower=desk.address, coin=coin, reason="entry_price_unknown")
            return {}
        sz_decimals = self.copier.markets[coin].sz_decimals
        prices = trigger_prices(
            position.entry_px,
            position.size,
            sz_decimals=sz_decimals,
            stop_loss_pct=plan.settings.stop_loss_pct,
            take_profit_pct=plan.settings.take_profit_pct,
        )
        is_buy = position.size < 0
        size = abs(position.size)
        slip = MARKET_TRIGGER_SLIPPAGE  # the limit of a market trigger once fired
        return {
            tpsl: Wanted(
                coin,
                tpsl,
                is_buy,
                size,
                px,
                limit_price(px, is_buy=is_buy, slippage_cap=slip, sz_decimals=sz_decimals),
            )
            for tpsl, px in prices.items()
        }

    async def _gone(self, desk: Desk, live: dict[Tpsl, Live]) -> bool:
        """Look our triggers up by cloid: those no longer open fired (recorded, acted on) or were cancelled
        elsewhere (the dead-man switch, the user) and are forgotten. True if one fired."""
        fired = False
        for tpsl, item in sorted(live.items()):
            result = await self.oms.status(desk.account, item.cloid)
            if result.status is OrderStatus.RESTING:  # waiting (or triggered and still executing)
                live[tpsl] = replace(item, checked=True)
                continue
            del live[tpsl]
            if filled_part(result) > 0:
                await self._on_fired(desk, item, result)
                fired = True
            elif result.status in (OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.FILLED):
                await self.oms.record_status(item.cloid, result)
        return fired

    # --- venue actions -----------------------------------------------------------------------------

    async def _place(self, desk: Desk, want: Wanted) -> Live | None:
        """Place `want` under its deterministic cloid. The first revision the ledger has not used is the
        cloid; if the venue already knows it (placed before a stop cut the recording short, or an answer
        was lost), the venue refuses the duplicate and the lookup adopts what it holds."""
        revision = 0
        while True:
            ident = instruction_id(desk.address, want.coin, want.source_event_id, revision)
            if await self.copier.ledger.get_instruction(ident) is None:
                break
            revision += 1  # that cloid was used (cancelled, fired): the venue would refuse it again
        cloid = cloid_for(ident)
        sent_ms = now_ms()
        result = await self.oms.place_trigger(desk.account, want.request(cloid))
        if result.status in (OrderStatus.UNKNOWN, OrderStatus.NOT_FOUND):
            # Nothing is recorded: the next pass places the same cloid (a duplicate is refused, then adopted).
            log_event(log, "protect_unknown", level=logging.WARNING, cloid=cloid, error=result.error)
            return None
        # Recorded once the venue answered: a restart never resends a trigger as a plain order.
        pair = desk.engine.pairs.get(want.coin) or PairState(want.coin)
        draft = desk.draft(
            pair.source or "",
            want.coin,
            request=want.request,
            source_event_id=want.source_event_id,
            revision=revision,
            event_kind=EVENT_KIND,
            ratio=pair.ratio,
            target_before=pair.target,
            target_after=pair.target,
            position=desk.engine.position(want.coin),
            delta=want.size if want.is_buy else -want.size,
            reason=pair_reason(pair),
        )
        await self.oms.record([draft])
        await self.oms.record_status(cloid, result)
        item = Live(cloid, want, sent_ms, result.oid)
        if result.status is OrderStatus.REJECTED:
            self._alert(
                AlertKind.REJECTED,
                "protect_rejected",
                f"{want.coin}: the {LABELS[want.tpsl]} at {plain(want.trigger_px)} was refused: "
                f"{result.error}",
                desk,
                want.coin,
                desk.engine.pairs[want.coin].source if want.coin in desk.engine.pairs else None,
                cloid=cloid,
            )
            return None
        if filled_part(result) > 0:  # the price was already past the trigger: it fired at once
            await self._on_fired(desk, item, result)
            return None
        if result.status is not OrderStatus.RESTING:  # cancelled before we saw it: the next pass re-places
            return None
        log_event(
            log,
            "protect_placed",
            follower=desk.address,
            coin=want.coin,
            kind=want.tpsl.value,
            size=want.size,
            trigger_px=want.trigger_px,
            cloid=cloid,
        )
        return item

    async def _cancel(self, desk: Desk, item: Live) -> None:
        if await self.oms.cancel(desk.account, item.wanted.coin, item.cloid):
            result = OrderResult(OrderStatus.CANCELED, item.cloid, item.oid)
        else:  # what the venue says the order is now
            result = await self.oms.status(desk.account, item.cloid)
        if filled_part(result) > 0:  # it fired before the cancel reached it
            await self._on_fired(desk, item, result)
            return
        await self.oms.record_status(item.cloid, result)
        log_event(log, "protect_cancelled", follower=desk.address, coin=item.wanted.coin, cloid=item.cloid)

    # --- the ledger, the engine, the user ----------------------------------------------------------

    async def _on_fired(self, desk: Desk, item: Live, result: OrderResult) -> None:
        """A trigger fired: record its fills and the position, leave the pair untracked with τ = 0 (no
        re-open), record that decision and tell the user."""
        want, coin = item.wanted, item.wanted.coin
        reason = REASONS[want.tpsl]
        await self.oms.record_status(item.cloid, result)
        # Its fills into the ledger (by oid) and the position the venue reports now into the engine.
        await self.copier.settler.settle_from_venue(desk, want.request(item.cloid), result, item.placed_ms)
        held = desk.engine.pairs.get(coin)
        pair = desk.engine.untrack(coin)
        if pair is not None and pair.source is not None:
            fired = desk.draft(
                pair.source,
                coin,
                source_event_id=f"{reason}:{item.cloid}",
                event_kind=reason,
                ratio=None,
                target_before=pair.target,
                target_after=ZERO,
                position=desk.engine.position(coin),
                delta=ZERO,
                guards=[reason],
                reason=Reason.UNTRACKED.value,
            )
            await self.oms.record([fired])
            desk.out_of_sync.discard(coin)
        side = "bought" if want.is_buy else "sold"
        self._alert(
            AlertKind.GUARD,
            reason,
            f"{coin}: the {LABELS[want.tpsl]} at {plain(want.trigger_px)} fired: {side} "
            f"{plain(filled_part(result))}; not re-opened until the source opens or flips again",
            desk,
            coin,
            held.source if held is not None else None,
            cloid=item.cloid,
        )

    def _alert(
        self,
        kind: AlertKind,
        reason: str,
        message: str,
        desk: Desk,
        coin: str,
        source: str | None = None,
        **details: Any,
    ) -> None:
        self.copier.teller.alert(kind, reason, message, desk, source, coin, **details)

    # --- restart -----------------------------------------------------------------------------------

    def _concerns(self, desk: Desk) -> bool:
        """A follower needs a sweep if a follow of it asks for protection, or triggers of ours may stand."""
        asks = any(
            p.settings.active
            and (p.settings.stop_loss_pct is not None or p.settings.take_profit_pct is not None)
            for p in desk.plans.values()
        )
        return asks or any(live for (address, _), live in self.live.items() if address == desk.address)

    async def _load_known(self, desks: Sequence[Desk]) -> None:
        """Once per follower (after a restart, or loaded while running): the triggers the ledger last saw
        resting are ours to watch — one that fired while the bot was down is found (and acted on) by the
        next pass. The followers not loaded yet are read together (one query, not one each)."""
        fresh = [desk for desk in desks if desk.address not in self._loaded]
        if not fresh:
            return
        self._loaded.update(desk.address for desk in fresh)
        known = await self.copier.ledger.resting_orders_of([d.address for d in fresh], EVENT_KIND)
        for desk in fresh:
            for resting in known.get(desk.address, []):
                intent, event_id, oid = resting.intent, resting.source_event_id, resting.oid
                want = parse_event_id(intent.coin, event_id, intent.side == Side.BUY.value, intent.limit_px)
                if want is None:
                    continue
                live = self.live.setdefault((desk.address, intent.coin), {})
                older = live.get(want.tpsl)
                placed_ms = int(intent.created_at.timestamp() * 1000)
                live[want.tpsl] = Live(intent.cloid, want, placed_ms, oid, checked=False)
                if older is not None:  # a replacement whose cancel a stop cut short: cancel it now
                    await self._cancel(desk, older)


def _wanted_of(item: Live | None) -> Wanted | None:
    return item.wanted if item is not None else None
