"""Missed-change detection, the one rule for it (SPEC §6): a source change the watch never delivered.

A pair mirrors its source's size; when the size the venue reports now differs from the raw size the pair
last mirrored, the difference is applied AS a source change under one event id form. Start-up recovery
(after the pairs are restored from the ledger) and the reconciliation pass both ask `missed_changes`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from decimal import Decimal

from bot.domain import SourceChange
from bot.pipeline.desk import Desk


def missed_change(
    source: str, coin: str, mirrored: Decimal, on_venue: Decimal, stamp: int
) -> SourceChange | None:
    """The change from the raw size a pair last mirrored to the size the venue reports now (None when
    they agree)."""
    if mirrored == on_venue:
        return None
    event_id = f"missed:{coin}:{mirrored}>{on_venue}:{stamp}"
    return SourceChange(source, coin, mirrored, on_venue, stamp, event_id)


def missed_changes(desks: Iterable[Desk], known: Collection[str], stamp: int) -> list[SourceChange]:
    """Every (source, coin) some followed pair of `desks` last mirrored at another size than its source
    holds now, per the engines' latest read of the sources (`known`: the sources whose read is current;
    another's pairs are skipped, never taken as flat). One change per (source, coin): the first pair
    found, in the order given."""
    found: dict[tuple[str, str], SourceChange] = {}
    for desk in desks:
        for coin, pair in desk.engine.pairs.items():
            config = desk.engine.follows.get(pair.source or "")
            if pair.source not in known or config is None or (pair.source, coin) in found:
                continue
            assert pair.source is not None
            mirrored = config.filters.effective(pair.source_size)  # effective is its own inverse
            on_venue = desk.engine.source_position(pair.source, coin).size
            change = missed_change(pair.source, coin, mirrored, on_venue, stamp)
            if change is not None:
                found[(pair.source, coin)] = change
    return list(found.values())
