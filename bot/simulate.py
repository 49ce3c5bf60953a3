"""`mirrorbot simulate`: run the engine on a scenario (SPEC §7) or on a recorded fill history.

No network, no clock: orders fill at the mid (in full, or the step's `fill` fraction, rounded down to
a lot). One JSON line per token a step touched; what "touched" means is in `docs/simulate.md`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from bot.domain import SourceChange, SourceFill
from bot.scenario import SCENARIO_RANGES, Scenario, ScenarioError, Step, load_scenario
from bot.service.errors import InvalidInput
from strategies.config import ALL_TOKENS, FollowConfig
from strategies.engine import Follower
from strategies.mirror import classify
from strategies.model import Change, Decision, Event, Market, Reason
from strategies.num import ZERO, add, div, floor_lot, mag, mul, neg, plain, sub

SOURCE = "source"  # the scenario's one source wallet
SIMULATE_USAGE = "use --scenario FILE, or --fills FILE --equity E --source-equity E"


class UsageError(ValueError):
    pass


def decision_line(step: int, decision: Decision, position: Decimal) -> dict[str, object]:
    """The SPEC §7 output object, keys in the documented order."""
    order = decision.order
    return {
        "step": step,
        "coin": decision.coin,
        "event": decision.event.value,
        "ratio": None if decision.ratio is None else plain(decision.ratio),
        "target": plain(decision.target),
        "position": plain(position),
        "order": None
        if order is None
        else {"side": order.side, "size": plain(order.size), "reduce_only": order.reduce_only},
        "reason": None if decision.reason is None else decision.reason.value,
    }


def fill_fraction(follower: Follower, decision: Decision, fraction: Decimal) -> Decimal:
    """Fill the decision's order (at the mid) and return the follower's position afterwards."""
    position = follower.position(decision.coin)
    if decision.order is not None:
        market = follower.markets[decision.coin]
        filled = floor_lot(mul(decision.order.size, fraction), market.sz_decimals)
        position = add(position, filled if decision.order.is_buy else neg(filled))
        follower.set_position(decision.coin, position)
    return position


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
        # 4. what the rest of the step touched, with why nothing happens
        for coin in step.mids:
            if coin not in decided:
                if self.following and coin in f.pairs:
                    put([f.check(coin, Event.MID)])
                else:
                    note([coin], Event.MID, None)
        touched_by_scaling = self.covered() if ALL_TOKENS in step.set_scaling else list(step.set_scaling)
        note(touched_by_scaling, Event.SCALING, Reason.APPLIES_AT_NEXT_OPEN)
        if step.index > 0 and (step.source_equity is not None or step.follower_equity is not None):
            note(self.covered(), Event.EQUITY, Reason.APPLIES_AT_NEXT_OPEN)
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


# --- recorded fills ---------------------------------------------------------------------------------


def infer_markets(fills: Iterable[SourceFill]) -> dict[str, Market]:
    """Lots from the history itself: the finest size step seen per coin (sizes are whole lots)."""
    decimals: dict[str, int] = {}
    for fill in fills:
        for size in (fill.sz, fill.start_position):
            exponent = size.normalize().as_tuple().exponent
            assert isinstance(exponent, int)
            decimals[fill.coin] = max(decimals.get(fill.coin, 0), -exponent)
    return {coin: Market(coin, min(d, 6)) for coin, d in sorted(decimals.items())}


class FillReplay:
    """Follow the source from before its first change with Copy Current on, then mirror each change.

    Mids are the changes' own fill prices; the follow starts at each coin's first known price, so every
    position the history shows is mirrored from its start.
    """

    def __init__(
        self,
        changes: list[SourceChange],
        markets: Mapping[str, Market],
        *,
        equity: Decimal,
        source_equity: Decimal,
        config: FollowConfig | None = None,
    ) -> None:
        self.changes = changes
        self.source = changes[0].source if changes else SOURCE
        self.config = config or FollowConfig(copy_current=True)
        self.follower = Follower(markets, equity=equity)
        self.follower.source_equity[self.source] = source_equity

    def start(self) -> list[dict[str, object]]:
        f = self.follower
        for change in self.changes:
            if (self.source, change.coin) not in f.sources:
                f.observe_source(self.source, change.coin, size=change.old, entry_px=change.avg_px)
                if change.avg_px is not None:
                    f.set_mid(change.coin, change.avg_px)
        return [
            decision_line(0, d, fill_fraction(f, d, Decimal(1))) for d in f.follow(self.source, self.config)
        ]

    def apply(self, step: int, change: SourceChange) -> dict[str, object]:
        f = self.follower
        if change.avg_px is not None:
            f.set_mid(change.coin, change.avg_px)
        d = f.on_change(Change(self.source, change.coin, change.old, change.new, fill_px=change.avg_px))
        line = decision_line(step, d, fill_fraction(f, d, Decimal(1)))
        line["time_ms"] = change.time_ms
        line["event_id"] = change.event_id
        return line

    def run(self) -> list[dict[str, object]]:
        return list(self.lines())

    def lines(self) -> Iterator[dict[str, object]]:
        """The output lines, each computed when it is asked for."""
        yield from self.start()
        for i, change in enumerate(self.changes, start=1):
            yield self.apply(i, change)


# --- the command ------------------------------------------------------------------------------------


def _decimal_option(value: str | None, flag: str) -> Decimal:
    if value is None:
        raise UsageError(f"{flag} is needed with --fills")
    try:
        return SCENARIO_RANGES["source_equity"].read(value, flag)
    except InvalidInput as exc:
        raise UsageError(str(exc)) from None


def _emit(lines: Iterable[dict[str, object]], out: TextIO) -> None:
    """Line by line as they are decided: a long run never holds its output in memory."""
    for line in lines:
        out.write(json.dumps(line, separators=(", ", ": ")) + "\n")


def _fills_run(fills: Path, equity: str | None, source_equity: str | None) -> FillReplay:
    from bot.fills_file import load_fills
    from bot.normalise import changes_from_fills

    follower_equity = _decimal_option(equity, "--equity")
    source_eq = _decimal_option(source_equity, "--source-equity")
    try:
        history = load_fills(fills)
    except InvalidInput as exc:
        raise UsageError(str(exc)) from None
    changes = changes_from_fills(SOURCE, history)
    return FillReplay(changes, infer_markets(history), equity=follower_equity, source_equity=source_eq)


def main(
    scenario: Path | None,
    fills: Path | None,
    equity: str | None,
    source_equity: str | None,
    out: TextIO | None = None,
) -> int:
    """Exit 0 on success, 2 on a bad scenario or bad options (message on stderr, nothing on stdout)."""
    try:
        if (scenario is None) == (fills is None):
            raise UsageError(SIMULATE_USAGE)
        if scenario is not None:
            if equity is not None or source_equity is not None:
                raise UsageError(
                    "--equity and --source-equity go with --fills; a scenario sets its own equities"
                )
            try:
                parsed = load_scenario(scenario)
            except ScenarioError as exc:
                raise UsageError(f"{scenario}: {exc}") from None
            # everything is validated before the first step runs, so streaming never half-writes a run
            lines: Iterable[dict[str, object]] = ScenarioRun(parsed).run()
        else:
            assert fills is not None
            lines = _fills_run(fills, equity, source_equity).lines()
    except UsageError as exc:
        print(f"mirrorbot simulate: {exc}", file=sys.stderr)
        return 2
    _emit(lines, out or sys.stdout)
    return 0
