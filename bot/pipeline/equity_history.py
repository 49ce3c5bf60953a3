"""Equity history (`/chart equity`): the equities the accounts job just read, at most one reading per
account a minute, into the ledger."""

from __future__ import annotations

import logging

from bot.ledger import Ledger
from bot.logs import log_event
from bot.pipeline.execute import now_ms
from bot.pipeline.followers import Followers
from bot.service.equity import MS_PER_MINUTE, record_equity

log = logging.getLogger(__name__)


class EquityHistory:
    def __init__(self) -> None:
        self._minute = -1  # the UTC minute of the last readings recorded

    async def record(self, ledger: Ledger, followers: Followers) -> None:
        """Every source's and follower's equity as last read; a failure is logged, never raised (a
        chart's history must never stop copying)."""
        at = now_ms()
        # The ledger keeps the first reading of a minute; the accounts job runs more often than that, so
        # a later refresh in the same minute would only make writes the ledger then ignores.
        if at // MS_PER_MINUTE == self._minute:
            return
        self._minute = at // MS_PER_MINUTE
        readings = [(source, state.equity, "source") for source, state in followers.source_states.items()]
        readings += [
            (d.address, d.engine.equity, "follower") for d in followers.desks.values() if d.engine.equity
        ]
        for address, equity, role in readings:
            try:
                await record_equity(ledger, address=address, equity=equity, time_ms=at, role=role)
            except Exception as exc:
                log_event(
                    log, "equity_record_failed", level=logging.WARNING, address=address, error=repr(exc)
                )
