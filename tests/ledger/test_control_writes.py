"""The status views' and the control room's writes (bot/ledger/status_store.py, control_room_store.py)
take SQLite's writer turn like every other write of the ledger (`LedgerBase._tx`): on a SQLite file the
process's writers queue there, first come first served, instead of in SQLite's busy handler (which let
some wait past `busy_timeout`: "database is locked"). Shown causally: while the turn is held, none of
them can finish; released, all of them do."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from bot.ledger import Account, Ledger, create_engine
from bot.ledger.models import EquitySnapshot
from tests.ledger.support import sqlite_copy

HELD_S = 2.0  # how long a write is given to (wrongly) finish while the turn is held


def _owned(account: Account | None) -> None:
    assert account is not None


async def test_every_control_write_waits_for_the_sqlite_writers_turn(
    _sqlite_template: Path, tmp_path: Path
) -> None:
    ledger = Ledger(create_engine(sqlite_copy(_sqlite_template, tmp_path)))
    try:
        await ledger.add_account(venue="hyperliquid", address="0x" + "a" * 40)
        change = await ledger.add_pending_change(1, "follow.add", {}, "follow", "alice", 10)
        now = datetime(2026, 1, 1, tzinfo=UTC)
        writes: dict[str, Callable[[], Awaitable[object]]] = {
            "activate_member": lambda: ledger.activate_member(7, "alice"),
            "deactivate_member": lambda: ledger.deactivate_member(8),
            "save_group_policy": lambda: ledger.save_group_policy(1, [10, 11], 2, "alice"),
            "set_account_owner": lambda: ledger.set_account_owner(
                "hyperliquid", "0x" + "a" * 40, "alice", _owned
            ),
            "add_pending_change": lambda: ledger.add_pending_change(1, "x", {}, "x", "bob", 11),
            "add_vote": lambda: ledger.add_vote(change, 11, "approve"),
            "move_change": lambda: ledger.move_change(change, "pending", "approved"),
            "finish_change": lambda: ledger.finish_change(change, "done", "ok"),
            "add_control_states": lambda: ledger.add_control_states(["0x" + "a" * 40], "paused", "alice"),
            "set_alert_preferences": lambda: ledger.set_alert_preferences("alice", ["fill"], "mute"),
            "add_equity_snapshot": lambda: ledger.add_equity_snapshot(
                EquitySnapshot(
                    address="0x" + "a" * 40, role="follower", minute=1, time=now, equity=Decimal(5)
                )
            ),
        }
        async with ledger._turn():
            tasks = {asyncio.ensure_future(write()): name for name, write in writes.items()}
            done, _ = await asyncio.wait(tasks, timeout=HELD_S, return_when=asyncio.FIRST_COMPLETED)
            assert not done, f"wrote while another writer held the turn: {sorted(tasks[t] for t in done)}"
        await asyncio.gather(*tasks)  # the turn released: every write goes through
        assert (await ledger.telegram_member(7)) is not None
        assert [a.owner for a in await ledger.accounts()] == ["alice"]
    finally:
        await ledger.close()
