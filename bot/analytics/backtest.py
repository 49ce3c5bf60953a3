"""What copying a source would have done (`mirrorbot backtest`): its history replayed through the
real engine (`strategies.engine.Follower`, with its lot rounding, $10 minimum, filters and guards),
with taker fees, the copy delay and a slippage model (`bot.analytics.market`).

The follow starts at the window's start with Copy Current on (each position the source already held
is joined at its coin's first price), then every source change is mirrored. The follower's equity is
marked to market before each decision, so the ratio locked at each open is what the bot would have
computed then. The source's equity is held at the value given (online: today's account value).

Both sides are measured the same way over the window, marked at the source's fill prices
(`PricePath`): the source's window PnL `S_c(t) = cash_c(t) + size_c(t) · mark_c(t) − size_c(0) ·
mark_c(0)`; the follower's is its account's PnL (realised − fees + unrealised). The ideal follower is
`I(t) = Σ_c ρ_c · S_c(t)` with the nominal ratio `ρ_c = E_F / E_S · k_c / 100`; the tracking error is
the root mean square of `F(t) − I(t)` over the replay's points.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from bot.analytics.curve import Point
from bot.analytics.history import History
from bot.analytics.market import (
    DEFAULT_DELAY_MS,
    DEFAULT_TAKER_FEE,
    Execution,
    PricePath,
    SlippageModel,
)
from bot.domain import SourceChange, SourceFill
from bot.domain.accounting import Book
from strategies.config import FollowConfig
from strategies.engine import Follower
from strategies.model import Change, Decision, Event, Market, Reason
from strategies.num import CTX, HUNDRED, ZERO, add, div, mag, mul, neg, sub
from strategies.orders import DEFAULT_MIN_NOTIONAL

Block = tuple[int, str, list[SourceFill]]  # (time, coin, the source's fills in it at that time)
ProgressHook = Callable[[int, int], None]  # `hook(done, total)`: the CLI draws a bar, Telegram passes None


class Outcome(StrEnum):
    SENT = "sent"  # an order went out (filled in full, in part, or not at all)
    DEFERRED = "deferred"  # below the venue's minimum order value: the target keeps the residual
    SKIPPED = "skipped"  # a filter, guard or state said no (the reason says which)
    UNCHANGED = "unchanged"  # the rounded target did not move: nothing to send


@dataclass(frozen=True, slots=True)
class BacktestParams:
    source_equity: Decimal
    follower_equity: Decimal = Decimal(1000)
    config: FollowConfig = field(default_factory=lambda: FollowConfig(copy_current=True))
    taker_fee: Decimal = DEFAULT_TAKER_FEE
    delay_ms: int = DEFAULT_DELAY_MS
    slippage: SlippageModel = field(default_factory=SlippageModel)
    retries: int = 2  # an IOC's unfilled rest is re-sent this many times, then the pair is out of sync
    min_notional: Decimal = DEFAULT_MIN_NOTIONAL

    def nominal_ratio(self, coin: str) -> Decimal:
        return mul(div(self.follower_equity, self.source_equity), div(self.config.k(coin), HUNDRED))


@dataclass(frozen=True, slots=True)
class ReplayDecision:
    time_ms: int
    coin: str
    event: str
    outcome: Outcome
    reason: str | None
    guards: tuple[str, ...]
    side: str | None
    ordered: Decimal  # size of the first order sent (0 when none)
    filled: Decimal
    avg_px: Decimal | None
    mid: Decimal | None  # the price the copy saw (after the delay)
    source_px: Decimal | None
    fee: Decimal
    slippage_cost: Decimal
    attempts: int
    out_of_sync: bool  # still unfilled after the retries


@dataclass(frozen=True, slots=True)
class BacktestResult:
    address: str
    start_ms: int
    end_ms: int
    origin: str
    params: BacktestParams
    decisions: tuple[ReplayDecision, ...]
    follower_curve: tuple[Point, ...]
    source_curve: tuple[Point, ...]
    ideal_curve: tuple[Point, ...]
    follower_pnl: Decimal
    follower_realised: Decimal
    follower_fees: Decimal
    follower_slippage: Decimal
    follower_volume: Decimal
    source_pnl: Decimal  # window PnL marked at the replay's prices (comparable with the follower's)
    source_realised: Decimal  # Σ closedPnl (the venue's figure)
    source_fees: Decimal
    ideal_pnl: Decimal
    tracking_error: Decimal  # RMS of F − I, USD
    max_tracking_gap: Decimal  # max |F − I|, USD
    end_positions: tuple[tuple[str, Decimal], ...]  # the follower's non-zero sizes at the end

    def count(self, outcome: Outcome) -> int:
        return sum(1 for d in self.decisions if d.outcome is outcome)

    def reasons(self, outcome: Outcome) -> dict[str, int]:
        counts = Counter(d.reason or "" for d in self.decisions if d.outcome is outcome)
        return dict(sorted(counts.items()))

    @property
    def partial_fills(self) -> int:
        return sum(1 for d in self.decisions if d.outcome is Outcome.SENT and d.filled < d.ordered)

    @property
    def out_of_sync(self) -> int:
        return sum(1 for d in self.decisions if d.out_of_sync)

    @property
    def tracking_error_pct(self) -> Decimal:
        return div(self.tracking_error, self.params.follower_equity)


def _outcome(decision: Decision) -> Outcome:
    if decision.order is not None:
        return Outcome.SENT
    if decision.reason is Reason.DEFERRED_MIN_NOTIONAL:
        return Outcome.DEFERRED
    if decision.reason is Reason.IN_SYNC:
        return Outcome.UNCHANGED
    return Outcome.SKIPPED


@dataclass(slots=True)
class _SourceBook:
    """The source's window PnL per coin, from its fills (cash) and its changes (sizes)."""

    size: dict[str, Decimal] = field(default_factory=dict)
    cash: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    base: dict[str, Decimal] = field(default_factory=dict)
    mark: dict[str, Decimal] = field(default_factory=dict)

    def start(self, coin: str, size: Decimal, px: Decimal) -> None:
        self.size[coin], self.mark[coin], self.base[coin] = size, px, mul(size, px)

    def block(self, coin: str, fills: list[SourceFill], px: Decimal, change: SourceChange | None) -> None:
        cash = self.cash[coin]
        for fill in fills:
            cash = sub(cash, add(mul(fill.signed_sz, fill.px), fill.fee))
        if change is not None:
            # `new − old` beyond what the fills moved is a gap (fills missing from the history, the
            # venue's startPosition jumps): value it as a trade at the mark, so it adds no PnL
            jump = sub(sub(change.new, change.old), add(*(f.signed_sz for f in fills)))
            cash = sub(cash, mul(jump, px))
            self.size[coin] = change.new
        self.cash[coin] = cash
        self.mark[coin] = px

    def pnl(self, coin: str) -> Decimal:
        return sub(add(self.cash[coin], mul(self.size[coin], self.mark[coin])), self.base[coin])


class Backtest:
    def __init__(self, history: History, markets: Mapping[str, Market], params: BacktestParams) -> None:
        self.history = history
        self.params = params
        self.markets = dict(markets)
        self.path = PricePath(history.fills)
        self.account = Book(params.follower_equity)
        self.follower = Follower(
            self.markets, min_notional=params.min_notional, equity=params.follower_equity
        )
        self.follower.source_equity[history.address] = params.source_equity
        self.source = _SourceBook()
        self.decisions: list[ReplayDecision] = []
        self.slippage_paid = ZERO
        self.curves: tuple[list[Point], list[Point], list[Point]] = ([], [], [])

    # --- execution ------------------------------------------------------------------------------

    def _fill(self, coin: str, decision: Decision, mid: Decimal) -> tuple[list[Execution], bool]:
        """Send the decision's order, and re-send what an IOC left (fresh decision, same price) up to
        `retries` times. Returns the executions and whether the pair is left out of sync."""
        executions: list[Execution] = []
        order = decision.order
        attempts = 0
        while order is not None:
            attempts += 1
            ex = self.params.slippage.execute(
                coin,
                is_buy=order.is_buy,
                size=order.size,
                mid=mid,
                limit_px=order.limit_px,
                sz_decimals=self.markets[coin].sz_decimals,
            )
            executions.append(ex)
            if ex.avg_px is not None:
                fee = mul(ex.notional, self.params.taker_fee)
                self.account.trade(coin, ex.size if order.is_buy else neg(ex.size), ex.avg_px, fee)
                self.follower.set_position(coin, self.account.size(coin))
                self.slippage_paid = add(self.slippage_paid, ex.slippage_cost)
            if ex.size == order.size:
                return executions, False
            if attempts > self.params.retries:
                return executions, True
            order = self.follower.check(coin, Event.RECONCILE).order
        return executions, False

    def _execute(self, decision: Decision, time_ms: int, source_px: Decimal | None) -> None:
        coin = decision.coin
        mid = self.follower.mids.get(coin)
        executions: list[Execution] = []
        out_of_sync = False
        if decision.order is not None and mid is not None:
            executions, out_of_sync = self._fill(coin, decision, mid)
        filled = add(*(e.size for e in executions))
        notional = add(*(e.notional for e in executions))
        order = decision.order
        self.decisions.append(
            ReplayDecision(
                time_ms=time_ms,
                coin=coin,
                event=decision.event.value,
                outcome=_outcome(decision),
                reason=None if decision.reason is None else decision.reason.value,
                guards=tuple(g.value for g in decision.guards),
                side=None if order is None else order.side,
                ordered=ZERO if order is None else order.size,
                filled=filled,
                avg_px=div(notional, filled) if filled > 0 else None,
                mid=mid,
                source_px=source_px,
                fee=mul(notional, self.params.taker_fee),
                slippage_cost=add(*(e.slippage_cost for e in executions)),
                attempts=len(executions),
                out_of_sync=out_of_sync,
            )
        )

    # --- the replay -----------------------------------------------------------------------------

    def _record(self, time_ms: int) -> None:
        marks = self.path.marks(self.markets, time_ms)
        follower = self.account.pnl(marks)
        per_coin = {coin: self.source.pnl(coin) for coin in self.source.size}
        source = add(*per_coin.values())
        ideal = add(*(mul(self.params.nominal_ratio(c), pnl) for c, pnl in per_coin.items()))
        for curve, value in zip(self.curves, (follower, source, ideal), strict=True):
            if curve and curve[-1].time_ms == time_ms:
                curve[-1] = Point(time_ms, value)
            else:
                curve.append(Point(time_ms, value))

    def _blocks(self) -> list[Block]:
        grouped: dict[tuple[int, str], list[SourceFill]] = defaultdict(list)
        for fill in self.history.fills:
            grouped[(fill.time_ms, fill.coin)].append(fill)
        return [(t, coin, fills) for (t, coin), fills in sorted(grouped.items())]

    def _start(self, blocks: list[Block], changes: dict[tuple[str, int], SourceChange]) -> None:
        f = self.follower
        source = self.history.address
        for time_ms, coin, fills in blocks:
            if coin in self.source.size:
                continue
            change = changes.get((coin, time_ms))
            size = change.old if change is not None else fills[0].start_position
            px = self.path.first(coin)
            self.source.start(coin, size, px)
            f.observe_source(source, coin, size=size, entry_px=px)
            f.set_mid(coin, px)
        for decision in f.follow(source, self.params.config):
            self._execute(decision, self.history.start_ms, None)
        self._record(self.history.start_ms)

    def run(self, progress: ProgressHook | None = None) -> BacktestResult:
        h, f, p = self.history, self.follower, self.params
        changes = {(c.coin, c.time_ms): c for c in h.changes}
        blocks = self._blocks()
        self._start(blocks, changes)
        for i, (time_ms, coin, fills) in enumerate(blocks, start=1):
            change = changes.get((coin, time_ms))
            px = self.path.at(coin, time_ms) or self.path.first(coin)
            self.source.block(coin, fills, px, change)
            if change is not None:
                mid = self.path.at(coin, time_ms + p.delay_ms) or px
                f.set_mid(coin, mid)
                f.equity = self.account.equity(self.path.marks(self.markets, time_ms))
                decision = f.on_change(Change(h.address, coin, change.old, change.new, fill_px=change.avg_px))
                self._execute(decision, time_ms, change.avg_px)
            self._record(time_ms)
            if progress is not None:
                progress(i, len(blocks))
        return self._result()

    def _result(self) -> BacktestResult:
        follower, source, ideal = self.curves
        gaps = [sub(fp.value, ip.value) for fp, ip in zip(follower, ideal, strict=True)]
        mean_square = div(add(*(mul(g, g) for g in gaps)), Decimal(len(gaps)))
        h = self.history
        return BacktestResult(
            address=h.address,
            start_ms=h.start_ms,
            end_ms=h.end_ms,
            origin=h.origin,
            params=self.params,
            decisions=tuple(self.decisions),
            follower_curve=tuple(follower),
            source_curve=tuple(source),
            ideal_curve=tuple(ideal),
            follower_pnl=follower[-1].value,
            follower_realised=self.account.realised,
            follower_fees=self.account.fees,
            follower_slippage=self.slippage_paid,
            follower_volume=self.account.volume,
            source_pnl=source[-1].value,
            source_realised=add(*(fl.closed_pnl for fl in h.fills)),
            source_fees=add(*(fl.fee for fl in h.fills)),
            ideal_pnl=ideal[-1].value,
            tracking_error=CTX.sqrt(mean_square),
            max_tracking_gap=max(mag(g) for g in gaps),
            end_positions=tuple(
                (coin, holding.size)
                for coin, holding in sorted(self.account.holdings.items())
                if holding.size != 0
            ),
        )
