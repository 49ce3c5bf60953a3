"""Text (CLI, Telegram) and JSON forms of the analytics results. Each figure comes with its definition.

JSON decimals are strings: USD to 6 decimals (USDC's precision), ratios to 6, sizes exact.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from bot.analytics.backtest import BacktestResult, Outcome
from bot.analytics.curve import Point
from bot.analytics.definitions import BACKTEST, DISCLAIMER, INSPECT
from bot.analytics.stats import SourceStats
from strategies.config import ALL_TOKENS
from strategies.num import CTX, HUNDRED, mul, plain

USD_STEP = Decimal("0.000001")
RATIO_STEP = Decimal("0.000001")


def short_address(address: str | None) -> str:
    """`0x5e9e…a1b2`: how titles and replies name a wallet (the full address is in the text report)."""
    if not address:
        return "-"
    return f"{address[:6]}…{address[-4:]}" if len(address) > 12 else address


def _q(x: Decimal, step: Decimal) -> str:
    return plain(x.quantize(step, rounding=ROUND_HALF_EVEN, context=CTX))


def usd_json(x: Decimal | None) -> str | None:
    return None if x is None else _q(x, USD_STEP)


def ratio_json(x: Decimal | None) -> str | None:
    return None if x is None else _q(x, RATIO_STEP)


def usd(x: Decimal | None) -> str:
    if x is None:
        return "n/a"
    return f"{x.quantize(Decimal('0.01'), rounding=ROUND_HALF_EVEN, context=CTX):,} USD"


def pct(x: Decimal | None, places: str = "0.01") -> str:
    if x is None:
        return "n/a"
    return f"{plain(mul(x, HUNDRED).quantize(Decimal(places), rounding=ROUND_HALF_EVEN, context=CTX))} %"


def num(x: Decimal | None, places: str = "0.01") -> str:
    if x is None:
        return "n/a"
    return f"{x.quantize(Decimal(places), rounding=ROUND_HALF_EVEN, context=CTX):,}"


def utc(ms: int) -> str:
    moment = datetime.fromtimestamp(ms // 1000, tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S") + f".{ms % 1000:03d}Z"


def duration(ms: int | Decimal | None) -> str:
    if ms is None:
        return "n/a"
    seconds = int(Decimal(ms) / 1000)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    shown = [f"{n} {unit}" for n, unit in parts if n][:2]
    return " ".join(shown) if shown else f"{int(Decimal(ms))} ms"


def _line(label: str, value: str, definition: str) -> list[str]:
    return [f"{label}: {value}", f"    ({definition})"]


def _curve_json(points: tuple[Point, ...]) -> list[list[Any]]:
    return [[p.time_ms, usd_json(p.value)] for p in points]


# --- inspect --------------------------------------------------------------------------------------


def inspect_text(s: SourceStats) -> str:
    d = INSPECT
    out = [
        f"Source {s.address}",
        f"Window: {utc(s.start_ms)} to {utc(s.end_ms)} ({duration(s.end_ms - s.start_ms)}); from {s.origin}",
        DISCLAIMER,
        "",
    ]
    out += _line("Fills", f"{s.fills} in {s.orders} orders", d["fills"] + " " + d["orders"])
    out += _line("Position changes", str(s.changes), d["changes"])
    out += _line("Frequency", f"{num(s.changes_per_day)} changes per day", d["changes_per_day"])
    out += _line(
        "Coins traded", ", ".join(c.coin for c in s.coins) or "none", "Coins with fills in the window."
    )
    out += _line("Realised PnL", usd(s.realised_pnl), d["realised_pnl"])
    out += _line("Fees", usd(s.fees), d["fees"])
    funding = usd(s.funding) + (f" [{s.funding_note}]" if s.funding_note else "")
    out += _line("Funding", funding, d["funding"])
    out += _line("Net PnL", usd(s.net_pnl), d["net_pnl"])
    trips = f"{s.round_trips} closed ({s.complete_round_trips} opened in the window)"
    out += _line("Round trips", trips, d["round_trips"])
    out += _line("Win rate", f"{pct(s.win_rate)} ({s.winning_round_trips}/{s.round_trips})", d["win_rate"])
    closing = f"{pct(s.closing_fill_win_rate)} ({s.winning_closing_fills}/{s.closing_fills})"
    out += _line("Closing-fill win rate", closing, d["closing_fill_win_rate"])
    factor = num(s.profit_factor) if s.profit_factor is not None else "n/a (no losing round trip)"
    out += _line("Profit factor", factor, d["profit_factor"])
    out += _line("Average holding time", duration(s.avg_holding_ms), d["avg_holding_time"])
    dd = usd(s.drawdown.amount) + (f" ({pct(s.drawdown_pct)})" if s.drawdown_pct is not None else "")
    out += _line("Max drawdown", dd, d["max_drawdown"])
    out += _line("Notional", f"average {usd(s.avg_notional)}, max {usd(s.max_notional)}", d["notional"])
    leverage = (
        f"average {num(s.avg_leverage)}x, max {num(s.max_leverage)}x"
        if s.max_leverage is not None
        else f"n/a ({s.leverage_note})"
    )
    out += _line("Leverage", leverage, d["leverage"])
    if s.equity is not None:
        held = ", ".join(f"{p.coin} {plain(p.size)}" for p in s.positions) or "flat"
        out += _line("Today", f"equity {usd(s.equity)}; positions: {held}", d["positions"])
    else:
        held = ", ".join(f"{coin} {plain(size)}" for coin, size in s.end_positions) or "flat"
        out += _line("After the last fill", f"positions: {held}", d["positions"])
    if s.gaps:
        out += _line("History gaps", str(s.gaps), d["gaps"])
    out += ["", "Per coin: fills, volume, realised PnL, fees, funding, closed round trips"]
    out += [
        f"  {c.coin}: {c.fills}, {usd(c.volume)}, {usd(c.realised_pnl)}, {usd(c.fees)}, {usd(c.funding)}, "
        f"{c.round_trips}"
        for c in s.coins
    ]
    return "\n".join(out)


def inspect_json(s: SourceStats) -> dict[str, Any]:
    return {
        "address": s.address,
        "window": {
            "start_ms": s.start_ms,
            "end_ms": s.end_ms,
            "start": utc(s.start_ms),
            "end": utc(s.end_ms),
        },
        "origin": s.origin,
        "disclaimer": DISCLAIMER,
        "stats": {
            "fills": s.fills,
            "orders": s.orders,
            "changes": s.changes,
            "changes_per_day": ratio_json(s.changes_per_day),
            "coins": [c.coin for c in s.coins],
            "realised_pnl": usd_json(s.realised_pnl),
            "fees": usd_json(s.fees),
            "funding": usd_json(s.funding),
            "funding_note": s.funding_note,
            "net_pnl": usd_json(s.net_pnl),
            "round_trips": s.round_trips,
            "complete_round_trips": s.complete_round_trips,
            "winning_round_trips": s.winning_round_trips,
            "win_rate": ratio_json(s.win_rate),
            "closing_fills": s.closing_fills,
            "winning_closing_fills": s.winning_closing_fills,
            "closing_fill_win_rate": ratio_json(s.closing_fill_win_rate),
            "gross_profit": usd_json(s.gross_profit),
            "gross_loss": usd_json(s.gross_loss),
            "profit_factor": ratio_json(s.profit_factor),
            "avg_holding_ms": None if s.avg_holding_ms is None else int(s.avg_holding_ms),
            "max_drawdown": usd_json(s.drawdown.amount),
            "max_drawdown_pct": ratio_json(s.drawdown_pct),
            "drawdown_peak_ms": s.drawdown.peak_ms,
            "drawdown_trough_ms": s.drawdown.trough_ms,
            "avg_notional": usd_json(s.avg_notional),
            "max_notional": usd_json(s.max_notional),
            "avg_leverage": ratio_json(s.avg_leverage),
            "max_leverage": ratio_json(s.max_leverage),
            "leverage_note": s.leverage_note,
            "gaps": s.gaps,
        },
        "per_coin": [
            {
                "coin": c.coin,
                "fills": c.fills,
                "volume": usd_json(c.volume),
                "realised_pnl": usd_json(c.realised_pnl),
                "fees": usd_json(c.fees),
                "funding": usd_json(c.funding),
                "round_trips": c.round_trips,
            }
            for c in s.coins
        ],
        "end_positions": {coin: plain(size) for coin, size in s.end_positions},
        "equity": usd_json(s.equity),
        "positions": [
            {
                "coin": p.coin,
                "size": plain(p.size),
                "entry_px": None if p.entry_px is None else plain(p.entry_px),
                "unrealized_pnl": usd_json(p.unrealized_pnl),
                "leverage": p.leverage,
            }
            for p in s.positions
        ],
        "equity_curve": _curve_json(s.curve),
        "definitions": INSPECT,
    }


# --- backtest -------------------------------------------------------------------------------------


def _reasons(result: BacktestResult, outcome: Outcome) -> str:
    reasons = result.reasons(outcome)
    return ", ".join(f"{reason} {n}" for reason, n in reasons.items()) or "none"


def backtest_text(r: BacktestResult) -> str:
    d = BACKTEST
    p = r.params
    levels = {ALL_TOKENS: p.config.k(ALL_TOKENS), **p.config.scaling}
    scaling = ", ".join(f"{coin}={plain(k)} %" for coin, k in sorted(levels.items()))
    depth = "infinite" if p.slippage.depth_usd_per_pct is None else usd(p.slippage.depth_usd_per_pct)
    known = len(p.slippage.per_coin_depth)
    books = f" (today's venue books for {known} coins, this default for the rest)" if known else ""
    out = [
        f"Backtest of copying {r.address}",
        f"Window: {utc(r.start_ms)} to {utc(r.end_ms)} ({duration(r.end_ms - r.start_ms)}); from {r.origin}",
        DISCLAIMER,
        "",
        f"Follower equity {usd(p.follower_equity)}, source equity {usd(p.source_equity)}, scaling {scaling}",
        f"Taker fee {pct(p.taker_fee, '0.0001')}, copy delay {p.delay_ms} ms, "
        f"half-spread {pct(p.slippage.half_spread, '0.0001')}, book depth {depth} per 1 %{books}",
        f"Method: {d['method']}",
        "",
    ]
    out += _line("Follower PnL", usd(r.follower_pnl), d["follower_pnl"])
    out += [
        f"    of which realised {usd(r.follower_realised)}, fees {usd(r.follower_fees)}, "
        f"slippage paid {usd(r.follower_slippage)}, volume {usd(r.follower_volume)}"
    ]
    out += _line(
        "Source PnL", f"{usd(r.source_pnl)} (venue realised: {usd(r.source_realised)})", d["source_pnl"]
    )
    out += _line("Ideal follower PnL", usd(r.ideal_pnl), d["ideal_pnl"])
    te = f"{usd(r.tracking_error)} ({pct(r.tracking_error_pct)} of the follower's equity), max gap "
    out += _line("Tracking error", te + usd(r.max_tracking_gap), d["tracking_error"])
    total = len(r.decisions)
    counts = ", ".join(f"{o.value} {r.count(o)}" for o in Outcome)
    out += _line("Decisions", f"{total}: {counts}", d["decisions"])
    out += [f"    deferred: {_reasons(r, Outcome.DEFERRED)}", f"    skipped: {_reasons(r, Outcome.SKIPPED)}"]
    out += [f"    partial fills {r.partial_fills}, left out of sync after retries {r.out_of_sync}"]
    held = ", ".join(f"{coin} {plain(size)}" for coin, size in r.end_positions) or "flat"
    out += [f"Follower at the end: {held}", "", f"Prices: {d['prices']}", f"Slippage: {d['slippage']}"]
    return "\n".join(out)


def backtest_json(r: BacktestResult) -> dict[str, Any]:
    p = r.params
    return {
        "address": r.address,
        "window": {
            "start_ms": r.start_ms,
            "end_ms": r.end_ms,
            "start": utc(r.start_ms),
            "end": utc(r.end_ms),
        },
        "origin": r.origin,
        "disclaimer": DISCLAIMER,
        "params": {
            "follower_equity": usd_json(p.follower_equity),
            "source_equity": usd_json(p.source_equity),
            "scaling": {coin: plain(k) for coin, k in sorted(p.config.scaling.items())},
            "taker_fee": plain(p.taker_fee),
            "delay_ms": p.delay_ms,
            "half_spread": plain(p.slippage.half_spread),
            "depth_usd_per_pct": None
            if p.slippage.depth_usd_per_pct is None
            else plain(p.slippage.depth_usd_per_pct),
            "per_coin_depth": {c: usd_json(v) for c, v in sorted(p.slippage.per_coin_depth.items())},
            "retries": p.retries,
            "min_notional": plain(p.min_notional),
            "slippage_cap": plain(p.config.slippage_cap),
        },
        "follower": {
            "pnl": usd_json(r.follower_pnl),
            "realised": usd_json(r.follower_realised),
            "fees": usd_json(r.follower_fees),
            "slippage": usd_json(r.follower_slippage),
            "volume": usd_json(r.follower_volume),
            "end_positions": {coin: plain(size) for coin, size in r.end_positions},
        },
        "source": {
            "pnl": usd_json(r.source_pnl),
            "realised": usd_json(r.source_realised),
            "fees": usd_json(r.source_fees),
        },
        "ideal_pnl": usd_json(r.ideal_pnl),
        "tracking_error": usd_json(r.tracking_error),
        "tracking_error_pct": ratio_json(r.tracking_error_pct),
        "max_tracking_gap": usd_json(r.max_tracking_gap),
        "decisions": {
            "total": len(r.decisions),
            **{o.value: r.count(o) for o in Outcome},
            "deferred_reasons": r.reasons(Outcome.DEFERRED),
            "skipped_reasons": r.reasons(Outcome.SKIPPED),
            "partial_fills": r.partial_fills,
            "out_of_sync": r.out_of_sync,
        },
        "log": [
            {
                "time_ms": x.time_ms,
                "coin": x.coin,
                "event": x.event,
                "outcome": x.outcome.value,
                "reason": x.reason,
                "guards": list(x.guards),
                "side": x.side,
                "ordered": plain(x.ordered),
                "filled": plain(x.filled),
                "avg_px": None if x.avg_px is None else ratio_json(x.avg_px),
                "mid": None if x.mid is None else ratio_json(x.mid),
                "source_px": None if x.source_px is None else ratio_json(x.source_px),
                "fee": usd_json(x.fee),
                "out_of_sync": x.out_of_sync,
            }
            for x in r.decisions
        ],
        "curves": {
            "follower": _curve_json(r.follower_curve),
            "source": _curve_json(r.source_curve),
            "ideal": _curve_json(r.ideal_curve),
        },
        "definitions": BACKTEST,
    }
