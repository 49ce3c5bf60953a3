"""A scenario (SPEC §7, parsed by bot/simulate/scenario.py) run step by step through the engine.

What each step does, in which order, and what "touched" means for its output lines is in
`docs/simulate.md`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal

from bot.simulate.lines import SOURCE, decision_line, fill_fraction
from bot.simulate.scenario import Scenario, Step
from strategies.allocation import AllocationSizing
from strategies.config import ALL_TOKENS, FollowConfig
from strategies.engine import Follower
from strategies.mirror import classify
from strategies.model import Change, Decision, Event, Reason
from strategies.num import ZERO, add, div, mag, mul, sub


@dataclass
class _SourceBook:
    """The scenario source's sizes and entry prices, kept as the venue would (weighted average entry)."""

    sizes: dict[str, Decimal] = field(default_factory=dict)
    entries: dict[str, Decimal] = field(default_factory=dict)

    def move(self, coin: str, new: Decimal, px: Decimal) -> None:
        old = self.sizes.get(coin, ZERO)
        event = classify(old, new)
        if event in (Event.OPEN, Event.FLIP):
            self.entries[coin] = px
        elif event is Event.INCREASE:
            entry = self.entries.get(coin, px)
            self.entries[coin] = div(add(mul(entry, mag(old)), mul(px, mag(sub(new, old)))), mag(new))
        elif event is Event.CLOSE:
            self.entries.pop(coin, None)
        self.sizes[coin] = new


class ScenarioRun:
    """Runs a validated scenario step by step; `run_step` returns the step's output lines."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.follower = Follower(scenario.markets, min_notional=scenario.min_notional)
        self.config = scenario.follow
        self.following = False
        self.book = _SourceBook()
        self.decisions: list[Decision] = []  # every decision of the last step, in order (tests, debugging)

    def covered(self) -> list[str]:
        coins = list(self.scenario.markets)
        return [c for c in coins if self.config.filters.covers(c)] if self.following else coins

    def run(self) -> Iterable[dict[str, object]]:
        for step in self.scenario.steps:
            yield from self.run_step(step)

    def run_step(self, step: Step) -> list[dict[str, object]]:
        f = self.follower
        decided: dict[str, tuple[Decision, Decimal]] = {}

        self.decisions = []

        def put(decisions: Iterable[Decision], *, weak: bool = False) -> None:
            """Record decisions; a weak one (it sends nothing) never hides another of the same coin."""
            for d in decisions:
                if weak and d.coin in decided:
                    continue
                self.decisions.append(d)
                decided[d.coin] = (d, fill_fraction(f, d, step.fill))

        def note(coins: Iterable[str], event: Event, reason: Reason | None) -> None:
            for coin in coins:
                why = reason
                if not self.following:
                    why = Reason.NOT_FOLLOWING
                elif not self.config.filters.covers(coin):
                    why = Reason.TOKEN_EXCLUDED
                put([f.note(coin, event, why)], weak=True)

        starts = not self.following and (step.follow is True or (step.index == 0 and step.follow is None))
        stops = step.follow is False and self.following
        # 1. market data and equities: what the decisions of this step see
        for coin, mid in step.mids.items():
            f.set_mid(coin, mid)
        if step.follower_equity is not None:
            f.equity = step.follower_equity
        if step.source_equity is not None:
            f.source_equity[SOURCE] = step.source_equity
        for coin, lev in step.source_leverage.items():
            f.observe_source(SOURCE, coin, leverage=lev)
        for coin, sigma in step.vol.items():
            f.set_vol(coin, sigma)
        # 2. settings (scaling never resizes anything, so it can go first)
        config = self.config
        for token, k in step.set_scaling.items():
            config = config.with_scaling(token, k)
        put(self._set_config(config))
        if step.pause is not None:
            f.set_paused(step.pause)
        # 3. switching off happens before this step's source sizes, switching on after them, so sizes
        # given with a switch exist before the follow starts and Copy Current decides on them
        if stops:
            put(f.unfollow(SOURCE, close=step.unfollow == "close"))
            self.following = False
        put(self._source_moves(step, mirror=self.following), weak=not self.following)
        if step.copy_current is not None:
            put(self._set_config(replace(self.config, copy_current=step.copy_current)))
        if starts:
            put(f.follow(SOURCE, self.config))
            self.following = True
        if step.reconcile and self.following:
            put(f.check(coin, Event.RECONCILE) for coin in self.covered() if coin in f.pairs)
        if step.tick and self.following:
            put(f.rebalance())
        # 4. what the rest of the step touched, with why nothing happens
        for coin in step.mids:
            if coin not in decided:
                if self.following and coin in f.pairs:
                    put([f.check(coin, Event.MID)])
                else:
                    note([coin], Event.MID, None)
        # allocation (SPEC §9) sizes at today's ratio: a new k or equity moves τ at the next tick
        later = (
            Reason.AWAITING_REBALANCE
            if isinstance(self.config.sizing, AllocationSizing)
            else Reason.APPLIES_AT_NEXT_OPEN
        )
        touched_by_scaling = self.covered() if ALL_TOKENS in step.set_scaling else list(step.set_scaling)
        note(touched_by_scaling, Event.SCALING, later)
        if step.index > 0 and (step.source_equity is not None or step.follower_equity is not None):
            note(self.covered(), Event.EQUITY, later)
        note(list(step.vol), Event.VOL, later)  # σ is read at the next open (§10)
        if step.copy_current is not None:
            reason = None if step.copy_current else Reason.APPLIES_AT_NEXT_FOLLOW
            note(self.covered(), Event.COPY_CURRENT, reason)
        if step.pause:
            note(self.covered(), Event.PAUSE, Reason.PAUSED)
        elif step.pause is False:
            # resuming re-examines every pair: a residual withheld while paused (or grown large enough
            # through a mid move during the pause) is sent now, not left for the next reconciliation
            if self.following:
                put(f.check(c, Event.RESUME) for c in self.covered() if c in f.pairs and c not in decided)
            note(self.covered(), Event.RESUME, None)
        order = {coin: i for i, coin in enumerate(self.scenario.markets)}
        return [
            decision_line(step.index, d, p)
            for _, (d, p) in sorted(decided.items(), key=lambda kv: order[kv[0]])
        ]

    def _set_config(self, config: FollowConfig) -> list[Decision]:
        old, self.config = self.config, config
        if not self.following or old == config:
            return []
        return self.follower.update_config(SOURCE, config)

    def _source_moves(self, step: Step, *, mirror: bool) -> list[Decision]:
        f = self.follower
        out: list[Decision] = []
        for coin, new in step.source.items():
            old = self.book.sizes.get(coin, ZERO)
            px = (step.source_px.get(coin) or f.mids[coin]) if new != 0 else ZERO
            self.book.move(coin, new, px)
            entry = step.source_entry.get(coin, self.book.entries.get(coin))
            if mirror:
                f.observe_source(SOURCE, coin, entry_px=entry)
                change = Change(SOURCE, coin, old, new, fill_px=step.source_px.get(coin))
                out.append(f.on_change(change))
            else:
                f.observe_source(SOURCE, coin, size=new, entry_px=entry)
                out.append(f.note(coin, classify(old, new), Reason.NOT_FOLLOWING))
        for coin, entry in step.source_entry.items():
            if coin not in step.source:
                f.observe_source(SOURCE, coin, entry_px=entry)
        return out
