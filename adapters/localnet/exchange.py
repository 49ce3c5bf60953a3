"""`LocalExchange`: the localnet's synchronous, deterministic, in-memory exchange core.

It takes already-authenticated requests as the JSON the venue receives and answers the JSON the venue
answers (see docs/decisions/localnet-core.md and the contract in the localnet split). It never sleeps and
never starts tasks; the wire layer (server.py) owns the clock-driven parts (price steps, the
scheduled-cancel sweep) and calls in.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from adapters.localnet.accounts import Account, Leverage
from adapters.localnet.info import MAX_FILLS, all_user_fills, handle_info, mids_of
from adapters.localnet.instruments import (
    DEFAULT_DEXES,
    DEFAULT_INSTRUMENTS,
    SPOT_PAIRS,
    InstrumentSpec,
    PerpDex,
    SpotPair,
)
from adapters.localnet.margin import initial_margin, leverage_of, margin_state
from adapters.localnet.orders import SCHEDULED_CANCEL
from adapters.localnet.rules import (
    ERR_LEVERAGE,
    ERR_NOT_ISOLATED,
    ERR_SCHEDULE_TOO_EARLY,
    ERR_SWITCH_LEVERAGE,
    err_must_deposit,
    err_no_user,
    err_unknown_asset,
    round_price,
)
from adapters.localnet.spot import SpotDesk
from adapters.localnet.state import ZERO_ADDRESS, Agent, Outbox, State, address_of, dex_key
from adapters.localnet.trading import Faults, Trading, parse_order_wire
from adapters.localnet.transfers import (
    L1_HANDLERS,
    USER_SIGNED_HANDLERS,
    TransferHandler,
    builder_fee_problem,
)
from adapters.localnet.types import ExchangeError, LocalEvent
from adapters.localnet.views import view

log = logging.getLogger(__name__)

HLP_VAULT = "0xa15099a30bbf2e68942d6f4c43d70d04faeab0a0"
HLP_LEADER = "0x000000000000000000000000000000000000a1f0"
ERR_ONLY_ISOLATED = "Cross margin is not allowed for this asset."  # wording: localnet (see docs/localnet.md)
SCHEDULE_MIN_LEAD_MS = 5_000
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_VALID_UNTIL = re.compile(r"^(?P<name>.*?)\s*valid_until\s+(?P<ms>\d+)$")
_OK_DEFAULT: dict[str, Any] = {"status": "ok", "response": {"type": "default"}}

ActionHandler = Callable[["LocalExchange", str, dict[str, Any], int, Outbox, int], dict[str, Any]]


def _every_book(_coin: str) -> bool:
    return True


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def _ok(kind: str, statuses: list[Any]) -> dict[str, Any]:
    return {"status": "ok", "response": {"type": kind, "data": {"statuses": statuses}}}


def _list_field(action: dict[str, Any], field: str) -> list[Any]:
    value = action.get(field)
    if not isinstance(value, list):
        raise ExchangeError(f"Invalid action field '{field}': expected a list.")
    return value


def _int_field(action: dict[str, Any], field: str) -> int:
    value = action.get(field)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ExchangeError(f"Invalid action field '{field}': expected an integer.")
    return value


class LocalExchange:
    def __init__(
        self,
        *,
        seed: int = 0,
        instruments: Sequence[InstrumentSpec] | None = None,
        clock_ms: Callable[[], int] | None = None,
        dexes: Sequence[PerpDex] | None = None,
        spot_pairs: Sequence[SpotPair] | None = None,
    ) -> None:
        self._seed = seed
        self._specs = tuple(instruments) if instruments is not None else DEFAULT_INSTRUMENTS
        self._dexes = tuple(dexes) if dexes is not None else DEFAULT_DEXES
        self._spot_pairs = tuple(spot_pairs) if spot_pairs is not None else SPOT_PAIRS
        self._clock = clock_ms or _wall_clock_ms
        self._listeners: list[Callable[[LocalEvent], None]] = []
        self._book_wants: list[Callable[[str], bool]] = []
        # Called once per request that filled anything, with every (user, fill) of it: a node's block.
        self._block_listeners: list[Callable[[list[tuple[str, dict[str, Any]]], int], None]] = []
        self._faults = Faults()
        self._new_state()

    def _new_state(self) -> None:
        self._state = State(self._seed, self._specs, self._dexes, self._spot_pairs)
        self._trading = Trading(self._state, self._faults)
        self._spot = SpotDesk(self._state, self._trading)
        # The venue's HLP vault, at the address the SDK's vault-transfer example deposits into (empty,
        # led by a key nobody holds): so that example runs here unmodified.
        self._state.accounts[HLP_VAULT] = Account(address=HLP_VAULT, role="vault", owner=HLP_LEADER)
        now = self._clock()
        for coin, mid in self._state.mids.items():  # the first candle of every market opens at start
            self._state.candles.add(coin, mid, now)

    # --- faults (the wire's control endpoint sets these) -------------------------------------------------
    @property
    def reject_next_orders(self) -> int:
        return self._faults.reject_next_orders

    @reject_next_orders.setter
    def reject_next_orders(self, value: int) -> None:
        self._faults.reject_next_orders = max(0, value)

    @property
    def reject_message(self) -> str:
        return self._faults.reject_message

    @reject_message.setter
    def reject_message(self, value: str) -> None:
        self._faults.reject_message = value

    @property
    def partial_fill_ratio(self) -> Decimal | None:
        return self._faults.partial_fill_ratio

    @partial_fill_ratio.setter
    def partial_fill_ratio(self, value: Decimal | None) -> None:
        if value is not None and not Decimal(0) <= value <= Decimal(1):
            raise ValueError(f"partial_fill_ratio must be between 0 and 1, got {value}")
        self._faults.partial_fill_ratio = value

    # --- control -----------------------------------------------------------------------------------------
    def fund(self, user: str, usdc: Decimal, dex: str = "") -> None:
        """Credit perp collateral to `user` (creating the account): USDC on the default dex, the dex's
        collateral token on a builder dex."""
        if usdc <= 0:
            raise ValueError(f"usdc must be positive, got {usdc}")
        if dex and self._state.dex(dex) is None:
            raise ValueError(f"unknown perp dex {dex!r}; the localnet has {[d.name for d in self._dexes]}")
        self._account(dex_key(user.lower(), dex)).deposits += usdc

    def create_vault(self, leader: str, usdc: Decimal) -> str:
        """A new vault led by `leader`, funded with `usdc`; returns its address."""
        if usdc < 0:
            raise ValueError(f"usdc must not be negative, got {usdc}")
        state = self._state
        state.vaults += 1
        leader = leader.lower()
        address = "0x" + state.digest("vault", leader, state.vaults)[:40]
        state.accounts[address] = Account(address=address, role="vault", owner=leader, deposits=usdc)
        return address

    def register_referral_code(self, user: str, code: str) -> None:
        """Give `user` (lower-case) a referral code; a code already owned by someone else is refused."""
        owner = self._state.referral_codes.get(code)
        if owner is not None and owner != user:
            raise ValueError(f"code {code!r} already belongs to {owner}")
        self._state.referral_codes[code] = user

    def set_mids(self, mids: Mapping[str, Decimal]) -> None:
        """Move mids (each rounded to the nearest valid price), re-centre those books, fill the resting
        orders the new mids cross and fire the triggers they cross."""
        state = self._state
        unknown = sorted(set(mids) - set(state.spec_of))
        if unknown:
            raise ValueError(f"unknown coins {unknown}; the localnet lists {sorted(state.spec_of)}")
        for coin, px in mids.items():
            if px <= 0:
                raise ValueError(f"mid for {coin} must be positive, got {px}")
        now = self._clock()
        out = Outbox()
        self._run_scheduled(now, out)
        changed = []
        for group in state.groups:  # each dex draws its books from its own generator
            for spec in group.specs:
                if spec.coin in mids:
                    coin = spec.coin
                    changed.append(coin)
                    state.mids[coin] = round_price(mids[coin], spec.sz_decimals)
                    state.books[coin].recentre(state.mids[coin], group.book_rng)
                    out.books.add(coin)
        out.mids = bool(changed)
        for coin in changed:
            self._trading.on_mid(coin, out, now)
            self._spot.on_mid(coin, out, now)
        self._flush(out, now)

    def step_prices(self) -> None:
        """One step of the seeded random walk for every market (each dex on its own walk)."""
        state = self._state
        moved: dict[str, Decimal] = {}
        for group in state.groups:
            moved.update(group.path.step(state.mids, group.specs))
        self.set_mids(moved)

    def reset(self) -> None:
        """Back to the freshly constructed state (listeners stay attached, faults are cleared)."""
        self._faults.reject_next_orders = 0
        self._faults.reject_message = Faults().reject_message
        self._faults.partial_fill_ratio = None
        self._new_state()

    def mids(self) -> dict[str, Decimal]:
        """The default dex's mids."""
        state = self._state
        return {spec.coin: state.mids[spec.coin] for spec in state.specs}

    def all_mids(self) -> dict[str, Decimal]:
        """The mids of every market, builder dexes' included."""
        return dict(self._state.mids)

    @property
    def outlier_mids(self) -> dict[str, Decimal]:
        return dict(self._state.outlier_mids)

    def set_outlier_mids(self, mids: Mapping[str, Decimal]) -> None:
        """A price-feed outlier (a fault; {} clears it): `allMids` serves and pushes these mids while the
        oracle/mark price, the book and execution keep the true ones. Pushed at once."""
        out = Outbox()
        out.books = {*self._state.outlier_mids, *mids}  # the coins whose served mid changes
        out.mids = True
        self._state.outlier_mids = dict(mids)
        self._flush(out, self._clock())

    def instruments(self) -> Sequence[InstrumentSpec]:
        return self._specs

    # --- auth support -------------------------------------------------------------------------------------
    def resolve_account(self, signer: str, vault_address: str | None) -> str:
        """The account an L1 action acts for (see the contract)."""
        state = self._state
        signer = signer.lower()
        agent = state.agents.get(signer)
        if agent is not None:
            principal = agent.master
        elif signer in state.accounts and state.accounts[signer].role == "user":
            principal = signer
        else:
            raise ExchangeError(err_no_user(signer))
        if vault_address is None:
            return principal
        target = vault_address.lower()
        account = state.accounts.get(target)
        if account is None or account.role == "user":
            raise ExchangeError(f"Vault not registered: {target}")
        if account.owner != principal:
            kind = "leader of vault" if account.role == "vault" else "master of sub-account"
            raise ExchangeError(f"User {principal} is not the {kind} {target}.")
        return target

    # --- requests -----------------------------------------------------------------------------------------
    def handle_action(self, account: str, signer: str, action: dict[str, Any], nonce: int) -> dict[str, Any]:
        now = self._clock()
        out = Outbox()
        self._run_scheduled(now, out)
        try:
            body = self._dispatch(account.lower(), signer.lower(), action, nonce, out, now)
        except ExchangeError as exc:
            body = {"status": "err", "response": str(exc)}
        self._flush(out, now)
        return body

    def handle_info(self, request: dict[str, Any]) -> Any:
        now = self._clock()
        self.scheduled_cancel_due(now)
        return handle_info(self._state, request, now)

    def scheduled_cancel_due(self, now_ms: int) -> None:
        out = Outbox()
        self._run_scheduled(now_ms, out)
        self._flush(out, now_ms)

    def ws_view(self, kind: str, value: str) -> dict[str, Any] | None:
        """The data of a per-market or per-user websocket message (views.view)."""
        return view(self._state, kind, value, self._clock())

    def user_fills(self, user: str) -> list[dict[str, Any]]:
        """The websocket `userFills` snapshot: as `/info userFills` (newest first, at most 2000)."""
        return all_user_fills(self._state, user.lower())[:MAX_FILLS]

    def add_listener(
        self, fn: Callable[[LocalEvent], None], *, books: Callable[[str], bool] | None = None
    ) -> None:
        """Call `fn` with every event. `books(coin)`, if given, says whether `fn` wants that coin's
        `l2Book` events: a book snapshot costs more than the rest of an order (~90 numbers formatted),
        so it is built only when some listener wants it (the websocket hub: a book or bbo subscriber)."""
        self._listeners.append(fn)
        self._book_wants.append(books or _every_book)

    def _wants_book(self, coin: str) -> bool:
        return any(wants(coin) for wants in self._book_wants)

    def add_block_listener(self, fn: Callable[[list[tuple[str, dict[str, Any]]], int], None]) -> None:
        """`fn(events, now_ms)` after each request that filled: the (user, fill) pairs, in fill order."""
        self._block_listeners.append(fn)

    # --- dispatch -------------------------------------------------------------------------------------------
    def _dispatch(
        self, account: str, signer: str, action: object, nonce: int, out: Outbox, now: int
    ) -> dict[str, Any]:
        if not isinstance(action, dict) or not isinstance(action.get("type"), str):
            raise ExchangeError("Invalid action: expected an object with a 'type' field.")
        kind = action["type"]
        handler = _ACTIONS.get(kind)
        if handler is None:
            raise ExchangeError(
                f"Unsupported action type {kind!r}; the localnet handles: {', '.join(_ACTIONS)}."
            )
        if kind != "approveAgent":  # approveAgent: `account` is the signer, checked in the handler
            acct = self._state.accounts.get(account)
            if acct is None:
                raise ExchangeError(err_must_deposit(account))
            acct.n_requests += 1
        return handler(self, account, action, nonce, out, now)

    def _order(
        self, account: str, action: dict[str, Any], nonce: int, out: Outbox, now: int
    ) -> dict[str, Any]:
        wires = _list_field(action, "orders")
        parsed = [parse_order_wire(wire) for wire in wires]  # a malformed batch: refused before any
        grouping = action.get("grouping", "na")
        builder = builder_fee_problem(self._state, account, action.get("builder"))
        if isinstance(builder, str):  # the venue refuses each order of the action with this text
            return _ok("order", [{"error": builder} for _ in wires])
        return _ok(
            "order",
            [
                self._spot.place(account, wire, nonce, out, now)
                if wire.asset in self._state.spot_by_asset
                else self._trading.place(
                    self._dex_account(account, wire.asset), raw, nonce, grouping, out, now, builder=builder
                )
                for raw, wire in zip(wires, parsed, strict=True)
            ],
        )

    def _cancel(
        self, account: str, action: dict[str, Any], nonce: int, out: Outbox, now: int
    ) -> dict[str, Any]:
        statuses = [
            self._trading.cancel_oid(self._dex_account(account, c.get("a")), c.get("a"), c.get("o"), out, now)
            if isinstance(c, dict)
            else None
            for c in _list_field(action, "cancels")
        ]
        if None in statuses:
            raise ExchangeError("Invalid cancel: expected objects {a: asset, o: oid}.")
        return _ok("cancel", statuses)

    def _cancel_by_cloid(
        self, account: str, action: dict[str, Any], nonce: int, out: Outbox, now: int
    ) -> dict[str, Any]:
        statuses = [
            self._trading.cancel_cloid(
                self._dex_account(account, c.get("asset")), c.get("asset"), c.get("cloid"), out, now
            )
            if isinstance(c, dict)
            else None
            for c in _list_field(action, "cancels")
        ]
        if None in statuses:
            raise ExchangeError("Invalid cancelByCloid: expected objects {asset, cloid}.")
        return _ok("cancel", statuses)

    def _modify(
        self, account: str, action: dict[str, Any], nonce: int, out: Outbox, now: int
    ) -> dict[str, Any]:
        key = self._dex_account(account, _wire_asset(action.get("order")))
        result = self._trading.modify(key, action.get("oid"), action.get("order"), nonce, out, now)
        if isinstance(result, dict) and "error" in result:
            raise ExchangeError(result["error"])
        return dict(_OK_DEFAULT)

    def _batch_modify(
        self, account: str, action: dict[str, Any], nonce: int, out: Outbox, now: int
    ) -> dict[str, Any]:
        modifies = _list_field(action, "modifies")
        if not all(isinstance(m, dict) for m in modifies):
            raise ExchangeError("Invalid batchModify: expected objects {oid, order}.")
        statuses = [
            self._trading.modify(
                self._dex_account(account, _wire_asset(m.get("order"))),
                m.get("oid"),
                m.get("order"),
                nonce,
                out,
                now,
            )
            for m in modifies
        ]
        return _ok("order", statuses)

    def _spec(self, action: dict[str, Any]) -> InstrumentSpec:
        asset = _int_field(action, "asset")
        spec = self._state.spec_by_asset.get(asset)
        if spec is None:
            raise ExchangeError(err_unknown_asset(asset))
        return spec

    def _dex_account(self, account: str, asset: object) -> str:
        """The account key an action on `asset` acts on: `account` on the default dex, its clearinghouse
        on the asset's builder dex (opened empty at first use, as the venue's is)."""
        spec = self._state.spec_by_asset.get(asset) if isinstance(asset, int) else None
        dex = self._state.dex_of_coin.get(spec.coin, "") if spec is not None else ""
        if not dex:
            return account
        key = dex_key(account, dex)
        self._account(key)
        return key

    def _update_leverage(
        self, account: str, action: dict[str, Any], nonce: int, out: Outbox, now: int
    ) -> dict[str, Any]:
        spec = self._spec(action)
        is_cross, value = action.get("isCross"), action.get("leverage")
        if not isinstance(is_cross, bool):
            raise ExchangeError("Invalid action field 'isCross': expected a boolean.")
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= spec.max_leverage:
            raise ExchangeError(ERR_LEVERAGE)
        if is_cross and spec.only_isolated:
            raise ExchangeError(ERR_ONLY_ISOLATED)
        acct = self._state.accounts[self._dex_account(account, action.get("asset"))]
        if spec.coin in acct.positions and leverage_of(acct, spec).is_cross != is_cross:
            raise ExchangeError(ERR_SWITCH_LEVERAGE)
        acct.leverage[spec.coin] = Leverage(is_cross=is_cross, value=value)
        return dict(_OK_DEFAULT)

    def _update_isolated_margin(
        self, account: str, action: dict[str, Any], nonce: int, out: Outbox, now: int
    ) -> dict[str, Any]:
        spec = self._spec(action)
        amount = Decimal(_int_field(action, "ntli")).scaleb(-6)  # the SDK's float_to_usd_int: 6 decimals
        state = self._state
        account = self._dex_account(account, action.get("asset"))
        acct = state.accounts[account]
        pos = acct.positions.get(spec.coin)
        lev = leverage_of(acct, spec)
        if pos is None or lev.is_cross:
            raise ExchangeError(ERR_NOT_ISOLATED)
        if amount > margin_state(acct, state.spec_of, state.mids, state.open_orders(account)).available:
            raise ExchangeError("Insufficient margin to add to the isolated position.")
        floor = initial_margin(abs(pos.szi) * state.mids[spec.coin], lev.value)
        if amount < 0 and pos.iso_margin + amount + pos.unrealized(state.mids[spec.coin]) < floor:
            raise ExchangeError("Cannot remove margin below the position's initial margin.")
        pos.iso_margin += amount
        return dict(_OK_DEFAULT)

    def _schedule_cancel(
        self, account: str, action: dict[str, Any], nonce: int, out: Outbox, now: int
    ) -> dict[str, Any]:
        acct = self._state.accounts[account]
        if action.get("time") is None:
            acct.scheduled_cancel = None
            return dict(_OK_DEFAULT)
        at = _int_field(action, "time")
        if at < now + SCHEDULE_MIN_LEAD_MS:
            raise ExchangeError(ERR_SCHEDULE_TOO_EARLY)
        acct.scheduled_cancel = at
        state = self._state
        state.next_scheduled_cancel = min(at, state.next_scheduled_cancel or at)
        return dict(_OK_DEFAULT)

    def _noop(
        self, account: str, action: dict[str, Any], nonce: int, out: Outbox, now: int
    ) -> dict[str, Any]:
        return dict(_OK_DEFAULT)

    def _approve_agent(
        self, account: str, action: dict[str, Any], nonce: int, out: Outbox, now: int
    ) -> dict[str, Any]:
        state = self._state
        master = state.accounts.get(account)
        if master is None or master.role != "user":
            raise ExchangeError(err_must_deposit(account))
        master.n_requests += 1
        address = action.get("agentAddress")
        if not isinstance(address, str) or not _ADDRESS.match(address):
            raise ExchangeError(
                "Invalid action field 'agentAddress': expected a 0x-prefixed 40-hex-digit address."
            )
        raw_name = action.get("agentName") or ""
        if not isinstance(raw_name, str):
            raise ExchangeError("Invalid action field 'agentName': expected a string.")
        match = _VALID_UNTIL.match(raw_name)
        name, valid_until = (match["name"], int(match["ms"])) if match else (raw_name, None)
        address = address.lower()
        for old in [a for a in state.agents.values() if a.master == account and a.name == name]:
            del state.agents[old.address]  # an approval replaces the previous agent of the same name
        if address == ZERO_ADDRESS:
            return dict(_OK_DEFAULT)  # approving 0x0 removes the agent of that name
        if address in state.used_agents:
            raise ExchangeError("Extra agent already used.")
        state.agents[address] = Agent(address=address, master=account, name=name, valid_until=valid_until)
        state.used_agents.add(address)
        return dict(_OK_DEFAULT)

    def _create_sub_account(
        self, account: str, action: dict[str, Any], nonce: int, out: Outbox, now: int
    ) -> dict[str, Any]:
        state = self._state
        name = action.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 16:
            raise ExchangeError("Invalid action field 'name': expected 1 to 16 characters.")
        if state.accounts[account].role != "user":
            raise ExchangeError("Only a master account can create sub-accounts.")
        if any(a.owner == account and a.name == name for a in state.accounts.values()):
            raise ExchangeError(f"Sub-account name already in use: {name}")
        address = "0x" + state.digest("sub", account, name)[:40]
        state.accounts[address] = Account(address=address, role="subAccount", owner=account, name=name)
        return {"status": "ok", "response": {"type": "createSubAccount", "data": address}}

    # --- helpers --------------------------------------------------------------------------------------------
    def _account(self, address: str) -> Account:
        account = self._state.accounts.get(address)
        if account is None:
            account = self._state.accounts[address] = Account(address=address)
        return account

    def _run_scheduled(self, now: int, out: Outbox) -> None:
        """Run the scheduled cancels due by `now`. Every request calls this: the accounts are walked
        only when the earliest scheduled time has come (never when none is due), then that time is
        recomputed."""
        state = self._state
        if state.next_scheduled_cancel is None or state.next_scheduled_cancel > now:
            return
        pending: list[int] = []
        for account in state.accounts.values():
            if account.scheduled_cancel is not None and account.scheduled_cancel <= now:
                account.scheduled_cancel = None
                self._trading.cancel_all(account.address, SCHEDULED_CANCEL, out, now)
            elif account.scheduled_cancel is not None:
                pending.append(account.scheduled_cancel)
        state.next_scheduled_cancel = min(pending, default=None)

    def _flush(self, out: Outbox, now: int) -> None:
        """Turn one request's changes into websocket events, once the state change is complete."""
        state = self._state
        events: list[LocalEvent] = []
        if out.mids:  # a mid move is a price point of the candles (trades add theirs in Trading.trade)
            for coin in out.books:
                state.candles.add(coin, state.mids[coin], now)
            # one allMids event per perp dex whose mids moved (spot pairs count as the default dex's)
            for dex in sorted({state.dex_of_coin.get(coin, "") for coin in out.books}):
                events.append(LocalEvent("allMids", {"mids": mids_of(state, dex)}, coin=dex or None))
        for spec in state.all_specs:
            if out.trades.get(spec.coin):
                events.append(LocalEvent("trades", out.trades[spec.coin], coin=spec.coin))
            if spec.coin in out.books and self._wants_book(spec.coin):
                levels = state.books[spec.coin].l2_levels()
                events.append(
                    LocalEvent("l2Book", {"coin": spec.coin, "time": now, "levels": levels}, coin=spec.coin)
                )
        for key in dict.fromkeys([*out.order_updates, *out.fills]):
            user = address_of(key)  # a builder dex's clearinghouse pushes on its user's streams
            if out.order_updates.get(key):
                events.append(LocalEvent("orderUpdates", out.order_updates[key], user=user))
            fills = out.fills.get(key)
            if fills:
                events.append(
                    LocalEvent("userFills", {"user": user, "isSnapshot": False, "fills": fills}, user=user)
                )
                events.append(LocalEvent("userEvents", {"fills": fills}, user=user))
        for user, entries in out.ledger.items():
            data = {"isSnapshot": False, "user": user, "nonFundingLedgerUpdates": entries}
            events.append(LocalEvent("userNonFundingLedgerUpdates", data, user=user))
        for event in events:
            for listener in list(self._listeners):
                try:
                    listener(event)
                except Exception:  # a broken subscriber must not break the exchange
                    log.exception("localnet listener failed on a %s event", event.channel)
        if self._block_listeners and out.fills:
            block = [(address_of(key), fill) for key, fills in out.fills.items() for fill in fills]
            block.sort(key=lambda pair: (pair[1]["time"], pair[1]["tid"]))
            for block_listener in list(self._block_listeners):
                try:
                    block_listener(block, now)
                except Exception:  # a full disk must not stop the exchange
                    log.exception("localnet block listener failed")


def _wire_asset(wire: object) -> object:
    return wire.get("a") if isinstance(wire, dict) else None


def _transfer(handler: TransferHandler) -> ActionHandler:
    def run(
        exchange: LocalExchange, account: str, action: dict[str, Any], nonce: int, out: Outbox, now: int
    ) -> dict[str, Any]:
        ledger = exchange._state.ledger
        before = {user: len(entries) for user, entries in ledger.items()}
        answer = handler(exchange._state, account, action, nonce, now)
        for user, entries in ledger.items():  # what this action wrote, pushed on the websocket
            if len(entries) > before.get(user, 0):
                out.ledger[user].extend(entries[before.get(user, 0) :])
        return answer

    return run


_ACTIONS: dict[str, ActionHandler] = {
    "order": LocalExchange._order,
    "cancel": LocalExchange._cancel,
    "cancelByCloid": LocalExchange._cancel_by_cloid,
    "modify": LocalExchange._modify,
    "batchModify": LocalExchange._batch_modify,
    "updateLeverage": LocalExchange._update_leverage,
    "updateIsolatedMargin": LocalExchange._update_isolated_margin,
    "scheduleCancel": LocalExchange._schedule_cancel,
    "noop": LocalExchange._noop,
    "approveAgent": LocalExchange._approve_agent,
    "createSubAccount": LocalExchange._create_sub_account,
}
_ACTIONS.update(
    {kind: _transfer(handler) for kind, handler in {**USER_SIGNED_HANDLERS, **L1_HANDLERS}.items()}
)
