"""The control room's service layer on SQLite and PostgreSQL: ownership, controls (stop writes the
unfollow-with-close versions), alert preferences, and approvals applied exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.ledger import Ledger, create_engine
from bot.service import Actor, Conflict, MirrorService, NotFound
from bot.service.approvals import Approvals, ChangeRequest, execute
from bot.service.owner import ControlResult, OwnerService
from bot.service.tenancy import Refused, Tenancy, group_owner, user_owner
from tests.ledger.conftest import _pg_database, _sqlite_template, db_url  # noqa: F401  (fixtures)
from tests.service.support import FAST_KDF, write_fast_keystore

ALICE, BOB, CAROL = 11, 12, 13
SOURCE = "0x" + "5" * 40


@pytest.fixture
async def ledger(db_url: str) -> AsyncIterator[Ledger]:  # noqa: F811
    store = Ledger(create_engine(db_url))
    try:
        yield store
    finally:
        await store.close()


async def _account(service: MirrorService, tmp_path: Path, owner: str, tag: str) -> str:
    path, _ = write_fast_keystore(tmp_path / f"{tag}.json", "password123")
    address = "0x" + tag * (40 // len(tag))
    added = await service.account_add(Actor.telegram(ALICE), address, path)
    await Tenancy(service.ledger, frozenset({ALICE})).claim(
        Actor.telegram(ALICE), added.account.address, owner
    )
    return added.account.address


async def test_ownership_stop_and_preferences(ledger: Ledger, tmp_path: Path) -> None:
    service = MirrorService(ledger, kdf_iterations=FAST_KDF)
    tenancy = Tenancy(ledger, frozenset({ALICE}))
    control = OwnerService(service)
    mine = await _account(service, tmp_path, user_owner(ALICE), "a1")
    theirs = await _account(service, tmp_path, user_owner(BOB), "b2")
    assert await tenancy.follower_for(user_owner(ALICE), None) == mine
    with pytest.raises(NotFound):
        await tenancy.check_owns(user_owner(ALICE), theirs)
    with pytest.raises(Conflict):
        await tenancy.check_claimable(theirs, user_owner(ALICE))
    with pytest.raises(Conflict):
        await tenancy.claim(Actor.telegram(ALICE), theirs, user_owner(ALICE))

    await service.follow_add(Actor.telegram(ALICE), mine, SOURCE, tokens="ETH")
    paused = await control.pause(Actor.telegram(ALICE), [mine])
    assert paused.changed == (mine,) and (await control.states([mine, theirs])) == {
        mine: "paused",
        theirs: "running",
    }
    assert (await control.pause(Actor.telegram(ALICE), [mine])).changed == ()  # already paused
    stopped = await control.stop(Actor.telegram(ALICE), [mine])
    assert [v.source for v in stopped.released] == [SOURCE]
    plan = await ledger.current_plan(mine, SOURCE)
    assert plan is not None and plan.settings["active"] is False and plan.settings["release"] == "close"
    assert (await control.states([mine]))[mine] == "stopped"

    modes = await control.set_alert_mode(Actor.telegram(ALICE), user_owner(ALICE), "deferred", "silent")
    modes = await control.set_alert_mode(Actor.telegram(ALICE), user_owner(ALICE), "deferred", "off")
    assert modes["deferred"] == "off" and modes["copied"] == "on"
    assert (await control.alert_modes(user_owner(BOB)))["deferred"] == "on"
    # A handled fault (429 backed off, websocket reconnected) is pushed without a sound by default.
    assert (await control.alert_modes(user_owner(BOB)))["fault"] == "silent"
    modes = await control.set_alert_mode(Actor.telegram(BOB), user_owner(BOB), "fault", "on")
    assert modes["fault"] == "on" and modes["failure"] == "on"


async def test_two_simultaneous_final_approvals_apply_once(ledger: Ledger, tmp_path: Path) -> None:
    service = MirrorService(ledger, kdf_iterations=FAST_KDF)
    tenancy = Tenancy(ledger, frozenset({ALICE}))
    control = OwnerService(service)
    approvals = Approvals(tenancy)
    chat = -100200
    treasury = await _account(service, tmp_path, group_owner(chat), "c3")
    await service.follow_add(Actor.telegram(ALICE), treasury, SOURCE)
    await tenancy.set_policy(Actor.telegram(ALICE), chat, [ALICE, BOB, CAROL], 2)
    with pytest.raises(Refused):
        await approvals.propose(Actor.telegram(99), chat, 99, ChangeRequest("control.pause", treasury))
    proposal = await approvals.propose(
        Actor.telegram(ALICE),
        chat,
        ALICE,
        ChangeRequest("follow.update", treasury, SOURCE, {"scaling": "50"}, "k 50"),
    )
    assert proposal.approvals == (ALICE,) and proposal.status == "pending"
    votes = await asyncio.gather(
        approvals.vote(Actor.telegram(BOB), chat, proposal.id, BOB, True),
        approvals.vote(Actor.telegram(CAROL), chat, proposal.id, CAROL, True),
        return_exceptions=True,
    )
    # A vote that arrives after the change was approved is refused as late (Conflict), never counted.
    assert all(isinstance(v, Conflict) for v in votes if isinstance(v, BaseException))
    ready = [v for v in votes if not isinstance(v, BaseException) and v.ready]
    assert len(ready) == 1  # only one caller won the pending → approved transition
    result = await execute(service, control, Actor.telegram(BOB), await approvals.request_of(proposal.id))
    await approvals.finish(Actor.telegram(BOB), proposal.id, True, "applied")
    assert not isinstance(result, ControlResult) and result.plan.scaling == {"*": "50"}
    with pytest.raises(Conflict):
        await approvals.vote(Actor.telegram(ALICE), chat, proposal.id, ALICE, True)
    assert (await approvals.view(proposal.id)).status == "applied"
    entries = [e.action for e in await ledger.audit_entries(limit=200)]
    assert entries.count("approval.vote") >= 1 and "approval.applied" in entries
