"""Everything the localnet's core holds, and the outbox of events one request produces."""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from adapters.localnet.accounts import Account
from adapters.localnet.book import CoinBook
from adapters.localnet.instruments import InstrumentSpec
from adapters.localnet.orders import Order
from adapters.localnet.pricepath import PricePath
from adapters.localnet.rules import round_price

SYNTHETIC_MAKER = "0x0000000000000000000000000000000000000000"  # the counterparty of synthetic liquidity


@dataclass(frozen=True, slots=True)
class Agent:
    address: str
    master: str
    name: str  # "" for the unnamed agent
    valid_until: int | None


@dataclass(slots=True)
class Outbox:
    """What changed during one request, turned into websocket events once the request is complete."""

    order_updates: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    fills: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    trades: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    books: set[str] = field(default_factory=set)
    mids: bool = False


class State:
    def __init__(self, seed: int, specs: Sequence[InstrumentSpec]) -> None:
        if not specs:
            raise ValueError("the localnet needs at least one instrument")
        coins = [spec.coin for spec in specs]
        if len(set(coins)) != len(coins):
            raise ValueError(f"instrument coins must be unique, got {coins}")
        self.seed = seed
        self.specs = tuple(specs)
        self.spec_of = {spec.coin: spec for spec in specs}
        self.asset_of = {spec.coin: i for i, spec in enumerate(specs)}
        self.mids = {spec.coin: round_price(spec.start_mid, spec.sz_decimals) for spec in specs}
        self.start_mids = dict(self.mids)
        # Injected price-feed outliers (a fault): `allMids` serves these instead of the true mids, while
        # the oracle/mark price, the book and execution keep the true ones.
        self.outlier_mids: dict[str, Decimal] = {}
        self.path = PricePath(seed)
        self.book_rng = random.Random(f"{seed}:book")
        self.books = {spec.coin: CoinBook(spec) for spec in specs}
        for coin, book in self.books.items():
            book.recentre(self.mids[coin], self.book_rng)
        self.accounts: dict[str, Account] = {}
        self.agents: dict[str, Agent] = {}
        self.used_agents: set[str] = set()
        self.orders: dict[int, Order] = {}
        self.user_orders: dict[str, list[Order]] = defaultdict(list)
        self.cloids: dict[tuple[str, str], Order] = {}
        self.triggers: list[Order] = []  # trigger orders waiting for their price, oldest first
        self.fills: dict[str, list[dict[str, Any]]] = defaultdict(list)  # per user, oldest first
        self.base_volume: dict[str, Decimal] = defaultdict(Decimal)
        self.ntl_volume: dict[str, Decimal] = defaultdict(Decimal)
        ids = random.Random(f"{seed}:ids")
        self.next_oid = ids.randint(10**9, 2 * 10**9)
        self.next_tid = ids.randint(10**14, 2 * 10**14)
        self.vaults = 0

    def new_oid(self) -> int:
        self.next_oid += 1
        return self.next_oid

    def new_tid(self) -> int:
        self.next_tid += 1
        return self.next_tid

    def digest(self, *parts: object) -> str:
        """A deterministic 32-byte hex digest of the seed and `parts` (tx hashes, derived addresses)."""
        text = ":".join(str(part) for part in (self.seed, *parts))
        return hashlib.sha256(text.encode()).hexdigest()

    def open_orders(self, user: str) -> list[Order]:
        return [order for order in self.user_orders.get(user, []) if order.is_open]


def served_mids(state: State) -> dict[str, Decimal]:
    """The mids `allMids` serves and pushes: the true ones, an injected outlier where one is set."""
    return {**state.mids, **{c: px for c, px in state.outlier_mids.items() if c in state.mids}}
