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
from adapters.localnet.candles import Candles
from adapters.localnet.instruments import (
    BUILDER_ASSET_BASE,
    BUILDER_ASSET_STRIDE,
    SPOT_TOKENS,
    InstrumentSpec,
    PerpDex,
    SpotPair,
)
from adapters.localnet.orders import Order
from adapters.localnet.pricepath import PricePath
from adapters.localnet.rules import TAKER_FEE, fee, round_price

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
SYNTHETIC_MAKER = ZERO_ADDRESS  # the counterparty of synthetic liquidity


def dex_key(user: str, dex: str) -> str:
    """The account key of `user`'s clearinghouse on perp dex `dex` (the address itself for "").
    A builder dex keeps its own balance, positions, orders and fills per user, as on the venue."""
    return f"{user}:{dex}" if dex else user


def address_of(key: str) -> str:
    """The user address an account key belongs to."""
    return key.split(":", 1)[0]


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
    ledger: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))


@dataclass(frozen=True, slots=True)
class MarketGroup:
    """The markets of one perp dex ("" the default one) with their own seeded walk and book draws, so
    a builder dex's markets never change the default dex's path."""

    dex: str
    specs: tuple[InstrumentSpec, ...]
    path: PricePath
    book_rng: random.Random


class State:
    def __init__(
        self,
        seed: int,
        specs: Sequence[InstrumentSpec],
        dexes: Sequence[PerpDex] = (),
        spot_pairs: Sequence[SpotPair] = (),
    ) -> None:
        if not specs:
            raise ValueError("the localnet needs at least one instrument")
        self.spot_pairs = tuple(spot_pairs)
        self.spot_by_asset = {pair.asset: pair for pair in spot_pairs}
        self.spot_of_coin = {pair.name: pair for pair in spot_pairs}
        tokens = {token.index: token for token in SPOT_TOKENS}
        # a spot pair's book and walk, as a market whose lot is its base token's
        spot_specs = tuple(
            InstrumentSpec(
                pair.name, tokens[pair.base].sz_decimals, 1, pair.start_mid, level_usd=Decimal(20_000)
            )
            for pair in spot_pairs
        )
        all_specs = [*specs, *(spec for dex in dexes for spec in dex.specs), *spot_specs]
        coins = [spec.coin for spec in all_specs]
        if len(set(coins)) != len(coins):
            raise ValueError(f"instrument coins must be unique, got {coins}")
        for dex in dexes:
            if any(not spec.coin.startswith(f"{dex.name}:") for spec in dex.specs):
                raise ValueError(f"the coins of dex {dex.name!r} must be named '{dex.name}:COIN'")
        self.seed = seed
        self.specs = tuple(specs)  # the default dex: asset id = index
        self.dexes = tuple(dexes)
        self.all_specs = tuple(all_specs)
        self.spec_of = {spec.coin: spec for spec in all_specs}
        self.spec_by_asset: dict[int, InstrumentSpec] = dict(enumerate(specs))
        self.dex_of_coin = {spec.coin: "" for spec in specs}
        for i, dex in enumerate(dexes):
            base = BUILDER_ASSET_BASE + i * BUILDER_ASSET_STRIDE
            self.spec_by_asset.update({base + j: spec for j, spec in enumerate(dex.specs)})
            self.dex_of_coin.update({spec.coin: dex.name for spec in dex.specs})
        self.asset_of = {spec.coin: asset for asset, spec in self.spec_by_asset.items()}
        self.mids = {spec.coin: round_price(spec.start_mid, spec.sz_decimals) for spec in all_specs}
        self.start_mids = dict(self.mids)
        # Injected price-feed outliers (a fault): `allMids` serves these instead of the true mids, while
        # the oracle/mark price, the book and execution keep the true ones.
        self.outlier_mids: dict[str, Decimal] = {}
        self.path = PricePath(seed)
        self.book_rng = random.Random(f"{seed}:book")
        self.groups = [MarketGroup("", self.specs, self.path, self.book_rng)] + [
            MarketGroup(
                dex.name, dex.specs, PricePath(f"{seed}:{dex.name}"), random.Random(f"{seed}:{dex.name}:book")
            )
            for dex in dexes
        ]
        if spot_specs:
            self.groups.append(
                MarketGroup("spot", spot_specs, PricePath(f"{seed}:spot"), random.Random(f"{seed}:spot:book"))
            )
        self.books = {spec.coin: CoinBook(spec) for spec in all_specs}
        for group in self.groups:
            for spec in group.specs:
                self.books[spec.coin].recentre(self.mids[spec.coin], group.book_rng)
        self.accounts: dict[str, Account] = {}
        self.agents: dict[str, Agent] = {}
        self.used_agents: set[str] = set()
        self.orders: dict[int, Order] = {}
        self.user_orders: dict[str, list[Order]] = defaultdict(list)  # every order ever, oldest first
        # the earliest `Account.scheduled_cancel` (or earlier: a cleared one is not removed), None if none
        self.next_scheduled_cancel: int | None = None
        # the open ones by user and oid, kept by `set_order_status` so that a user's open orders (read
        # on every order: margin, reduce-only pruning) cost their number, not the user's history
        self._open_orders: dict[str, dict[int, Order]] = defaultdict(dict)
        self.cloids: dict[tuple[str, str], Order] = {}
        self.triggers: list[Order] = []  # trigger orders waiting for their price, oldest first
        self.fills: dict[str, list[dict[str, Any]]] = defaultdict(list)  # per user, oldest first
        self.base_volume: dict[str, Decimal] = defaultdict(Decimal)
        self.ntl_volume: dict[str, Decimal] = defaultdict(Decimal)
        ids = random.Random(f"{seed}:ids")
        self.next_oid = ids.randint(10**9, 2 * 10**9)
        self.next_tid = ids.randint(10**14, 2 * 10**14)
        self.vaults = 0
        # transfers, builder fees and referrals (adapters/localnet/transfers.py)
        # spot: balances per user and token index, their cost in USDC (`entryNtl`), resting spot orders
        self.spot_balances: dict[str, dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        self.spot_entry: dict[str, dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        self.spot_resting: list[Order] = []
        self.builder_approvals: dict[str, dict[str, int]] = defaultdict(
            dict
        )  # user -> builder -> tenths of bp
        self.vault_equity: dict[tuple[str, str], Decimal] = defaultdict(Decimal)  # (vault, depositor) -> USDC
        self.referral_codes: dict[str, str] = {}  # code -> the user who owns it
        self.referred_by: dict[str, str] = {}  # user -> the code they entered
        self.ledger: dict[str, list[dict[str, Any]]] = defaultdict(list)  # non-funding ledger, oldest first
        self.candles = Candles()

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

    def dex(self, name: str) -> PerpDex | None:
        return next((dex for dex in self.dexes if dex.name == name), None)

    def user_keys(self, user: str) -> list[str]:
        """The keys of `user`'s clearinghouses: the default dex's (the address) and each builder dex's."""
        return [user, *(dex_key(user, dex.name) for dex in self.dexes)]

    def spot_holds(self, user: str) -> dict[int, Decimal]:
        """What `user`'s open spot orders hold, per token: a buy its quote (size × limit price and the
        fee on it), a sell its base size."""
        holds: dict[int, Decimal] = defaultdict(Decimal)
        for order in self.spot_resting:
            if order.user == user and order.is_open:
                pair = self.spot_of_coin[order.coin]
                if order.is_buy:  # the notional and the most fee it can pay (spot.buy_hold)
                    holds[pair.quote] += order.sz * order.limit_px + fee(order.sz * order.limit_px, TAKER_FEE)
                else:
                    holds[pair.base] += order.sz
        return holds

    def spot_available(self, user: str, token: int) -> Decimal:
        return self.spot_balances[user][token] - self.spot_holds(user)[token]

    def open_orders(self, user: str) -> list[Order]:
        """`user`'s open orders, oldest first (as in `user_orders`: oids grow with placement)."""
        found = self._open_orders.get(user)
        return sorted(found.values(), key=_by_oid) if found else []

    def set_order_status(self, order: Order, status: str) -> None:
        """The one way an order placed through `user_orders` changes status."""
        order.status = status
        if order.is_open:
            self._open_orders[order.user][order.oid] = order
        else:
            self._open_orders[order.user].pop(order.oid, None)

    def served_mid(self, coin: str) -> Decimal:
        """The mid `allMids` serves and pushes: the true one, or an injected outlier (a fault) where set."""
        return self.outlier_mids.get(coin, self.mids[coin])


def _by_oid(order: Order) -> int:
    return order.oid
