"""Account reads into the engines: sources' equities and positions, followers' equities and positions.

Reads go through the one bounded reader (bot/pipeline/reads.py). A read that fails leaves the last
known state (unknown is not flat); a follower's coin that an order moved while the read was in flight
keeps the position the order left (`Desk.epoch`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
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


class AccountSync:
    def __init__(self, followers: Followers, reader: AccountReader, risk: RiskGate) -> None:
        self.followers = followers
        self.reader = reader
        self.risk = risk

    async def refresh(
        self,
        sources: Iterable[str] | None = None,
        *,
        followers: bool = True,
        staged: Sequence[Desk] = (),
    ) -> None:
        """Read equities and positions from the venue: the given sources (default: every followed one)
        and every follower. `staged`: followers being loaded while running (not in `desks` yet): read
        instead of the others, and told the sources' states too. Each source and each follower is
        observed after a turn of the event loop: a source's state goes into every engine, and with
        hundreds of followers the whole pass would hold the loop past a heartbeat."""
        book, markets = self.followers, self.followers.markets
        wanted = sorted(set(book.sources() if sources is None else sources))
        desks = list(staged) if staged else list(book.desks.values()) if followers else []
        epochs = [{coin: desk.epoch(coin) for coin in markets} for desk in desks]
        seen = [book.source_epochs[s] for s in wanted]
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
            else:
                log_event(
                    log, "account_read_failed", level=logging.WARNING, address=source, error=repr(state)
                )
        async for desk, before, state in between(zip(desks, epochs, reads.followers, strict=True)):
            if isinstance(state, AccountState):
                self.observe_follower(desk, state, [c for c in markets if desk.epoch(c) == before[c]])
            else:
                log_event(
                    log, "account_read_failed", level=logging.WARNING, address=desk.address, error=repr(state)
                )

    def observe_source(self, source: str, state: AccountState, staged: Sequence[Desk] = ()) -> None:
        """A source's equity and open positions (size, entry, leverage) into every engine that follows
        it — or may follow it next (Copy Current reads the sizes at the moment of the follow)."""
        self.followers.source_states[source] = state
        desks = [*self.followers.desks.values(), *staged]
        self.risk.observe_source(desks, source, state)
        held = {p.coin: p for p in state.positions}
        for desk in desks:
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
