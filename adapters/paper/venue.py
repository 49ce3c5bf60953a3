"""`PaperVenue`: a `Venue` whose follower accounts are simulated at the live mids of a real venue.

Every read (instruments, mids, accounts of sources, watch, fills_since) goes to the wrapped venue;
orders of the *paper accounts* (opened with `open_account(address, equity)`) never leave the process:

- an order fills in full at the wrapped venue's current mid when its limit allows (a buy at or above
  the mid, a sell at or below); an IOC that cannot fill is refused as the venue refuses it; a GTC rests
  and fills at its limit price once a later call sees the mid cross it; an ALO that would cross is refused;
- the venue's rules are enforced first, with the venue's wording (`VenueWords`): lot and price steps,
  the minimum order value (a reduce-only order that closes the whole position is exempt), reduce-only,
  duplicate cloids, and initial margin at the coin's leverage;
- positions (average entry), realised PnL, fees (`fee_rate` of the notional) and equity
  (start equity + realised − fees + unrealised at the mids) are kept per paper account, by the house's
  one position accounting (`bot.domain.accounting.Book`, PnL settled to USDC's 0.000001);
- `order_status` by cloid, `cancel` of resting orders; `schedule_cancel` does nothing (nothing of
  ours rests on a venue) and `update_leverage` only records the value (validated as the venue does).

Capabilities are the wrapped venue's (orders execute at once: `two_step_execution` False), so the
pipeline behaves exactly as it would live. State is kept in memory, and in `state_path` (JSON, rewritten
atomically after every change) when given, so a restarted paper run finds its positions again.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Final

from adapters.paper.account import MAX_FILLS, USD, ZERO, PaperAccount, PaperOrder, PaperRefused, direction
from adapters.paper.state import load_state, save_state
from bot.domain import (
    AccountRole,
    AccountState,
    AgentApproval,
    Candle,
    FundingPayment,
    Instrument,
    OpenOrder,
    OrderBook,
    OrderRequest,
    OrderResult,
    OrderStatus,
    Position,
    Side,
    SourceFill,
    Tif,
    TradingAccount,
    Venue,
    VenueCapabilities,
    listed_instrument,
)
from bot.domain.hyperliquid import HYPERLIQUID_WORDS, TAKER_FEE
from bot.domain.refusals import VenueWords
from strategies.num import is_valid_price, plain

DEFAULT_FEE_RATE: Final = TAKER_FEE  # the venue paper imitates
DEFAULT_LEVERAGE: Final = 20  # the venue's default cross leverage (capped at the coin's maximum)
NO_TRIGGERS: Final = "paper: trigger orders (stop-loss / take-profit) are not simulated"


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class PaperVenue:
    """See the module docstring. `reads` is the real venue every read goes to."""

    def __init__(
        self,
        reads: Venue,
        *,
        fee_rate: Decimal = DEFAULT_FEE_RATE,
        min_notional: Decimal | None = None,
        words: VenueWords = HYPERLIQUID_WORDS,
        accounts: Mapping[str, Decimal] | None = None,
        state_path: Path | None = None,
        clock_ms: Callable[[], int] = _wall_clock_ms,
    ) -> None:
        if fee_rate < 0 or fee_rate >= 1:
            raise ValueError(f"fee_rate: expected a fraction in [0, 1), got {fee_rate}")
        self.reads = reads
        # Trigger orders are not simulated: the protection (bot/pipeline/protect.py) skips, saying why.
        self.capabilities: VenueCapabilities = dataclasses.replace(
            reads.capabilities,
            two_step_execution=False,
            trigger_orders=False,
            builder_codes=False,  # paper orders never reach the venue: no builder is paid
            max_builder_tenths_bp=0,
        )
        self.fee_rate = fee_rate
        self.min_notional = self.capabilities.min_notional if min_notional is None else min_notional
        self.words = words
        self._clock_ms = clock_ms
        self._state_path = state_path
        self._instruments: dict[str, Instrument] = {}
        self._accounts: dict[str, PaperAccount] = {}
        # Order and trade ids: from the clock at a fresh start, so that a new paper state never reuses
        # the ids a ledger already holds from an earlier run (the ledger keys venue orders by oid).
        self._next_oid = clock_ms()
        if state_path is not None and state_path.exists():
            self._next_oid, kept = load_state(state_path)
            self._accounts = {account.address: account for account in kept}
        for address, equity in (accounts or {}).items():
            if address.lower() not in self._accounts:
                self.open_account(address, equity)

    # --- paper accounts ---
    def open_account(self, address: str, equity: Decimal) -> PaperAccount:
        """A new paper account holding `equity` USDC and no position."""
        key = address.lower()
        if key in self._accounts:
            raise ValueError(f"address: paper account {address} is already open")
        if not isinstance(equity, Decimal) or not equity.is_finite() or equity <= 0:
            raise ValueError(f"equity: expected a positive decimal amount of USDC, got {equity!r}")
        account = PaperAccount(equity, address=key)
        self._accounts[key] = account
        self._save()
        return account

    def paper_account(self, address: str) -> PaperAccount | None:
        return self._accounts.get(address.lower())

    # --- reads: the real venue ---
    async def perp_dexs(self) -> list[str]:
        """The real venue's dexes (its instruments are listed): the paper book is one account whose
        single balance backs a position on any of them."""
        return await self.reads.perp_dexs()

    async def instruments(self) -> list[Instrument]:
        listed = await self.reads.instruments()
        self._instruments = {i.coin: i for i in listed}
        return listed

    async def mids(self) -> dict[str, Decimal]:
        return await self.reads.mids()

    def stream_mids(self) -> None:
        self.reads.stream_mids()

    async def reference_prices(self) -> dict[str, Decimal]:
        return await self.reads.reference_prices()

    async def fills_between(self, address: str, start_ms: int, end_ms: int) -> list[SourceFill]:
        return await self.reads.fills_between(address, start_ms, end_ms)

    async def funding(self, address: str, start_ms: int, end_ms: int) -> list[FundingPayment]:
        return await self.reads.funding(address, start_ms, end_ms)

    async def order_book(self, coin: str) -> OrderBook | None:
        return await self.reads.order_book(coin)

    async def hourly_candles(self, coin: str, start_ms: int, end_ms: int) -> list[Candle]:
        return await self.reads.hourly_candles(coin, start_ms, end_ms)

    def requests_made(self) -> int:
        return self.reads.requests_made()

    async def account_role(self, address: str) -> AccountRole:
        return await self.reads.account_role(address)

    async def agents(self, master: str) -> list[AgentApproval]:
        return await self.reads.agents(master)

    async def max_builder_fee(self, user: str, builder: str) -> int:
        raise NotImplementedError("paper orders never reach the venue: no builder codes")

    async def approve_builder_fee(self, master_key: str, builder: str, tenths_bp: int) -> None:
        raise NotImplementedError("paper orders never reach the venue: no builder codes")

    async def account(self, address: str) -> AccountState:
        paper = self.paper_account(address)
        if paper is None:
            return await self.reads.account(address)
        for coin in paper.holdings:
            await self._instrument(coin)  # for its default leverage
        mids = await self._settle(paper)
        positions = tuple(
            Position(
                coin,
                holding.size,
                holding.entry_px,
                self._leverage_now(paper, coin),
                paper.unrealised_of(coin, mids.get(coin, holding.entry_px)),
            )
            for coin, holding in sorted(paper.holdings.items())
        )
        return AccountState(paper.address, paper.equity(mids), positions, self._clock_ms())

    def watch(self, sources: Sequence[str]) -> AsyncIterator[SourceFill]:
        return self.reads.watch(sources)

    async def fills_since(self, address: str, start_ms: int) -> list[SourceFill]:
        paper = self.paper_account(address)
        if paper is None:
            return await self.reads.fills_since(address, start_ms)
        return [replace(f, source=address) for f in paper.fills if f.time_ms >= start_ms]

    # --- simulated execution ---
    async def place(self, account: TradingAccount, orders: Sequence[OrderRequest]) -> list[OrderResult]:
        paper = self.paper_account(account.address)
        if paper is None:
            text = self.words.no_user.format(address=account.address.lower())
            return [OrderResult(OrderStatus.REJECTED, o.cloid, error=text) for o in orders]
        for coin in {o.coin for o in orders}:
            await self._instrument(coin)
        mids = await self._settle(paper)
        results = [
            OrderResult(OrderStatus.REJECTED, order.cloid, error=NO_TRIGGERS)
            if order.trigger is not None
            else self._execute(paper, order, mids)
            for order in orders
        ]
        self._save()
        return results

    async def cancel(self, account: TradingAccount, coin: str, cloid: str) -> bool:
        paper = self._known(account)
        order = paper.orders.get(cloid.lower())
        if order is None or order.request.coin != coin or order not in paper.resting:
            return False
        await self._settle(paper)  # it may have filled meanwhile
        if order not in paper.resting:
            return False
        paper.resting.remove(order)
        order.result = dataclasses.replace(order.result, status=OrderStatus.CANCELED)
        self._save()
        return True

    async def order_status(self, account: TradingAccount, cloid: str) -> OrderResult:
        paper = self._known(account)
        if paper.resting:
            await self._settle(paper)
        order = paper.orders.get(cloid.lower())
        return order.result if order is not None else OrderResult(OrderStatus.NOT_FOUND, cloid)

    async def open_orders(self, account: TradingAccount) -> list[OpenOrder]:
        """The paper account's resting (GTC) orders, oldest first."""
        paper = self._known(account)
        if paper.resting:
            await self._settle(paper)
        return [
            OpenOrder(
                o.request.coin,
                o.request.is_buy,
                o.request.size - o.result.filled_sz,
                o.request.limit_px,
                o.request.reduce_only,
                o.oid,
                o.request.cloid,
            )
            for o in paper.resting
        ]

    async def schedule_cancel(self, account: TradingAccount, at_ms: int | None) -> None:
        """Nothing to do: no order of a paper account rests on the venue."""

    async def update_leverage(self, account: TradingAccount, coin: str, leverage: int, cross: bool) -> None:
        paper = self._known(account)
        instrument = await self._instrument(coin)
        if not 1 <= leverage <= instrument.max_leverage:
            raise PaperRefused(self.words.leverage)
        paper.leverage[coin] = leverage
        self._save()

    async def close(self) -> None:
        """Closes the wrapped venue too: it was handed over to this one."""
        await self.reads.close()

    # --- internals ---
    def _known(self, account: TradingAccount) -> PaperAccount:
        paper = self.paper_account(account.address)
        if paper is None:
            raise PaperRefused(self.words.no_user.format(address=account.address.lower()))
        return paper

    async def _instrument(self, coin: str) -> Instrument:
        if coin not in self._instruments:
            await self.instruments()  # maybe listed since we last looked
        return listed_instrument(self._instruments, coin)

    def _leverage_now(self, paper: PaperAccount, coin: str) -> int:
        """The coin's leverage: as set, else the venue's default (the instrument must be cached)."""
        return paper.leverage.get(coin) or min(DEFAULT_LEVERAGE, self._instruments[coin].max_leverage)

    async def _settle(self, paper: PaperAccount) -> dict[str, Decimal]:
        """The current mids, after filling the resting orders they cross."""
        mids = await self.reads.mids()
        changed = False
        for order in list(paper.resting):
            request = order.request
            mid = mids.get(request.coin)
            if mid is None or not self._crosses(request, mid):
                continue
            paper.resting.remove(order)
            changed = True
            size = request.size
            if request.reduce_only:
                size = min(size, paper.reducible(request.coin, request.is_buy))
            if size == 0:
                order.result = dataclasses.replace(order.result, status=OrderStatus.CANCELED)
                continue
            self._fill(paper, order, size, request.limit_px, crossed=False)  # it rested: maker
        if changed:
            self._save()
        return mids

    @staticmethod
    def _crosses(request: OrderRequest, mid: Decimal) -> bool:
        return request.limit_px >= mid if request.is_buy else request.limit_px <= mid

    def _fill(
        self, paper: PaperAccount, order: PaperOrder, size: Decimal, px: Decimal, *, crossed: bool
    ) -> None:
        request = order.request
        fee = (size * px * self.fee_rate).quantize(USD, rounding=ROUND_HALF_UP)
        start = paper.size(request.coin)
        signed = size if request.is_buy else -size
        pnl = paper.trade(request.coin, signed, px, fee)
        paper.fills.append(
            SourceFill(
                coin=request.coin,
                px=px,
                sz=size,
                side=Side.BUY if request.is_buy else Side.SELL,
                time_ms=self._clock_ms(),
                oid=order.oid,
                tid=self._new_id(),
                start_position=start,
                dir=direction(start, start + signed),
                closed_pnl=pnl,
                fee=fee,
                crossed=crossed,
            )
        )
        del paper.fills[:-MAX_FILLS]
        order.result = OrderResult(OrderStatus.FILLED, request.cloid, order.oid, size, px)

    def _new_id(self) -> int:
        self._next_oid += 1
        return self._next_oid - 1

    def _refuse(self, template: str, instrument: Instrument, **more: str) -> str:
        return template.format(asset=instrument.asset, min=plain(self.min_notional), **more)

    def _execute(
        self, paper: PaperAccount, request: OrderRequest, mids: Mapping[str, Decimal]
    ) -> OrderResult:
        """One order, synchronously (no other coroutine interleaves): the venue's checks, then a fill
        at the mid, a resting order, or the venue's refusal."""
        words = self.words
        instrument = self._instruments[request.coin]
        mid = mids.get(request.coin)
        if request.size <= 0 or request.size % instrument.lot != 0:
            return OrderResult(OrderStatus.REJECTED, request.cloid, error=words.size)
        if not is_valid_price(request.limit_px, instrument.sz_decimals) or mid is None:
            return OrderResult(OrderStatus.REJECTED, request.cloid, error=words.price)
        cloid = request.cloid.lower() if request.cloid is not None else None
        previous = paper.orders.get(cloid) if cloid is not None else None
        if previous is not None and previous.result.status is not OrderStatus.REJECTED:
            return OrderResult(OrderStatus.REJECTED, request.cloid, error=words.duplicate_cloid)
        order = PaperOrder(request, self._new_id(), instrument.asset, OrderResult(OrderStatus.UNKNOWN))
        if cloid is not None:
            paper.orders[cloid] = order
        problem = self._problem(paper, request, instrument, mid, mids)
        if problem is not None:
            order.result = OrderResult(OrderStatus.REJECTED, request.cloid, error=problem)
        elif self._crosses(request, mid):
            size = request.size
            if request.reduce_only:
                size = min(size, paper.reducible(request.coin, request.is_buy))
            self._fill(paper, order, size, mid, crossed=True)
        elif request.tif is Tif.IOC:
            order.result = OrderResult(
                OrderStatus.REJECTED, request.cloid, error=self._refuse(words.ioc, instrument)
            )
        else:
            paper.resting.append(order)
            order.result = OrderResult(OrderStatus.RESTING, request.cloid, order.oid)
        return order.result

    def _problem(
        self,
        paper: PaperAccount,
        request: OrderRequest,
        instrument: Instrument,
        mid: Decimal,
        mids: Mapping[str, Decimal],
    ) -> str | None:
        """The venue's refusal of a well-formed order, in its order: reduce-only, minimum value, post-only
        crossing, margin."""
        words = self.words
        reducible = paper.reducible(request.coin, request.is_buy)
        if request.reduce_only and reducible == 0:
            return self._refuse(words.reduce_only, instrument)
        # Valued at the limit, but no worse than the mid: a slippage allowance does not count.
        reference = min(request.limit_px, mid) if request.is_buy else max(request.limit_px, mid)
        closes_whole = request.reduce_only and request.size >= reducible
        if not closes_whole and request.size * reference < self.min_notional:
            return self._refuse(words.min_value, instrument)
        if request.tif is Tif.ALO and self._crosses(request, mid):
            return self._refuse(words.alo, instrument, bid=plain(mid), ask=plain(mid))
        increase = ZERO if request.reduce_only else request.size - min(request.size, reducible)
        if increase > 0:
            used = sum(
                (abs(h.size) * mids.get(c, h.entry_px) / self._leverage_now(paper, c))
                for c, h in paper.holdings.items()
            )
            required = increase * reference / self._leverage_now(paper, request.coin)
            if required > paper.equity(mids) - used:
                return self._refuse(words.margin, instrument)
        return None

    # --- persistence ---
    def _save(self) -> None:
        if self._state_path is not None:
            save_state(self._state_path, self._next_oid, self._accounts.values())
