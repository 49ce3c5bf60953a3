"""Account reads into the engines: sources' equities and positions, followers' equities and positions.

Reads go through the one bounded reader (bot/pipeline/reads.py). A read that fails leaves the last
known state (unknown is not flat); a follower's coin that an order moved while the read was in flight
keeps the position the order left (`Desk.epoch`).

Recovery's read is kept for the plan apply that follows it in the same load (`refresh(keep=True)`, then
`refresh(reuse=True)`): a start-up read every account twice in a row (issue #15). An account is taken
from the kept read only while that read still stands for a new one: it succeeded and was observed
whole; for a follower, no order of ours moved it since the read began (`Desk.epoch`); for a source, no
change of it was mirrored since the read began (`Followers.source_epochs`: a read that began before a
mirrored change is never trusted) and every desk now was told it; and it began at most KEPT_S ago.
What else moves an account meanwhile (a trade by hand, a price) the engines see no sooner with the
repeat: they decide on reads that old between two accounts jobs anyway, and the reconciliation pass
after the start-up reads everything again. The kept read is taken once: the next refresh, or a plan
apply with nothing to apply, ends it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from bot.domain import AccountState
from bot.logs import log_event
from bot.pipeline.desk import Desk
from bot.pipeline.followers import Followers
from bot.pipeline.guard_gate import RiskGate
from bot.pipeline.reads import AccountReader
from bot.pipeline.turns import between

log = logging.getLogger(__name__)

REREADS = 2  # a source read again when it changed during its read, at most this many times
# How old a kept read may be and still stand for a new one: the engines decide on reads this old anyway
# between two passes of the accounts job (RunnerOptions.accounts_refresh_s, 15 s by default).
KEPT_S = 15.0


@dataclass(frozen=True, slots=True)
class Kept:
    """What one refresh read and observed whole, as it stood when the read began."""

    at: float  # time.monotonic() when the read began
    sources: dict[str, int]  # source → its epoch then (`Followers.source_epochs`)
    followers: dict[str, tuple[Desk, dict[str, int]]]  # address → its desk, each coin's epoch then
    told: frozenset[Desk]  # the desks the sources' states went into

    def holds_source(self, book: Followers, source: str) -> bool:
        """Whether the read of `source` still stands: no change of it mirrored since the read began,
        and every desk now was told it (a desk loaded since never saw that read)."""
        return (
            source in self.sources
            and not book.read_outdated(source, self.sources[source])
            and self.told.issuperset(book.desks.values())
        )

    def holds_follower(self, desk: Desk) -> bool:
        """Whether the read of `desk`'s account still stands: the same desk, no order sent since."""
        seen = self.followers.get(desk.address)
        return seen is not None and seen[0] is desk and all(desk.epoch(c) == e for c, e in seen[1].items())


class AccountSync:
    def __init__(self, followers: Followers, reader: AccountReader, risk: RiskGate) -> None:
        self.followers = followers
        self.reader = reader
        self.risk = risk
        self.kept: Kept | None = None  # the last refresh's read, when it was asked to keep it

    async def refresh(
        self,
        sources: Iterable[str] | None = None,
        *,
        followers: bool = True,
        staged: Sequence[Desk] = (),
        keep: bool = False,
        reuse: bool = False,
    ) -> None:
        """Read equities and positions from the venue: the given sources (default: every followed one)
        and every follower. `staged`: followers being loaded while running (not in `desks` yet): read
        instead of the others, and told the sources' states too. Each source and each follower is
        observed after a turn of the event loop: a source's state goes into every engine, and with
        hundreds of followers the whole pass would hold the loop past a heartbeat.
        `keep`: what this read observed whole is kept for the next refresh; `reuse`: the accounts
        the kept read still stands for are not read again (the module's docstring says when)."""
        with self.risk.book.deferred():  # the guard book saved once for the whole read
            await self._refresh(sources, followers, staged, keep, reuse)

    async def _refresh(
        self, sources: Iterable[str] | None, followers: bool, staged: Sequence[Desk], keep: bool, reuse: bool
    ) -> None:
        kept, self.kept = self.kept, None  # taken once, by the very next refresh
        book, markets = self.followers, self.followers.markets
        wanted = sorted(set(book.sources() if sources is None else sources))
        desks = list(staged) if staged else list(book.desks.values()) if followers else []
        if reuse and kept is not None and time.monotonic() - kept.at <= KEPT_S:
            wanted = [s for s in wanted if not kept.holds_source(book, s)]
            desks = [desk for desk in desks if not kept.holds_follower(desk)]
        began = time.monotonic()
        epochs = [{coin: desk.epoch(coin) for coin in markets} for desk in desks]
        seen = [book.source_epochs[s] for s in wanted]
        keeping = Kept(began, {}, {}, frozenset([*book.desks.values(), *staged])) if keep else None
        reads = await self.reader.read(wanted, [desk.account.address for desk in desks])
        states = list(reads.sources)
        # A source that changed while it was read is read again (staged followers need its state now),
        # a few times at most; still moving, it is left to the next read (`read_outdated`).
        for _ in range(REREADS):
            moved = [i for i, s in enumerate(wanted) if book.read_outdated(s, seen[i])]
            if not moved:
                break
            for i in moved:
                seen[i] = book.source_epochs[wanted[i]]
            again = await self.reader.read([wanted[i] for i in moved], [])
            for i, state in zip(moved, again.sources, strict=True):
                states[i] = state
        async for source, epoch, state in between(zip(wanted, seen, states, strict=True)):
            if book.read_outdated(source, epoch):
                log_event(log, "source_read_outdated", address=source)
            elif isinstance(state, AccountState):
                self.observe_source(source, state, staged)
                if keeping is not None:
                    keeping.sources[source] = epoch
            else:
                log_event(
                    log, "account_read_failed", level=logging.WARNING, address=source, error=repr(state)
                )
        async for desk, before, state in between(zip(desks, epochs, reads.followers, strict=True)):
            if isinstance(state, AccountState):
                coins = [c for c in markets if desk.epoch(c) == before[c]]
                self.observe_follower(desk, state, coins)
                if keeping is not None and len(coins) == len(markets):  # observed whole
                    keeping.followers[desk.address] = (desk, before)
            else:
                log_event(
                    log, "account_read_failed", level=logging.WARNING, address=desk.address, error=repr(state)
                )
        self.kept = keeping

    def observe_source(self, source: str, state: AccountState, staged: Sequence[Desk] = ()) -> None:
        """A source's equity and open positions (size, entry, leverage) into every engine that follows
        it or holds a plan of it; a follow being applied is told the latest state first (`tell`, from
        `Plans.apply`). Not into every engine: 1,000 sources into 10,000 followers' engines was 90
        million observations a pass (and as many positions kept), a worker's start-up not done in 20 min."""
        self.followers.source_states[source] = state
        desks = [desk for desk in (*self.followers.desks.values(), *staged) if desk.knows(source)]
        self.risk.observe_source(desks, source, state)
        for desk in desks:
            self.tell(desk, source, state)

    def tell(self, desk: Desk, source: str, state: AccountState | None = None) -> None:
        """`source`'s state (the latest read, when not given) into one engine."""
        state = state or self.followers.source_states.get(source)
        if state is None:
            return
        held = {p.coin: p for p in state.positions}
        desk.engine.set_source_equity(source, state.equity)
        for coin in self.followers.markets:
            pos = held.get(coin)
            desk.engine.observe_source(
                source,
                coin,
                size=pos.size if pos else Decimal(0),
                entry_px=pos.entry_px if pos else None,
                leverage=Decimal(pos.leverage) if pos and pos.leverage else None,
            )

    def observe_follower(self, desk: Desk, state: AccountState, coins: Iterable[str]) -> None:
        """A follower's equity (and its guards' view) and its positions in `coins` into its engine."""
        desk.engine.set_equity(state.equity)
        self.risk.observe_follower(desk, state)
        for coin in coins:
            desk.engine.set_position(coin, state.size(coin))
