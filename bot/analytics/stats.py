"""The source's record (`mirrorbot inspect`): pure computations over a `History`.

Every figure is defined in `bot.analytics.definitions` (shown next to it) and in docs/analytics.md.
Descriptive only: what the wallet did in the window, never a forecast or advice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from bot.analytics.curve import Drawdown, Point, cumulative, max_drawdown, time_weighted_mean
from bot.analytics.history import DAY_MS, History
from bot.analytics.roundtrips import Lifecycles, RoundTrip, lifecycles
from bot.domain import Position, SourceFill
from strategies.num import ZERO, add, div, mag, mul, neg, sign, sub


@dataclass(frozen=True, slots=True)
class CoinStats:
    coin: str
    fills: int
    volume: Decimal  # Σ px · sz, USD
    realised_pnl: Decimal
    fees: Decimal
    funding: Decimal
    round_trips: int  # closed in the window


@dataclass(frozen=True, slots=True)
class SourceStats:
    address: str
    start_ms: int
    end_ms: int
    origin: str
    # activity
    fills: int
    orders: int
    changes: int
    changes_per_day: Decimal | None
    coins: tuple[CoinStats, ...]
    # money
    realised_pnl: Decimal
    fees: Decimal
    funding: Decimal
    funding_note: str
    net_pnl: Decimal
    # round trips
    round_trips: int  # closed in the window
    complete_round_trips: int  # opened and closed in the window
    winning_round_trips: int
    win_rate: Decimal | None
    closing_fills: int
    winning_closing_fills: int
    closing_fill_win_rate: Decimal | None
    gross_profit: Decimal
    gross_loss: Decimal
    profit_factor: Decimal | None
    avg_holding_ms: Decimal | None
    # risk
    curve: tuple[Point, ...]
    drawdown: Drawdown
    drawdown_pct: Decimal | None
    avg_notional: Decimal | None
    max_notional: Decimal
    avg_leverage: Decimal | None
    max_leverage: Decimal | None
    leverage_note: str
    # positions
    end_positions: tuple[tuple[str, Decimal], ...]  # sizes after the last fill (non-zero)
    equity: Decimal | None  # today's, from the venue
    positions: tuple[Position, ...]  # today's, from the venue
    current_notional: Decimal | None
    gaps: int


def _ratio(part: int, whole: int) -> Decimal | None:
    return None if whole == 0 else div(Decimal(part), Decimal(whole))


def closing_share(fill: SourceFill) -> Decimal:
    """The part of a fill that reduces the position it starts from: 0 for an opening or adding fill,
    `min(sz, |start|) / sz` otherwise (below 1 only for a flip)."""
    start = fill.start_position
    if start == 0 or sign(fill.signed_sz) == sign(start):
        return ZERO
    return div(min(fill.sz, mag(start)), fill.sz)


def _closing_fills(fills: tuple[SourceFill, ...]) -> tuple[int, int]:
    closing = wins = 0
    for fill in fills:
        share = closing_share(fill)
        if share == 0:
            continue
        closing += 1
        wins += sub(fill.closed_pnl, mul(fill.fee, share)) > 0
    return closing, wins


def _exposure(history: History) -> list[Point]:
    """Gross notional `Σ_coin |size| · last price` after each change; before a coin's first change
    its size is the change's `old`, priced at that change's price."""
    sizes: dict[str, Decimal] = {}
    prices: dict[str, Decimal] = {}
    for change in history.changes:
        if change.coin not in sizes and change.avg_px is not None:
            sizes[change.coin] = change.old
            prices[change.coin] = change.avg_px

    def gross() -> Decimal:
        return add(*(mul(mag(size), prices[coin]) for coin, size in sizes.items()))

    points = [Point(history.start_ms, gross())]
    for change in history.changes:
        sizes[change.coin] = change.new
        if change.avg_px is not None:
            prices[change.coin] = change.avg_px
        value = gross()
        if points[-1].time_ms == change.time_ms:
            points[-1] = Point(change.time_ms, value)
        else:
            points.append(Point(change.time_ms, value))
    return points


def _leverage(
    exposure: list[Point], curve: list[Point], equity_now: Decimal | None, end_ms: int
) -> tuple[Decimal | None, Decimal | None, str]:
    if equity_now is None:
        return None, None, "equity unknown (offline): leverage needs the venue; see the notional instead"
    final = curve[-1].value
    levered: list[Point] = []
    j = 0
    realised = ZERO
    for point in exposure:
        while j < len(curve) and curve[j].time_ms <= point.time_ms:
            realised = curve[j].value
            j += 1
        equity = sub(equity_now, sub(final, realised))  # today's equity less what came after t
        if equity <= 0:
            return None, None, "the estimated past equity is not positive: leverage not computed"
        levered.append(Point(point.time_ms, div(point.value, equity)))
    note = "equity at t estimated as today's equity less the net realised PnL after t"
    return time_weighted_mean(levered, end_ms), max(p.value for p in levered), note


def _coins(history: History, trips: list[RoundTrip]) -> tuple[CoinStats, ...]:
    by_coin: dict[str, list[SourceFill]] = defaultdict(list)
    for fill in history.fills:
        by_coin[fill.coin].append(fill)
    funding: dict[str, Decimal] = defaultdict(Decimal)
    for event in history.funding_events:
        funding[event.coin] = add(funding[event.coin], event.usdc)
    return tuple(
        CoinStats(
            coin=coin,
            fills=len(fills),
            volume=add(*(mul(f.px, f.sz) for f in fills)),
            realised_pnl=add(*(f.closed_pnl for f in fills)),
            fees=add(*(f.fee for f in fills)),
            funding=funding.get(coin, ZERO),
            round_trips=sum(1 for t in trips if t.coin == coin and t.closed),
        )
        for coin, fills in sorted(by_coin.items())
    )


def _end_positions(history: History) -> tuple[tuple[str, Decimal], ...]:
    last: dict[str, Decimal] = {}
    for change in history.changes:
        last[change.coin] = change.new
    return tuple((coin, size) for coin, size in sorted(last.items()) if size != 0)


def compute_stats(history: History) -> SourceStats:
    fills = history.fills
    life: Lifecycles = lifecycles(fills, history.changes)
    closed = [t for t in life.trips if t.closed]
    complete = [t for t in closed if t.complete]
    realised = add(*(f.closed_pnl for f in fills))
    fees = add(*(f.fee for f in fills))
    funding = add(*(e.usdc for e in history.funding_events))
    gross_profit = add(*(t.net_pnl for t in closed if t.net_pnl > 0))
    gross_loss = neg(add(*(t.net_pnl for t in closed if t.net_pnl < 0)))
    closing, closing_wins = _closing_fills(fills)

    deltas = [(f.time_ms, sub(f.closed_pnl, f.fee)) for f in fills]
    deltas += [(e.time_ms, e.usdc) for e in history.funding_events]
    curve = cumulative(deltas, history.start_ms)
    drawdown = max_drawdown(curve)

    account = history.account
    equity_now = account.equity if account is not None else None
    exposure = _exposure(history)
    avg_leverage, max_leverage, leverage_note = _leverage(exposure, curve, equity_now, history.end_ms)
    drawdown_pct = None
    if equity_now is not None and drawdown.amount > 0:
        start_equity = sub(equity_now, curve[-1].value)
        peak_equity = add(start_equity, drawdown.peak)
        drawdown_pct = div(drawdown.amount, peak_equity) if peak_equity > 0 else None

    current_notional = None
    if account is not None:
        current_notional = add(
            *(mul(mag(p.size), history.mids.get(p.coin) or p.entry_px or ZERO) for p in account.positions)
        )
    holding = [t.holding_ms for t in complete if t.holding_ms is not None]
    changes = len(history.changes)
    return SourceStats(
        address=history.address,
        start_ms=history.start_ms,
        end_ms=history.end_ms,
        origin=history.origin,
        fills=len(fills),
        orders=len({(f.coin, f.oid) for f in fills}),
        changes=changes,
        changes_per_day=None
        if history.span_ms == 0
        else div(mul(Decimal(changes), Decimal(DAY_MS)), Decimal(history.span_ms)),
        coins=_coins(history, life.trips),
        realised_pnl=realised,
        fees=fees,
        funding=funding,
        funding_note=history.funding_note,
        net_pnl=add(sub(realised, fees), funding),
        round_trips=len(closed),
        complete_round_trips=len(complete),
        winning_round_trips=sum(1 for t in closed if t.net_pnl > 0),
        win_rate=_ratio(sum(1 for t in closed if t.net_pnl > 0), len(closed)),
        closing_fills=closing,
        winning_closing_fills=closing_wins,
        closing_fill_win_rate=_ratio(closing_wins, closing),
        gross_profit=gross_profit,
        gross_loss=gross_loss,
        profit_factor=None if gross_loss == 0 else div(gross_profit, gross_loss),
        avg_holding_ms=None if not holding else div(Decimal(sum(holding)), Decimal(len(holding))),
        curve=tuple(curve),
        drawdown=drawdown,
        drawdown_pct=drawdown_pct,
        avg_notional=time_weighted_mean(exposure, history.end_ms),
        max_notional=max(p.value for p in exposure),
        avg_leverage=avg_leverage,
        max_leverage=max_leverage,
        leverage_note=leverage_note,
        end_positions=_end_positions(history),
        equity=equity_now,
        positions=account.positions if account is not None else (),
        current_notional=current_notional,
        gaps=len(history.gaps),
    )
