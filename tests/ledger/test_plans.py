"""FollowPlan versions: a settings change is a new version; old versions stay as they were."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError

from bot.ledger import AuditChannel, Ledger, LedgerError
from bot.ledger.repository import instruction_values
from tests.ledger.chain import FOLLOWER, SOURCE

OTHER_SOURCE = "0x" + "0c" * 20


async def test_an_update_makes_a_new_version_and_keeps_the_old(ledger: Ledger) -> None:
    v1 = await ledger.new_plan_version(FOLLOWER, SOURCE, {"scaling": {"*": 100}}, actor="cli:alice")
    v2 = await ledger.new_plan_version(
        FOLLOWER, SOURCE, {"scaling": {"*": 100, "BTC": 50}}, actor="telegram:7"
    )
    assert (v1.version, v2.version) == (1, 2)
    versions = await ledger.plan_versions(FOLLOWER, SOURCE)
    assert [(p.version, p.settings, p.actor) for p in versions] == [
        (1, {"scaling": {"*": 100}}, "cli:alice"),
        (2, {"scaling": {"*": 100, "BTC": 50}}, "telegram:7"),
    ]
    current = await ledger.current_plan(FOLLOWER.upper().replace("0X", "0x"), SOURCE)
    assert current is not None and current.id == v2.id
    assert await ledger.current_plan(FOLLOWER, OTHER_SOURCE) is None


async def test_versions_count_per_follow_and_current_plans_lists_the_heads(ledger: Ledger) -> None:
    await ledger.new_plan_version(FOLLOWER, SOURCE, {"k": 1})
    await ledger.new_plan_version(FOLLOWER, SOURCE, {"k": 2})
    other = await ledger.new_plan_version(FOLLOWER, OTHER_SOURCE, {"k": 3})
    assert other.version == 1
    heads = await ledger.current_plans(FOLLOWER)
    assert [(p.source, p.version, p.settings) for p in heads] == sorted(
        [(SOURCE, 2, {"k": 2}), (OTHER_SOURCE, 1, {"k": 3})]
    )
    assert await ledger.current_plans("0x" + "99" * 20) == []


async def test_concurrent_changes_get_distinct_consecutive_versions(ledger: Ledger) -> None:
    plans = await asyncio.gather(*(ledger.new_plan_version(FOLLOWER, SOURCE, {"n": n}) for n in range(5)))
    assert sorted(p.version for p in plans) == [1, 2, 3, 4, 5]
    assert len(await ledger.plan_versions(FOLLOWER, SOURCE)) == 5


async def test_a_decision_must_name_an_existing_plan_version(ledger: Ledger) -> None:
    await ledger.new_plan_version(FOLLOWER, SOURCE, {"k": 1})
    recorded = await ledger.record_instruction(
        instruction_values(
            follower=FOLLOWER,
            source=SOURCE,
            coin="ETH",
            source_event_id="e1",
            strategy="mirror",
            target_before=Decimal(0),
            target_after=Decimal(1),
            delta=Decimal(1),
            plan_version=1,
        )
    )
    assert recorded.row.plan_version == 1
    with pytest.raises(IntegrityError):  # foreign key (follower, source, version) → follow_plan
        await ledger.record_instruction(
            instruction_values(
                follower=FOLLOWER,
                source=SOURCE,
                coin="ETH",
                source_event_id="e2",
                strategy="mirror",
                target_before=Decimal(0),
                target_after=Decimal(1),
                delta=Decimal(1),
                plan_version=2,
            )
        )


async def test_audit_log_keeps_who_did_what_from_where(ledger: Ledger) -> None:
    await ledger.audit(
        actor="cli:alice", channel=AuditChannel.CLI, action="follow add", details={"source": SOURCE}
    )
    await ledger.audit(actor="telegram:42", channel=AuditChannel.TELEGRAM, action="pause")
    entries = await ledger.audit_entries()
    assert [(e.actor, e.channel, e.action, e.details) for e in entries] == [
        ("telegram:42", "telegram", "pause", None),
        ("cli:alice", "cli", "follow add", {"source": SOURCE}),
    ]
    with pytest.raises(LedgerError, match="channel must be one of cli, telegram, system"):
        await ledger.audit(actor="x", channel="email", action="y")  # type: ignore[arg-type]
