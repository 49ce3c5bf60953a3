"""Reading a source's history from a venue (the `Venue` protocol) or from a recording (`--fills FILE`).

Online: fills by time (paged by the venue client), funding payments, today's account, the universe
(lots, maximum leverage), mids, and for a backtest the order books (today's depth is the slippage
model's proxy for the past). A venue that does not serve funding (the localnet refuses `userFunding`; GMX
has no such capability) gives funding None: it counts as 0 and the output says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import httpx

from bot.analytics.history import DAY_MS, FundingEvent, History, make_history
from bot.domain import OrderBook, Venue, VenueRequestError
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
RATE_LIMITED = 429


def book_depth(book: OrderBook | None) -> Decimal | None:
    """USD of resting size within 1 % of the mid, averaged over the two sides; None if no book."""
    if book is None or not book.bids or not book.asks:
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
    except VenueRequestError as exc:
        if exc.status == RATE_LIMITED:
            raise VenueError(
                f"{what}: the venue's request budget is spent (HTTP 429); try again later"
            ) from None
        raise VenueError(f"{what}: {exc}") from None
    except ValueError as exc:  # an answer the venue client could not parse
        raise VenueError(f"{what}: unexpected answer: {exc}") from None


async def _with_progress(call: Awaitable[T], venue: Venue, stage: str, report: Report | None) -> T:
    """Await `call`, reporting how many pages (requests) it has made so far."""
    task = asyncio.ensure_future(call)
    before = venue.requests_made()
    while report is not None and not task.done():
        await asyncio.wait({task}, timeout=0.1)
        report(stage, venue.requests_made() - before, None)
    return await task


async def _funding(
    venue: Venue, address: str, start_ms: int, end_ms: int
) -> tuple[list[FundingEvent] | None, str]:
    if not venue.capabilities.funding_history:
        return None, f"{venue.capabilities.display} has no funding history: counted as 0"
    try:
        events = await venue.funding(address, start_ms, end_ms)
    except VenueRequestError as exc:
        if exc.status is None or exc.status == RATE_LIMITED or exc.status >= 500:
            raise
        # the localnet (and a venue without the endpoint) refuses the request type
        return None, f"this venue does not serve userFunding (HTTP {exc.status}): counted as 0"
    return events, "userFunding"


async def _book(venue: Venue, coin: str) -> OrderBook | None:
    try:
        return await venue.order_book(coin)
    except ValueError:
        return None  # a book we cannot read: the model's default depth is used


async def fetch_history(
    venue: Venue,
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
        _with_progress(venue.fills_between(address, start_ms, end_ms), venue, "fills", report),
        "userFillsByTime",
        url,
    )
    funding, note = await _venue(_funding(venue, address, start_ms, end_ms), "userFunding", url)
    account = await _venue(venue.account(address), "clearinghouseState", url)
    instruments = await _venue(venue.instruments(), "meta", url)
    mids = await _venue(venue.mids(), "allMids", url)
    history = make_history(address, fills, start_ms=start_ms, end_ms=end_ms, funding=funding)
    listed = {i.coin: Market(i.coin, i.sz_decimals, i.max_leverage) for i in instruments}
    markets = {**infer_markets(history.fills), **{c: listed[c] for c in history.coins if c in listed}}
    depths: dict[str, Decimal] = {}
    if depth and venue.capabilities.order_book:
        for n, coin in enumerate(history.coins, start=1):
            found = book_depth(await _venue(_book(venue, coin), "l2Book", url))
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
