"""Read-only async client for Hyperliquid's `POST /info`, returning parsed records.

One `httpx.AsyncClient` (one connection pool) per instance. Every request's venue weight is recorded
(`calls`, `weight_used`) so callers can pace themselves against the 1200/minute budget. No retries
here: what to do on 429/5xx is the caller's policy.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Any

import httpx

from adapters.hyperliquid.constants import FILLS_PAGE_LIMIT, INFO_PATH, info_weight
from adapters.hyperliquid.funding import FUNDING_PAGE_LIMIT, parse_user_funding
from adapters.hyperliquid.parsing import (
    OpenOrder,
    OrderStatus,
    parse_all_mids,
    parse_candles,
    parse_clearinghouse_state,
    parse_l2_book,
    parse_mark_prices,
    parse_meta,
    parse_open_orders,
    parse_order_status,
    parse_perp_dexs,
    parse_spot_usdc,
    parse_user_fills,
)
from bot.domain import (
    AccountRole,
    AccountState,
    AgentApproval,
    BookLevel,
    Candle,
    FundingPayment,
    Instrument,
    OrderBook,
    SourceFill,
    VenueRequestError,
)

_CLOID = re.compile(r"0x[0-9a-fA-F]{32}")


def _on_dex(body: dict[str, Any], dex: str) -> dict[str, Any]:
    """`body` asked of perp dex `dex` (the default dex's requests are sent without the field)."""
    return {**body, "dex": dex} if dex else body


class InfoRequestError(VenueRequestError):
    """The venue answered an /info request with an error status (or something that is not JSON)."""

    status: int

    def __init__(self, request_type: str, status: int, detail: str) -> None:
        super().__init__(f"/info {request_type}: HTTP {status}: {detail[:200]}")
        self.request_type = request_type
        self.status = status


class InfoRateLimited(InfoRequestError):
    """HTTP 429: the IP's weight budget is spent. `retry_after_s`: the venue's `Retry-After`, if given
    in seconds."""

    def __init__(self, request_type: str, detail: str, retry_after_s: float | None = None) -> None:
        super().__init__(request_type, 429, detail)
        self.retry_after_s = retry_after_s


def retry_after_s(response: httpx.Response) -> float | None:
    return parse_retry_after(response.headers.get("Retry-After"))


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` in seconds when given as a number (an HTTP date is ignored: we back off anyway)."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds < 3600 else None


@dataclass(frozen=True, slots=True)
class InfoCall:
    request_type: str
    weight: int
    items: int  # list entries in the answer (they add weight for fill-type requests)


class InfoClient:
    def __init__(
        self,
        base_url: str,
        *,
        client: httpx.AsyncClient | None = None,
        timeout_s: float = 10.0,
        fills_page_limit: int = FILLS_PAGE_LIMIT,
    ) -> None:
        self._url = base_url.rstrip("/") + INFO_PATH
        self._own_client = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout_s)
        self._page_limit = fills_page_limit
        self.calls: deque[InfoCall] = deque(maxlen=1000)  # the most recent, for inspection
        self.requests = 0  # every request sent (progress of a long paged read)
        self.weight_used = 0

    async def __aenter__(self) -> InfoClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def post(self, body: dict[str, Any]) -> Any:
        """One /info request; the answer JSON-decoded with Decimals (never floats)."""
        request_type = str(body.get("type"))
        self.requests += 1
        response = await self._client.post(self._url, json=body)
        if response.status_code == 429:
            raise InfoRateLimited(request_type, response.text, retry_after_s(response))
        if response.status_code != 200:
            raise InfoRequestError(request_type, response.status_code, response.text)
        try:
            payload = json.loads(response.content, parse_float=Decimal)
        except ValueError:
            raise InfoRequestError(request_type, response.status_code, "answer is not JSON") from None
        items = len(payload) if isinstance(payload, list) else 0
        call = InfoCall(request_type, info_weight(request_type, items), items)
        self.calls.append(call)
        self.weight_used += call.weight
        return payload

    async def user_role(self, user: str) -> AccountRole:
        """`userRole`: what `user` is (ValueError for an answer we do not understand)."""
        answer = await self.post({"type": "userRole", "user": user})
        role = answer.get("role") if isinstance(answer, dict) else None
        if not isinstance(role, str):
            raise ValueError(f"the userRole answer for {user} has no role")
        data = answer.get("data")
        owner = ""
        if isinstance(data, dict):  # an agent's master is `user`, a sub-account's is `master`
            named = data.get("user", data.get("master"))
            owner = named.lower() if isinstance(named, str) else ""
        return AccountRole(role, owner)

    async def max_builder_fee(self, user: str, builder: str) -> int:
        """`maxBuilderFee`: the rate `user` approved `builder` for, in tenths of a basis point (0: none)."""
        answer = await self.post({"type": "maxBuilderFee", "user": user, "builder": builder.lower()})
        if not isinstance(answer, int) or isinstance(answer, bool) or answer < 0:
            raise ValueError(f"the maxBuilderFee answer for {user} is not a rate: {str(answer)[:100]}")
        return answer

    async def extra_agents(self, master: str) -> list[AgentApproval]:
        """`extraAgents`: the named agent wallets `master` approved (entries we do not understand skipped)."""
        answer = await self.post({"type": "extraAgents", "user": master})
        out: list[AgentApproval] = []
        for entry in answer if isinstance(answer, list) else []:
            if not isinstance(entry, dict) or not isinstance(entry.get("address"), str):
                continue
            valid_until = entry.get("validUntil")
            out.append(
                AgentApproval(
                    entry["address"].lower(),
                    str(entry.get("name", "")),
                    valid_until if isinstance(valid_until, int) else None,
                )
            )
        return out

    async def user_funding(self, user: str, start_ms: int, end_ms: int) -> list[FundingPayment]:
        """Every funding payment in `[start_ms, end_ms]`, oldest first (paged past 500 per answer)."""
        events: dict[tuple[int, str], FundingPayment] = {}
        start = start_ms
        while True:
            body: dict[str, Any] = {
                "type": "userFunding",
                "user": user,
                "startTime": start,
                "endTime": end_ms,
            }
            page = parse_user_funding(await self.post(body))
            events.update(((e.time_ms, e.coin), e) for e in page)
            if len(page) < FUNDING_PAGE_LIMIT:
                break
            newest = max(e.time_ms for e in page)
            start = newest + 1 if newest == start else newest
        return sorted(events.values(), key=lambda e: (e.time_ms, e.coin))

    async def candles(self, coin: str, interval: str, start_ms: int, end_ms: int) -> list[Candle]:
        req = {"coin": coin, "interval": interval, "startTime": start_ms, "endTime": end_ms}
        return parse_candles(await self.post({"type": "candleSnapshot", "req": req}))

    async def l2_book(self, coin: str) -> OrderBook | None:
        """`coin`'s book now, or None when the venue has none for it."""
        payload = await self.post({"type": "l2Book", "coin": coin})
        if payload is None:
            return None
        book = parse_l2_book(payload)
        return OrderBook(
            book.coin,
            tuple(BookLevel(level.px, level.sz) for level in book.bids),
            tuple(BookLevel(level.px, level.sz) for level in book.asks),
        )

    async def perp_dexs(self) -> list[str]:
        """`perpDexs`: the perp dexes, the default (`""`) first, then the builder dexes in asset order."""
        return parse_perp_dexs(await self.post({"type": "perpDexs"}))

    async def mark_prices(self) -> dict[str, Decimal]:
        return parse_mark_prices(await self.post({"type": "metaAndAssetCtxs"}))

    async def meta(self, dex: str = "", offset: int = 0) -> list[Instrument]:
        """One dex's perps, asset ids from `offset` (`parsing.builder_asset_offset` for a builder dex)."""
        return parse_meta(await self.post(_on_dex({"type": "meta"}, dex)), offset)

    async def all_mids(self, dex: str = "") -> dict[str, Decimal]:
        return parse_all_mids(await self.post(_on_dex({"type": "allMids"}, dex)))

    async def clearinghouse_state(self, user: str) -> AccountState:
        """The default dex's perp account only (equity without spot USDC); see `account_state`."""
        return parse_clearinghouse_state(user, await self.post({"type": "clearinghouseState", "user": user}))

    async def spot_usdc(self, user: str) -> Decimal:
        return parse_spot_usdc(await self.post({"type": "spotClearinghouseState", "user": user}))

    async def account_state(self, user: str, dexes: Sequence[str] = ("",)) -> AccountState:
        """Positions on every dex of `dexes` (the default dex always) and the equity across them and
        spot USDC (unified accounts keep collateral there): `bot.domain.equity.account_equity`. One
        `clearinghouseState` per dex: each extra dex costs its weight (poller.py: `poll_weight`)."""
        builders = [d for d in dict.fromkeys(dexes) if d]
        spot, payload, *answers = await asyncio.gather(
            self.spot_usdc(user),
            self.post({"type": "clearinghouseState", "user": user}),
            *(self.post({"type": "clearinghouseState", "user": user, "dex": d}) for d in builders),
        )
        return parse_clearinghouse_state(user, payload, spot, dexes=dict(zip(builders, answers, strict=True)))

    async def user_fills(self, user: str) -> list[SourceFill]:
        """The most recent fills (at most 2,000), newest first as the venue sends them."""
        return parse_user_fills(await self.post({"type": "userFills", "user": user}))

    async def user_fills_by_time(
        self, user: str, start_ms: int, end_ms: int | None = None
    ) -> list[SourceFill]:
        """Every fill with `start_ms <= time <= end_ms`, oldest first, paging past the 2,000-per-answer
        cap: the next page starts at the newest time seen (re-reading that millisecond, so fills sharing
        it are not lost; the repeats are dropped)."""
        fills: dict[SourceFill, None] = {}
        start = start_ms
        while True:
            body: dict[str, Any] = {"type": "userFillsByTime", "user": user, "startTime": start}
            if end_ms is not None:
                body["endTime"] = end_ms
            page = parse_user_fills(await self.post(body))
            fresh = [f for f in page if f not in fills]
            fills.update(dict.fromkeys(fresh))
            if len(page) < self._page_limit:
                break
            newest = max(f.time_ms for f in page)
            # `start` grows every round, so this ends. A full page inside one millisecond cannot be
            # paged further by time: move past it.
            start = newest + 1 if newest == start else newest
            if end_ms is not None and start > end_ms:
                break
        return sorted(fills, key=lambda f: (f.time_ms, f.oid))

    async def open_orders(self, user: str) -> list[OpenOrder]:
        return parse_open_orders(await self.post({"type": "openOrders", "user": user}))

    async def order_status(self, user: str, oid_or_cloid: int | str) -> OrderStatus | None:
        """By venue oid (int) or our cloid (`0x` + 32 hex digits); None if the venue does not know it."""
        if isinstance(oid_or_cloid, str) and not _CLOID.fullmatch(oid_or_cloid):
            raise ValueError(
                f"oid: expected an integer oid or a cloid (0x + 32 hex digits), got {oid_or_cloid!r}"
            )
        return parse_order_status(await self.post({"type": "orderStatus", "user": user, "oid": oid_or_cloid}))
