"""The mirror method (SPEC §2): the per-(follower, token) state machine and mirror sizing.

`advance` applies one source change to one pair exactly as the spec's table says; `join` is Copy Current.
Both are pure and know nothing of filters, pause or guards: they return a `Transition` saying whether the
step *grows* exposure (an open-like step that locks a ratio, or an increase), and the engine may then
`skip` that growth (pause, a filter, the price-deviation guard) or cap it (`strategies.guards`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from enum import Enum

from strategies.model import Event, PairState, Reason, Status
from strategies.num import HUNDRED, ZERO, add, div, mag, mul, sign, sub
from strategies.sizing import Sized, Sizing, SizingInputs, SizingUnavailable


class Growth(Enum):
    NONE = "none"  # the step does not add exposure (decrease, close, ignored, unchanged)
    OPENING = "opening"  # a ratio is locked now: open, flip, Copy Current, increase-as-open
    INCREASE = "increase"  # an increase at the locked ratio


@dataclass(frozen=True, slots=True)
class Transition:
    event: Event
    before: PairState
    state: PairState
    growth: Growth
    reason: Reason | None = None  # why the step was ignored (untracked) or could not be sized


class MirrorSizing:
    """`ρ = (E_F / E_S) × k / 100` locked at open; increases add `ρ₀ · Δs` (SPEC §2)."""

    name = "mirror"

    def ratio(self, inputs: SizingInputs) -> Decimal:
        if inputs.source_equity is None or inputs.source_equity <= 0:
            raise SizingUnavailable(Reason.NO_SOURCE_EQUITY)
        # one division, so a terminating ratio (1000 / 100000) is exact
        return div(mul(inputs.follower_equity, inputs.scaling), mul(inputs.source_equity, HUNDRED))

    def open(self, size: Decimal, inputs: SizingInputs) -> Sized:
        ratio = self.ratio(inputs)
        return Sized(ratio, mul(ratio, size))

    def increase(
        self, ratio: Decimal, target: Decimal, old: Decimal, new: Decimal, inputs: SizingInputs
    ) -> Sized:
        return Sized(ratio, add(target, mul(ratio, sub(new, old))))


def classify(old: Decimal, new: Decimal) -> Event:
    """The spec's table: which event `old → new` is."""
    if new == old:
        return Event.UNCHANGED
    if old == 0:
        return Event.OPEN
    if new == 0:
        return Event.CLOSE
    if sign(old) != sign(new):
        return Event.FLIP
    return Event.INCREASE if mag(new) > mag(old) else Event.DECREASE


def _opened(before: PairState, event: Event, size: Decimal, sized: Sized) -> Transition:
    state = replace(
        before,
        status=Status.TRACKING,
        ratio=sized.ratio,
        target=sized.target,
        source_size=size,
        waiting_join=False,
    )
    return Transition(event, before, state, Growth.OPENING)


def _untracked_open(before: PairState, event: Event, new: Decimal, reason: Reason) -> Transition:
    state = replace(
        before, status=Status.UNTRACKED, ratio=None, target=ZERO, source_size=new, waiting_join=False
    )
    return Transition(event, before, state, Growth.NONE, reason)


def advance(
    pair: PairState,
    new: Decimal,
    sizing: Sizing,
    inputs: SizingInputs,
    *,
    copy_increase_as_open: bool = False,
) -> Transition:
    """Apply the observation `pair.source_size → new` (sizes already reversed if the follow reverses)."""
    old = pair.source_size
    event = classify(old, new)
    if event is Event.UNCHANGED:
        return Transition(event, pair, pair, Growth.NONE)
    try:
        if event is Event.CLOSE:
            reason = Reason.UNTRACKED if pair.status is Status.UNTRACKED else None
            flat = replace(
                pair, status=Status.FLAT, ratio=None, target=ZERO, source_size=ZERO, waiting_join=False
            )
            return Transition(event, pair, flat, Growth.NONE, reason)
        if event in (Event.OPEN, Event.FLIP):
            # an untracked token's flip counts as an open of the new side (SPEC §2 Copy Current off)
            return _opened(pair, event, new, sizing.open(new, inputs))
        if pair.status is Status.UNTRACKED:
            if event is Event.INCREASE and copy_increase_as_open:
                return _opened(pair, event, new, sizing.open(sub(new, old), inputs))
            return Transition(event, pair, replace(pair, source_size=new), Growth.NONE, Reason.UNTRACKED)
        if event is Event.INCREASE:
            assert pair.ratio is not None, "a tracking pair always has a locked ratio"
            sized = sizing.increase(pair.ratio, pair.target, old, new, inputs)
            state = replace(pair, ratio=sized.ratio, target=sized.target, source_size=new)
            return Transition(event, pair, state, Growth.INCREASE)
        # decrease: the same percentage as the source; multiply first so an exact quotient stays exact
        return Transition(
            event, pair, replace(pair, target=div(mul(pair.target, new), old), source_size=new), Growth.NONE
        )
    except SizingUnavailable as exc:
        return skip(
            Transition(event, pair, replace(pair, source_size=new), _growth_of(pair, event)), exc.reason
        )


def _growth_of(pair: PairState, event: Event) -> Growth:
    if event is Event.INCREASE and pair.status is Status.TRACKING:
        return Growth.INCREASE
    return Growth.OPENING


def join(pair: PairState, size: Decimal, sizing: Sizing, inputs: SizingInputs) -> Transition:
    """Copy Current: join the source's existing position `size` at today's ratio."""
    try:
        return _opened(pair, Event.COPY_CURRENT, size, sizing.open(size, inputs))
    except SizingUnavailable as exc:
        return _untracked_open(pair, Event.COPY_CURRENT, size, exc.reason)


def skip(tr: Transition, reason: Reason) -> Transition:
    """Do not copy the growth of `tr` (pause, a filter, a guard): reductions still happen.

    An increase keeps the previous target; an opening leaves the token untracked (its flip still closes
    the old side: the target becomes 0), so later increases and decreases of that position are ignored.
    """
    if tr.growth is Growth.INCREASE:
        return Transition(
            tr.event, tr.before, replace(tr.state, target=tr.before.target), Growth.NONE, reason
        )
    if tr.growth is Growth.OPENING:
        return _untracked_open(tr.before, tr.event, tr.state.source_size, reason)
    return tr
