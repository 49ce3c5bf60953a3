"""What every figure means, in one place: the text and JSON renderers print these next to the values
(docs/analytics.md says the same at length)."""

from __future__ import annotations

from typing import Final

DISCLAIMER: Final = (
    "Descriptive statistics of past activity in the window shown. Not advice, not a forecast: "
    "past results say nothing reliable about future ones."
)

INSPECT: Final[dict[str, str]] = {
    "window": "UTC time range the figures cover (offline: the recording's first to last fill).",
    "fills": "Fills in the window.",
    "orders": "Distinct (coin, order id) among the fills.",
    "changes": "Position changes: the fills of one coin at one timestamp form one change (as copied).",
    "changes_per_day": "changes / window length in days.",
    "realised_pnl": "Σ closedPnl of the fills (the venue's realised PnL, before fees and funding).",
    "fees": "Σ fee of the fills (negative = rebates).",
    "funding": "Σ funding payments in the window (userFunding; + received, − paid).",
    "net_pnl": "realised_pnl − fees + funding.",
    "round_trips": (
        "Position lifecycles closed in the window: from the fill that takes a coin's position off 0 "
        "(or the window start if it was already open) to the fill that brings it back to 0 or flips it."
    ),
    "win_rate": (
        "Round trips with net PnL > 0 / round trips closed in the window. A trip's net PnL is Σ "
        "closedPnl − fees of its fills in the window (a flip's fee is split |old| : |new|)."
    ),
    "closing_fill_win_rate": (
        "Closing fills (that reduce or flip the position they start from) with closedPnl − the closing "
        "part of their fee > 0 / closing fills."
    ),
    "profit_factor": "Σ net PnL of winning round trips / |Σ net PnL of losing ones| (none when no loss).",
    "avg_holding_time": "Mean close time − open time of round trips opened and closed in the window.",
    "max_drawdown": (
        "Largest fall of the realised equity curve (cumulative closedPnl − fees + funding, from 0 at "
        "the window start) from its running peak, USD; % of the estimated equity at that peak "
        "(today's equity − the window's net PnL + the peak) when the equity is known."
    ),
    "notional": (
        "Gross notional Σ |size| · last fill price over coins, after each change; average weighted by "
        "time over the window, and maximum."
    ),
    "leverage": (
        "Gross notional / equity, where equity at t = today's equity − the net realised PnL after t "
        "(online only; ignores unrealised PnL, deposits and withdrawals). Time-weighted mean and max."
    ),
    "positions": (
        "Today's positions and equity from the venue (online); offline the sizes after the last fill."
    ),
    "gaps": "Times the venue's startPosition disagreed with the fills before it (fills missing).",
}

BACKTEST: Final[dict[str, str]] = {
    "method": (
        "The source's changes replayed through the bot's engine (same sizing, lot rounding, $10 "
        "minimum, filters and guards), following from the window start with Copy Current on."
    ),
    "ratio": "ρ = E_F / E_S × k / 100, locked at each open with the follower's equity at that moment.",
    "prices": (
        "A copy of a change at t is priced at t + delay: the source's last fill price at or before then."
    ),
    "slippage": (
        "Uniform book of D USD per 1 % on each side, from the mid ± half-spread: average price "
        "mid · (1 ± (half_spread + N / (2 D) %)) for notional N; the IOC limit (mid ± slippage cap) "
        "stops the walk, the rest is retried, then the pair is out of sync."
    ),
    "fees": "Taker fee rate × filled notional on every follower fill.",
    "follower_pnl": "Follower realised − fees + unrealised, marked at the source's fill prices.",
    "source_pnl": (
        "Source PnL over the window at the same prices: Σ cash flows of its fills + size × mark − "
        "the size held at the start × its first price (fees included, funding not)."
    ),
    "ideal_pnl": "Σ over coins of ρ_c × the source's PnL in the coin (ρ_c nominal: today's E_F / E_S × k_c).",
    "tracking_error": "Root mean square of follower PnL − ideal PnL over the replay's points, USD.",
    "decisions": (
        "Every engine decision: sent (an order), deferred (below the minimum order value; the target "
        "keeps the residual), skipped (a filter, guard or state; the reason says which), unchanged."
    ),
}
