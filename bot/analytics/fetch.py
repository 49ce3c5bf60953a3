"""Reading a source's history from the venue (`InfoClient`) or from a recording (`--fills FILE`).

Online: fills by time (paged by the client past 2,000 per answer), funding (`userFunding`, paged
here past 500 per answer), today's account, the universe (lots, maximum leverage), mids, and for a
backtest the order books (today's depth is the slippage model's proxy for the past). A venue that does
not serve `userFunding` (the localnet) gives funding None: it counts as 0 and the output says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx

from adapters.hyperliquid.info import InfoClient, InfoRateLimited, InfoRequestError
from adapters.hyperliquid.parsing import ParseError, parse_l2_book
from bot.analytics.funding import FUNDING_PAGE_LIMIT, parse_user_funding
from bot.analytics.history import DAY_MS, FundingEvent, History, make_history
from bot.fills_file import load_fills
from bot.service.errors import VenueError, VenueUnreachable
from bot.simulate import infer_markets
from strategies.model import Market
from strategies.num import add, div, mul, sub

T = TypeVar("T")
# `report(stage, done, total)`: what a long fetch or replay has done so far (total None: unknown)
Report = Callable[[str, int, int | None], None]
NO_FUNDING_OFFLINE = "a recording has no funding: counted as 0"
BOOK_BAND = Decimal("0.01")  # depth is the book's notional within 1 % of the mid


async def fetch_user_funding(info: InfoClient, user: str, start_ms: int, end_ms: int) -> list[FundingEvent]:
    """Every funding payment in `[start_ms, end_ms]`, oldest first (paged past 500 per answer)."""
    events: dict[tuple[int, str], FundingEvent] = {}
    start = start_ms
    while True:
        body: dict[str, Any] = {"type": "userFunding", "user": user, "startTime": start, "endTime": end_ms}
        page = parse_user_funding(await info.post(body))
        events.update(((e.time_ms, e.coin), e) for e in page)
        if len(page) < FUNDING_PAGE_LIMIT:
            break
        newest = max(e.time_ms for e in page)
        start = newest + 1 if newest == start else newest
    return sorted(events.values(), key=lambda e: (e.time_ms, e.coin))


def book_depth(payload: Any) -> Decimal | None:
    """USD of resting size within 1 % of the mid, averaged over the two sides; None if no book."""
    if payload is None:
        return None
    book = parse_l2_book(payload)
    if not book.bids or not book.asks:
        return None
    mid = div(add(book.bids[0].px, book.asks[0].px), Decimal(2))
    low, high = mul(mid, sub(Decimal(1), BOOK_BAND)), mul(mid, add(Decimal(1), BOOK_BAND))
    bids = add(*(mul(level.px, level.sz) for level in book.bids if level.px >= low))
    asks = add(*(mul(level.px, level.sz) for level in book.asks if level.px <= high))
    depth = div(add(bids, asks), Decimal(2))
    return depth if depth > 0 else None


async def _venue(call: Awaitable[T], what: str, url: str) -> T:
    try:
        return await call
    except httpx.TransportError as exc:
        raise VenueUnreachable(f"{what}: the venue at {url} did not answer ({type(exc).__name__})") from None
    except InfoRateLimited:
        raise VenueError(f"{what}: the venue's request budget is spent (HTTP 429); try again later") from None
    except InfoRequestError as exc:
        raise VenueError(f"{what}: {exc}") from None
    except ParseError as exc:
        raise VenueError(f"{what}: unexpected answer: {exc}") from None


async def _with_progress(call: Awaitable[T], info: InfoClient, stage: str, report: Report | None) -> T:
    """Await `call`, reporting how many pages (requests) it has made so far."""
    task = asyncio.ensure_future(call)
    before = len(info.calls)
    while report is not None and not task.done():
        await asyncio.wait({task}, timeout=0.1)
        report(stage, len(info.calls) - before, None)
    return await task


async def _funding(
    info: InfoClient, address: str, start_ms: int, end_ms: int
) -> tuple[list[FundingEvent] | None, str]:
    try:
        events = await fetch_user_funding(info, address, start_ms, end_ms)
    except InfoRequestError as exc:
        if isinstance(exc, InfoRateLimited) or exc.status >= 500:
            raise
        # the localnet (and a venue without the endpoint) refuses the request type
        return None, f"this venue does not serve userFunding (HTTP {exc.status}): counted as 0"
    return events, "userFunding"


async def fetch_history(
    info: InfoClient,
    url: str,
    address: str,
    *,
    days: int,
    now_ms: int,
    depth: bool = False,
    report: Report | None = None,
) -> History:
    start_ms, end_ms = now_ms - days * DAY_MS, now_ms
    fills = await _venue(
        _with_progress(info.user_fills_by_time(address, start_ms, end_ms), info, "fills", report),
        "userFillsByTime",
        url,
    )
    funding, note = await _venue(_funding(info, address, start_ms, end_ms), "userFunding", url)
    account = await _venue(info.account_state(address), "clearinghouseState", url)
    instruments = await _venue(info.meta(), "meta", url)
    mids = await _venue(info.all_mids(), "allMids", url)
    history = make_history(address, fills, start_ms=start_ms, end_ms=end_ms, funding=funding)
    listed = {i.coin: Market(i.coin, i.sz_decimals, i.max_leverage) for i in instruments}
    markets = {**infer_markets(history.fills), **{c: listed[c] for c in history.coins if c in listed}}
    depths: dict[str, Decimal] = {}
    if depth:
        for n, coin in enumerate(history.coins, start=1):
            payload = await _venue(info.post({"type": "l2Book", "coin": coin}), "l2Book", url)
            try:
                found = book_depth(payload)
            except ParseError:
                found = None  # a book we cannot read: the model's default depth is used
            if found is not None:
                depths[coin] = found
            if report is not None:
                report("books", n, len(history.coins))
    return replace(
        history,
        funding_note=note,
        account=account,
        markets=markets,
        depth_usd_per_pct=depths,
        mids=mids,
        origin=f"venue {url}",
    )


def read_history(path: Path, address: str, *, days: int | None) -> History:
    """A recording's fills (venue JSON or vcrpy YAML); with `days`, only the last `days` before its
    last fill. Refusals name `--fills`."""
    fills = load_fills(path)
    end = max((f.time_ms for f in fills), default=None)
    start = None if days is None or end is None else end - days * DAY_MS
    history = make_history(address, fills, start_ms=start, end_ms=end)
    return replace(
        history,
        funding_note=NO_FUNDING_OFFLINE,
        markets=infer_markets(history.fills),
        origin=f"file {path.name}",
    )
