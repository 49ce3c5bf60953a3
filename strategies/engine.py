"""One follower's copy engine: its follows, its pairs and the decisions they produce.

The engine is a plain object fed observations (equities, mids, the follower's positions, source
changes) and asked for decisions; it does no I/O and reads no clock. Each decision goes through the
same stages: the state machine (`strategies.mirror`), growth screening (pause, filters, price
deviation), caps (`strategies.guards`) and orders from targets (`strategies.orders`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from strategies.allocation import AllocationSizing, gate, retarget
from strategies.config import FollowConfig
from strategies.guards import cap_target, price_deviation_blocks
from strategies.mirror import Growth, Transition, advance, classify, join, skip
from strategies.model import Change, Decision, Event, Market, OrderPlan, PairState, Reason, Status
from strategies.num import ONE, ZERO, add, mag, mul, q_lot, sub
from strategies.orders import DEFAULT_MIN_NOTIONAL, plan_order
from strategies.sizing import SizingInputs, SizingUnavailable
from strategies.volatility import VolReading, multiplier, too_volatile

_ORDER_REASONS = frozenset(
    {
        Reason.DEFERRED_MIN_NOTIONAL,
        Reason.PAUSED,
        Reason.NO_MID,
        Reason.IN_BAND,
        Reason.AWAITING_REBALANCE,
    }
)


class AssignmentRefused(Exception):
    """A token is already mirrored from another source for this follower (SPEC §2)."""

    def __init__(self, coin: str, holder: str) -> None:
        super().__init__(
            f"{coin} is already mirrored from {holder} for this follower: unfollow it there first, "
            "or confirm closing the position"
        )
        self.coin = coin
        self.holder = holder


@dataclass(frozen=True, slots=True)
class SourcePosition:
    size: Decimal = ZERO
    entry_px: Decimal | None = None
    leverage: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Saved:
    """One pair and its source's position as they were before a change was decided (`Follower.save`):
    put back (`restore`) when the decision could not be recorded, so the engine does not believe
    mirrored what the ledger never recorded and no order carried out."""

    source: str
    coin: str
    pair: PairState | None
    position: SourcePosition | None


class Follower:
    def __init__(
        self,
        markets: Mapping[str, Market],
        *,
        min_notional: Decimal = DEFAULT_MIN_NOTIONAL,
        equity: Decimal = ZERO,
    ) -> None:
        self.markets = dict(markets)
        self.min_notional = min_notional
        self.equity = equity
        self.paused = False
        self.mids: dict[str, Decimal] = {}
        self.positions: dict[str, Decimal] = {}  # p, as the venue reports it
        self.pairs: dict[str, PairState] = {}
        self.follows: dict[str, FollowConfig] = {}  # active follows by source
        self.source_equity: dict[str, Decimal] = {}
        self.sources: dict[tuple[str, str], SourcePosition] = {}  # (source, coin) → last seen
        self.vols: dict[str, Decimal] = {}  # σ per coin, annualised % (SPEC §10); absent: unknown

    # --- observations (no decision) -------------------------------------------------------------

    def set_mid(self, coin: str, mid: Decimal) -> None:
        self.mids[coin] = mid

    def set_vol(self, coin: str, sigma: Decimal | None) -> None:
        """The coin's volatility σ now (None: unknown, e.g. the venue's candles could not be read)."""
        if sigma is None:
            self.vols.pop(coin, None)
        else:
            self.vols[coin] = sigma

    def vol_reading(self, config: FollowConfig, coin: str) -> VolReading | None:
        """σ and the multiplier `m` of a follow that scales by volatility (None: it does not; SPEC §10
        leaves `fixed_notional` out, its size is a USD amount)."""
        if config.vol is None or config.sizing.name == "fixed_notional":
            return None
        return multiplier(config.vol, self.vols.get(coin))

    def set_equity(self, equity: Decimal) -> None:
        """The follower's equity as the venue reports it."""
        self.equity = equity

    def set_source_equity(self, source: str, equity: Decimal) -> None:
        self.source_equity[source] = equity

    def set_position(self, coin: str, size: Decimal) -> None:
        self.positions[coin] = size

    def observe_source(
        self,
        source: str,
        coin: str,
        *,
        size: Decimal | None = None,
        entry_px: Decimal | None = None,
        leverage: Decimal | None = None,
    ) -> None:
        """Record what is known of the source's position without deciding anything."""
        known = self.source_position(source, coin)
        self.sources[(source, coin)] = SourcePosition(
            known.size if size is None else size,
            known.entry_px if entry_px is None else entry_px,
            known.leverage if leverage is None else leverage,
        )

    def save(self, source: str, coin: str) -> Saved:
        """What `on_change(source, coin …)` may change, as it is now."""
        return Saved(source, coin, self.pairs.get(coin), self.sources.get((source, coin)))

    def restore(self, saved: Saved) -> None:
        """Undo a change's effect on its pair and its source's position (`save`)."""
        if saved.pair is None:
            self.pairs.pop(saved.coin, None)
        else:
            self.pairs[saved.coin] = saved.pair
        if saved.position is None:
            self.sources.pop((saved.source, saved.coin), None)
        else:
            self.sources[(saved.source, saved.coin)] = saved.position

    def source_position(self, source: str, coin: str) -> SourcePosition:
        return self.sources.get((source, coin), SourcePosition())

    def position(self, coin: str) -> Decimal:
        return self.positions.get(coin, ZERO)

    # --- follows ----------------------------------------------------------------------------------

    def holder(self, coin: str, source: str) -> str | None:
        """Another source that holds `coin` for this follower (the follower is not flat in it)."""
        pair = self.pairs.get(coin)
        if pair is None or pair.source is None or pair.source == source:
            return None
        holding = pair.status is Status.TRACKING or self.position(coin) != 0
        return pair.source if holding else None

    def follow(self, source: str, config: FollowConfig, *, confirm_close: bool = False) -> list[Decision]:
        """Start following `source`; Copy Current decides whether its open positions are joined.

        Tokens named in the follow's include list that another source holds are refused (naming that
        source) unless `confirm_close`, which closes them first. Tokens the follow covers only
        implicitly stay with the source that holds them.
        """
        if source in self.follows:
            raise ValueError(f"already following {source}")
        decisions: list[Decision] = []
        for coin in sorted(config.filters.include or ()):
            holder = self.holder(coin, source)
            if holder is None:
                continue
            if not confirm_close:
                raise AssignmentRefused(coin, holder)
            decisions.append(self._release(coin, Event.UNFOLLOW, self.follows[holder]))
        self.follows[source] = config
        for coin in self.markets:
            if config.filters.covers(coin):
                decisions.append(self._start(source, coin, config))
        return decisions

    def unfollow(self, source: str, *, close: bool) -> list[Decision]:
        """Stop following: `close` takes every mirrored position to 0; otherwise they are detached."""
        config = self.follows.pop(source, None)
        if config is None:
            raise ValueError(f"not following {source}")
        decisions: list[Decision] = []
        for coin, pair in list(self.pairs.items()):
            if pair.source != source:
                continue
            if close:
                decisions.append(self._release(coin, Event.UNFOLLOW, config))
            else:
                del self.pairs[coin]
                decisions.append(self._note(PairState(coin), Event.UNFOLLOW, Reason.DETACHED, pair.target))
        return decisions

    def update_config(self, source: str, config: FollowConfig) -> list[Decision]:
        """New settings for a follow. Nothing is resized; switching Copy Current on joins untracked tokens."""
        old = self.follows[source]
        self.follows[source] = config
        if not config.copy_current or old.copy_current:
            return []
        return [
            self._join_or_wait(pair, config, Event.COPY_CURRENT)
            for pair in list(self.pairs.values())
            if pair.source == source and pair.status is Status.UNTRACKED and not pair.waiting_join
        ]

    def release_uncovered(self, source: str, config: FollowConfig, *, close: bool) -> list[Decision]:
        """The pairs of `source` that `config` (a new version of the follow) no longer covers leave the
        follow: closed (τ := 0, the closing decision returned) with `close`, else detached."""
        out: list[Decision] = []
        for coin, pair in list(self.pairs.items()):
            if pair.source != source or config.filters.covers(coin):
                continue
            if close:
                self.pairs[coin] = replace(pair, status=Status.TRACKING, target=ZERO)
                out.append(self.check(coin, Event.UNFOLLOW))
            del self.pairs[coin]
        return out

    def untrack(self, coin: str) -> PairState | None:
        """A venue-side trigger (stop-loss / take-profit) closed the pair's position: it is left untracked
        with τ = 0, so neither a reconciliation nor the source's increases re-open it until the source's
        next open or flip. Returns the pair as it stood, or None when it was not tracking anything."""
        pair = self.pairs.get(coin)
        if pair is None or pair.source is None or pair.status is not Status.TRACKING:
            return None
        self.pairs[coin] = replace(pair, status=Status.UNTRACKED, ratio=None, target=ZERO)
        return pair

    # --- restart: state as the ledger recorded it (no decision) -------------------------------------

    def restore_follow(self, source: str, config: FollowConfig) -> None:
        """A follow as it stood before a restart (its decisions were made and recorded then)."""
        self.follows[source] = config

    def restore_pair(self, state: PairState) -> None:
        """A pair as its latest recorded decision left it."""
        self.pairs[state.coin] = state

    def set_paused(self, paused: bool) -> None:
        """Pause: no new exposure (opens, increases, flip-opens skipped); reductions still mirror."""
        self.paused = paused

    # --- decisions --------------------------------------------------------------------------------

    def on_change(self, change: Change) -> Decision:
        """Mirror one source change of one coin."""
        self.observe_source(change.source, change.coin, size=change.new, leverage=change.leverage)
        coin = change.coin
        config = self.follows.get(change.source)
        if config is None:
            return self.note(coin, classify(change.old, change.new), Reason.NOT_FOLLOWING)
        if not config.filters.covers(coin):
            return self.note(coin, classify(change.old, change.new), Reason.TOKEN_EXCLUDED)
        if self.holder(coin, change.source) is not None:
            return self.note(coin, classify(change.old, change.new), Reason.HELD_BY_OTHER_SOURCE)
        pair = self.pairs.get(coin)
        if pair is None or pair.source != change.source:
            # never seen: a position the source already held counts as held when followed, untracked
            old = config.filters.effective(change.old)
            pair = PairState(coin, change.source, Status.UNTRACKED if old else Status.FLAT, source_size=old)
        tr = advance(
            pair,
            config.filters.effective(change.new),
            config.sizing,
            self._inputs(config, coin, change.source),
            copy_increase_as_open=config.copy_increase_as_open,
        )
        if tr.state.waiting_join:
            return self._join_or_wait(tr.state, config, tr.event, before=pair)
        return self._decide(self._allocated(tr, config), config, change.fill_px)

    def check(self, coin: str, event: Event = Event.RECONCILE) -> Decision:
        """Re-examine one pair now (a new mid, or the reconciliation pass): send a residual that has
        become large enough, or join a Copy Current that was waiting for the price."""
        pair = self.pairs.get(coin)
        config = self.follows.get(pair.source) if pair is not None and pair.source is not None else None
        if pair is None or config is None:
            return self.note(coin, event, Reason.NOT_FOLLOWING)
        if pair.waiting_join:
            return self._join_or_wait(pair, config, event)
        return self._decide(self._allocated(Transition(event, pair, pair, Growth.NONE), config), config, None)

    # --- portfolio-allocation mode (SPEC §9) --------------------------------------------------------

    def rebalance(self, source: str | None = None) -> list[Decision]:
        """A rebalance tick of every allocation pair (of `source`, or of every source): `tick` each."""
        ticked = (self.tick(coin) for coin, pair in list(self.pairs.items()) if source in (None, pair.source))
        return [decision for decision in ticked if decision is not None]

    def tick(self, coin: str) -> Decision | None:
        """A rebalance tick of one pair: a tracking pair of an allocation follow goes to `q(ρ(now) · s)`
        when its drift reaches the band (event `rebalance`), else holds (event `hold`). None for any
        other pair (another strategy's, or not tracking)."""
        pair = self.pairs.get(coin)
        config = self.follows.get(pair.source) if pair is not None and pair.source is not None else None
        if pair is None or config is None or not isinstance(config.sizing, AllocationSizing):
            return None
        if pair.status is not Status.TRACKING:
            return None
        tr = self._allocated(Transition(Event.REBALANCE, pair, pair, Growth.NONE), config)
        decision = self._decide(tr, config, None)
        return decision if decision.order is not None else replace(decision, event=Event.HOLD)

    def realign(self, coin: str) -> Decision:
        """The out-of-sync policy `rebalance`: a tracking pair is taken to its strategy's target at
        today's ratio (`ρ₀ := ρ(now)`, `τ := ρ₀ · s`) whatever the band; it goes on from there in its own
        strategy. Any other pair is only checked."""
        pair = self.pairs.get(coin)
        config = self.follows.get(pair.source) if pair is not None and pair.source is not None else None
        if pair is None or config is None or pair.status is not Status.TRACKING:
            return self.check(coin)
        try:
            sized = config.sizing.open(pair.source_size, self._inputs(config, coin, pair.source or ""))
        except SizingUnavailable:
            return self.check(coin)
        state = replace(pair, ratio=sized.ratio, target=sized.target)
        growth = Growth.INCREASE if mag(state.target) > mag(pair.target) else Growth.NONE
        return self._decide(Transition(Event.REBALANCE, pair, state, growth), config, None, banded=False)

    def _allocated(self, tr: Transition, config: FollowConfig) -> Transition:
        """Under allocation, a tracking pair's target at today's ratio; a step that makes it larger is
        growth (pause and the caps apply to it). Unchanged for other strategies."""
        sizing = config.sizing
        if not isinstance(sizing, AllocationSizing) or tr.state.status is not Status.TRACKING:
            return tr
        state = tr.state
        try:
            state = retarget(state, sizing, self._inputs(config, state.coin, state.source or ""))
        except SizingUnavailable:
            return tr
        growth = tr.growth
        if growth is Growth.NONE and mag(state.target) > mag(tr.before.target):
            growth = Growth.INCREASE
        return replace(tr, state=state, growth=growth)

    def note(self, coin: str, event: Event, reason: Reason | None = None) -> Decision:
        """A decision that sends nothing: how the pair stands, and why nothing happens (by default:
        untracked, or in sync)."""
        pair = self.pairs.get(coin, PairState(coin))
        return self._note(pair, event, reason or self._idle(pair), pair.target)

    def total_notional(self, *, excluding: str | None = None) -> Decimal:
        """Σ |q(τ)| · mid over the follower's tracked tokens (those with a known mid)."""
        total = ZERO
        for coin, pair in self.pairs.items():
            mid = self.mids.get(coin)
            if coin == excluding or mid is None or pair.status is not Status.TRACKING:
                continue
            total = add(total, mul(mag(q_lot(pair.target, self.markets[coin].sz_decimals)), mid))
        return total

    # --- internals --------------------------------------------------------------------------------

    def _inputs(self, config: FollowConfig, coin: str, source: str) -> SizingInputs:
        leverage = self.source_position(source, coin).leverage
        vol = self.vol_reading(config, coin)
        scaling = config.effective_k(coin, leverage)
        return SizingInputs(
            follower_equity=self.equity,
            source_equity=self.source_equity.get(source),
            scaling=scaling if vol is None else mul(scaling, vol.mult),  # ρ(now) · m (SPEC §10)
            mid=self.mids.get(coin),
        )

    def _start(self, source: str, coin: str, config: FollowConfig) -> Decision:
        holder = self.holder(coin, source)
        if holder is not None:
            return self.note(coin, Event.FOLLOW, Reason.HELD_BY_OTHER_SOURCE)
        fresh = PairState(coin, source)
        size = config.filters.effective(self.source_position(source, coin).size)
        if size == 0:
            return self._decide(Transition(Event.FOLLOW, fresh, fresh, Growth.NONE), config, None)
        if config.copy_current:
            return self._join_or_wait(fresh, config, Event.FOLLOW)
        untracked = replace(fresh, status=Status.UNTRACKED, source_size=size)
        return self._decide(
            Transition(Event.FOLLOW, fresh, untracked, Growth.NONE, Reason.UNTRACKED), config, None
        )

    def _release(self, coin: str, event: Event, config: FollowConfig) -> Decision:
        """Close a pair (τ := 0) and free it from its source; reductions are sent even when paused."""
        pair = self.pairs[coin]
        return self._decide(Transition(event, pair, PairState(coin), Growth.NONE), config, None)

    def _join_or_wait(
        self, pair: PairState, config: FollowConfig, event: Event, *, before: PairState | None = None
    ) -> Decision:
        """Copy Current for `pair` now, or wait (untracked) while the mid is too far from the entry."""
        assert pair.source is not None
        known = self.source_position(pair.source, pair.coin)
        size = config.filters.effective(known.size)
        start = pair if before is None else before
        wait = self._wait_reason(config, pair.coin, known.entry_px)
        if wait is not None:
            waiting = replace(
                pair, status=Status.UNTRACKED, ratio=None, target=ZERO, source_size=size, waiting_join=True
            )
            return self._decide(Transition(event, start, waiting, Growth.NONE, wait), config, None)
        tr = join(pair, size, config.sizing, self._inputs(config, pair.coin, pair.source))
        return self._decide(replace(tr, before=start), config, None)

    def _wait_reason(self, config: FollowConfig, coin: str, entry_px: Decimal | None) -> Reason | None:
        dev = config.copy_current_max_deviation
        if dev is None:
            return None
        mid = self.mids.get(coin)
        if entry_px is None or entry_px <= 0:
            return Reason.ENTRY_PRICE_UNKNOWN
        if mid is None:
            return Reason.NO_MID
        return Reason.COPY_CURRENT_DEVIATION if mag(sub(mid, entry_px)) > mul(dev, entry_px) else None

    def _screen(
        self, tr: Transition, config: FollowConfig, fill_px: Decimal | None
    ) -> tuple[Transition, list[Reason]]:
        """Skip growth that pause, a filter or the price guard forbids; cap what remains."""
        if tr.growth is Growth.NONE:
            return tr, []
        coin = tr.state.coin
        source = tr.state.source or ""
        acted: list[Reason] = []
        leverage = self.source_position(source, coin).leverage
        block: Reason | None = Reason.PAUSED if self.paused else None
        if block is None and tr.growth is Growth.OPENING:
            block = config.filters.blocks_open(tr.state.source_size, leverage)
        if block is None and price_deviation_blocks(
            config.guards, is_buy=tr.state.source_size > 0, mid=self.mids.get(coin), fill_px=fill_px
        ):
            block = Reason.PRICE_DEVIATION
        vol = self.vol_reading(config, coin)
        if (
            block is None
            and vol is not None
            and config.vol is not None
            and too_volatile(config.vol, vol.sigma)
        ):
            block = Reason.VOLATILITY
        if block is not None:
            return skip(tr, block), [block]
        if tr.growth is Growth.OPENING and vol is not None and vol.unknown:
            acted.append(Reason.VOL_UNKNOWN)  # sized with m = vol_mult_min
        if tr.growth is Growth.OPENING and config.filters.leverage_factor(leverage) < ONE:
            acted.append(Reason.SOURCE_LEVERAGE_CAPPED)
        capped = cap_target(
            tr.before.target if tr.before.status is Status.TRACKING else ZERO,
            tr.state.target,
            mid=self.mids.get(coin),
            guards=config.guards,
            market=self.markets[coin],
            follower_equity=self.equity,
            other_notional=self.total_notional(excluding=coin),
        )
        if capped.reasons:
            tr = replace(tr, state=replace(tr.state, target=capped.target))
            acted.extend(capped.reasons)
        return tr, acted

    def _decide(
        self, tr: Transition, config: FollowConfig, fill_px: Decimal | None, *, banded: bool = True
    ) -> Decision:
        tr, acted = self._screen(tr, config, fill_px)
        state = tr.state
        coin = state.coin
        self.pairs[coin] = state
        position = self.position(coin)
        order = None
        order_reason: Reason | None = None
        if Status.TRACKING in (tr.before.status, state.status):
            planned = plan_order(
                state.target,
                position,
                market=self.markets[coin],
                mid=self.mids.get(coin),
                min_notional=self.min_notional,
                slippage_cap=config.slippage_cap,
            )
            order, order_reason = planned.order, planned.reason
            if order is not None and self.paused and not order.reduce_only:
                order, order_reason = None, Reason.PAUSED
            if order is not None and banded and isinstance(config.sizing, AllocationSizing):
                order, order_reason = self._banded(tr.event, config.sizing, order, state, order_reason)
        if order is not None:
            reason = acted[0] if acted else order_reason
        elif order_reason in _ORDER_REASONS:
            reason = order_reason
        else:
            reason = tr.reason or (acted[0] if acted else None) or order_reason or self._idle(state)
        vol = self.vol_reading(config, coin)
        return Decision(
            coin, state.source, tr.event, state, tr.before.target, position, order, reason, tuple(acted), vol
        )

    def _banded(
        self,
        event: Event,
        sizing: AllocationSizing,
        order: OrderPlan,
        state: PairState,
        reason: Reason | None,
    ) -> tuple[OrderPlan | None, Reason | None]:
        """Allocation's no-trade band (at a tick) or trigger band (between ticks) on a planned order."""
        tick = event is Event.REBALANCE
        threshold = (sizing.band if tick else sizing.trigger)(self.equity, self.min_notional)
        sent, waiting = gate(
            order,
            target=state.target,
            position=self.position(state.coin),
            market=self.markets[state.coin],
            mid=self.mids[state.coin],
            threshold=threshold,
            waiting=Reason.IN_BAND if tick else Reason.AWAITING_REBALANCE,
            strictly=not tick,  # SPEC §9: at least the band at a tick; beyond the trigger between them
        )
        return (sent, reason) if sent is not None else (None, waiting)

    def _note(self, state: PairState, event: Event, reason: Reason, target_before: Decimal) -> Decision:
        config = self.follows.get(state.source) if state.source is not None else None
        vol = None if config is None else self.vol_reading(config, state.coin)
        position = self.position(state.coin)
        return Decision(
            state.coin, state.source, event, state, target_before, position, None, reason, (), vol
        )

    def _idle(self, pair: PairState) -> Reason:
        """Why a pair sends nothing when nothing happened to it."""
        if pair.status is Status.UNTRACKED:
            return Reason.UNTRACKED
        lot_target = q_lot(pair.target, self.markets[pair.coin].sz_decimals)
        if pair.status is Status.TRACKING and lot_target != self.position(pair.coin):
            return Reason.DEFERRED_MIN_NOTIONAL
        return Reason.IN_SYNC
