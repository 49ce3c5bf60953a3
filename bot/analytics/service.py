"""The service API of source analytics: `inspect_source` and `backtest_source`, for the CLI and
Telegram alike (`/inspect`, `/backtest`). Each returns a typed report that renders as text, JSON and
PNG. Bad input raises `InvalidInput` naming the field; venue trouble raises `VenueError` /
`VenueUnreachable` (bot.service.errors)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.analytics import charts, render
from bot.analytics.backtest import Backtest, BacktestParams, BacktestResult
from bot.analytics.fetch import Report, fetch_history, read_history
from bot.analytics.history import History
from bot.analytics.market import (
    DEFAULT_DELAY_MS,
    DEFAULT_DEPTH_USD_PER_PCT,
    DEFAULT_HALF_SPREAD,
    DEFAULT_TAKER_FEE,
    SlippageModel,
)
from bot.analytics.stats import SourceStats, compute_stats
from bot.domain import Venue
from bot.service import inputs
from bot.service.errors import InvalidInput
from bot.service.settings import USD_CAP, settings_from_json
from bot.venues import hyperliquid_reads
from strategies.config import ALL_TOKENS, FollowConfig

DEFAULT_DAYS = 30
MAX_DAYS = 3650
DEFAULT_FOLLOWER_EQUITY = Decimal(1000)
MAX_DELAY_MS = 3_600_000
SOURCE_EQUITY_OFFLINE = "needed with a recording (online it is read from the venue)"
_ZERO = Decimal(0)
_FRACTION_CAP = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class InspectReport:
    stats: SourceStats

    def text(self) -> str:
        return render.inspect_text(self.stats)

    def to_json(self) -> dict[str, Any]:
        return render.inspect_json(self.stats)

    def png(self) -> bytes:
        return charts.inspect_chart(self.stats)


@dataclass(frozen=True, slots=True)
class BacktestReport:
    result: BacktestResult

    def text(self) -> str:
        return render.backtest_text(self.result)

    def to_json(self) -> dict[str, Any]:
        return render.backtest_json(self.result)

    def png(self) -> bytes:
        return charts.backtest_chart(self.result)


def _days(value: object | None, *, offline: bool) -> int | None:
    if value is None:
        return None if offline else DEFAULT_DAYS
    if isinstance(value, bool) or not isinstance(value, int | str):
        problem = f"expected a whole number of days, got {inputs.shown(value)}"
        raise InvalidInput("days", problem, f"1..{MAX_DAYS}")
    try:
        days = int(value)
    except ValueError:
        raise InvalidInput("days", f"not a whole number: {inputs.shown(value)}", f"1..{MAX_DAYS}") from None
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput("days", f"out of range: {days}", f"1..{MAX_DAYS}")
    return days


async def load_history(
    address: str,
    *,
    days: object | None = None,
    fills_file: Path | None = None,
    api_url: str | None = None,
    venue: Venue | None = None,
    now_ms: int | None = None,
    depth: bool = False,
    report: Report | None = None,
) -> History:
    """The source's history: from `fills_file` (offline), else from `venue` (or a Hyperliquid client
    of its own on `api_url`) over the last `days` (default 30) before `now_ms` (default: now)."""
    who = inputs.address(address, "ADDRESS")
    window = _days(days, offline=fills_file is not None)
    if fills_file is not None:
        return read_history(fills_file, who, days=window)
    assert window is not None
    now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    if venue is not None:
        url = api_url or "the venue"
        return await fetch_history(venue, url, who, days=window, now_ms=now, depth=depth, report=report)
    if api_url is None:
        raise InvalidInput("--fills", "no recording and no venue URL given", "--fills FILE, or a venue URL")
    own = hyperliquid_reads(api_url)
    try:
        return await fetch_history(own, api_url, who, days=window, now_ms=now, depth=depth, report=report)
    finally:
        await own.close()


async def inspect_source(
    address: str,
    *,
    days: object | None = None,
    fills_file: Path | None = None,
    api_url: str | None = None,
    venue: Venue | None = None,
    now_ms: int | None = None,
    report: Report | None = None,
) -> InspectReport:
    """The source's record over the window (see docs/analytics.md for every definition)."""
    history = await load_history(
        address, days=days, fills_file=fills_file, api_url=api_url, venue=venue, now_ms=now_ms, report=report
    )
    return InspectReport(compute_stats(history))


def _int(value: object, field: str, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidInput(field, f"expected a whole number, got {inputs.shown(value)}", f"0..{high}")
    try:
        out = int(value)
    except ValueError:
        raise InvalidInput(field, f"not a whole number: {inputs.shown(value)}", f"0..{high}") from None
    if not 0 <= out <= high:
        raise InvalidInput(field, f"out of range: {out}", f"0..{high}")
    return out


# The backtest's own inputs (its follow options are the settings' RANGES): docs/inputs.md.
BACKTEST_RANGES: dict[str, inputs.Range] = {
    "equity": inputs.Range(_ZERO, USD_CAP, "USD", open_low=True),
    "source_equity": inputs.Range(_ZERO, USD_CAP, "USD", open_low=True),
    "taker_fee": inputs.Range(_ZERO, _FRACTION_CAP, "fraction of the notional"),
    "half_spread": inputs.Range(_ZERO, _FRACTION_CAP, "fraction of the mid"),
    "depth": inputs.Range(_ZERO, USD_CAP, "USD per 1 % of price a side (or inf)", open_low=True),
}


def _fraction(value: object | None, field: str, default: Decimal) -> Decimal:
    return default if value is None else BACKTEST_RANGES[field].read(value, field)


def _positive(value: object, field: str) -> Decimal:
    return BACKTEST_RANGES[field].read(value, field)


@dataclass(frozen=True, slots=True)
class BacktestInputs:
    """The user's backtest inputs, checked. `source_equity` None: read it from the venue; `depth` None:
    the venue's books (default depth where there is none), `INFINITE_DEPTH`: no market impact."""

    follower_equity: Decimal
    source_equity: Decimal | None
    config: FollowConfig
    taker_fee: Decimal
    delay_ms: int
    half_spread: Decimal
    depth: Decimal | None

    def params(self, history: History) -> BacktestParams:
        source = self.source_equity
        if source is None:
            if history.account is None:
                raise InvalidInput("source_equity", SOURCE_EQUITY_OFFLINE, "a decimal > 0")
            source = history.account.equity
            if source <= 0:
                raise InvalidInput("source_equity", f"the source's equity on the venue is {source}", "> 0")
        if self.depth is None:
            books = dict(history.depth_usd_per_pct)
            model = SlippageModel(self.half_spread, DEFAULT_DEPTH_USD_PER_PCT, books)
        else:
            model = SlippageModel(self.half_spread, None if self.depth == INFINITE_DEPTH else self.depth)
        return BacktestParams(
            source_equity=source,
            follower_equity=self.follower_equity,
            config=self.config,
            taker_fee=self.taker_fee,
            delay_ms=self.delay_ms,
            slippage=model,
        )


INFINITE_DEPTH = Decimal("Infinity")


def backtest_inputs(
    *,
    equity: object | None = None,
    source_equity: object | None = None,
    scaling: object | None = None,
    scale: Mapping[str, object] | None = None,
    options: Mapping[str, object] | None = None,
    taker_fee: object | None = None,
    delay_ms: object | None = None,
    half_spread: object | None = None,
    depth: object | None = None,
) -> BacktestInputs:
    """Check the inputs; refusals name the field. The follow's settings are those of `follow add`
    (`options`: any key of docs/simulate.md's follow object); Copy Current is on unless they say no."""
    levels: dict[str, object] = {} if scaling is None else {ALL_TOKENS: scaling}
    levels |= dict(scale or {})
    doc: dict[str, object] = {"copy_current": True, **(options or {}), "scaling": levels}
    if isinstance(depth, str) and depth.strip().lower() in ("inf", "infinite"):
        depth_value: Decimal | None = INFINITE_DEPTH
    else:
        depth_value = None if depth is None else _positive(depth, "depth")
    return BacktestInputs(
        follower_equity=DEFAULT_FOLLOWER_EQUITY if equity is None else _positive(equity, "equity"),
        source_equity=None if source_equity is None else _positive(source_equity, "source_equity"),
        config=settings_from_json(doc).config,
        taker_fee=_fraction(taker_fee, "taker_fee", DEFAULT_TAKER_FEE),
        delay_ms=DEFAULT_DELAY_MS if delay_ms is None else _int(delay_ms, "delay_ms", MAX_DELAY_MS),
        half_spread=_fraction(half_spread, "half_spread", DEFAULT_HALF_SPREAD),
        depth=depth_value,
    )


async def backtest_source(
    address: str,
    checked: BacktestInputs,
    *,
    days: object | None = None,
    fills_file: Path | None = None,
    api_url: str | None = None,
    venue: Venue | None = None,
    now_ms: int | None = None,
    report: Report | None = None,
) -> BacktestReport:
    """What copying the source over the window would have done, with `checked = backtest_inputs(...)`.
    Offline (`fills_file`) the source's equity must be given."""
    if fills_file is not None and checked.source_equity is None:
        raise InvalidInput("source_equity", SOURCE_EQUITY_OFFLINE, "a decimal > 0")
    history = await load_history(
        address,
        days=days,
        fills_file=fills_file,
        api_url=api_url,
        venue=venue,
        now_ms=now_ms,
        depth=checked.depth is None,
        report=report,
    )
    replay = Backtest(history, history.markets, checked.params(history))
    progress = None if report is None else (lambda done, total: report("replay", done, total))
    return BacktestReport(replay.run(progress))
