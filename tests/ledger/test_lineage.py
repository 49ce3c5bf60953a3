""" "Why did my account do this?" — answered from the ledger alone, for any fill or order."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.domain import Side, SourceChange
from bot.ledger import Ledger, Lineage, render_lineage, render_lineages
from bot.ledger.repository import instruction_values
from bot.ledger.types import decimal_text
from tests.ledger.chain import FOLLOWER, OID, PLAN_SETTINGS, RAW_FILL, SOURCE, VENUE, Chain, ms, record_chain


def _assert_full_chain(lineage: Lineage, chain: Chain) -> None:
    assert lineage.leader_event is not None and lineage.leader_event.id == chain.event.id
    assert lineage.leader_event.payload == [RAW_FILL]
    assert lineage.plan is not None and lineage.plan.settings == PLAN_SETTINGS
    assert lineage.instruction is not None and lineage.instruction.id == chain.instruction.id
    assert lineage.intent is not None and lineage.intent.cloid == chain.instruction.cloid
    assert lineage.order is not None and lineage.order.oid == OID
    assert [s.status for s in lineage.statuses] == ["open", "filled"]
    assert [f.trade_id for f in lineage.fills] == ["501", "502"]
    assert [s.id for s in lineage.snapshots] == [chain.snapshot.id]


async def test_lineage_of_a_fill_reaches_back_to_the_leader_event(ledger: Ledger) -> None:
    chain = await record_chain(ledger)
    [lineage] = await ledger.lineage("502")
    _assert_full_chain(lineage, chain)
    assert lineage.focus_fill_id == chain.fills[1].id
    # The fills account for the decision: they add up to Δ.
    assert sum(f.size for f in lineage.fills) == lineage.instruction.delta if lineage.instruction else False


@pytest.mark.parametrize("kind", ["oid", "cloid", "cloid-upper", "instruction", "tid-prefixed"])
async def test_every_reference_leads_to_the_same_chain(ledger: Ledger, kind: str) -> None:
    chain = await record_chain(ledger)
    ref = {
        "oid": str(OID),
        "cloid": chain.intent.cloid,
        "cloid-upper": "cloid:" + chain.intent.cloid.upper().replace("0X", "0x"),
        "instruction": chain.instruction.id,
        "tid-prefixed": "tid:501",
    }[kind]
    [lineage] = await ledger.lineage(ref)
    _assert_full_chain(lineage, chain)


async def test_a_fill_that_beat_the_order_ack_is_still_linked(ledger: Ledger) -> None:
    chain = await record_chain(ledger, fill_before_ack=True)
    [lineage] = await ledger.lineage(OID)
    _assert_full_chain(lineage, chain)


async def test_a_manual_trade_has_a_lineage_without_a_decision(ledger: Ledger) -> None:
    await ledger.record_fill(
        venue=VENUE,
        account=FOLLOWER,
        trade_id=9001,
        coin="SOL",
        side=Side.SELL,
        price=Decimal(150),
        size=Decimal(2),
        fee=Decimal("0.1"),
        time=ms(0),
        oid=4242,
    )
    [lineage] = await ledger.lineage(9001)
    assert lineage.instruction is None and lineage.intent is None and lineage.leader_event is None
    assert [f.trade_id for f in lineage.fills] == ["9001"]
    assert "not place this trade" in render_lineage(lineage)
    assert [item.fills[0].trade_id for item in await ledger.lineage("oid:4242")] == ["9001"]


async def test_a_deferred_decision_explains_why_no_order_was_sent(ledger: Ledger) -> None:
    change = SourceChange(SOURCE, "SOL", Decimal(0), Decimal(50), 1_000, "fills:SOL:5:1000")
    event = (await ledger.record_leader_event(change)).row
    decision = (
        await ledger.record_instruction(
            instruction_values(
                follower=FOLLOWER,
                source=SOURCE,
                coin="SOL",
                source_event_id=change.event_id,
                leader_event_id=event.id,
                strategy="mirror",
                event_kind="open",
                ratio=Decimal("0.0012"),
                target_before=Decimal(0),
                target_after=Decimal("0.06"),
                position=Decimal(0),
                delta=Decimal(0),
                mid=Decimal(150),
                reason="deferred_min_notional",
            )
        )
    ).row
    [lineage] = await ledger.lineage(decision.id)
    assert lineage.intent is None and lineage.fills == ()
    text = render_lineage(lineage)
    assert "No order sent (deferred_min_notional)" in text
    assert "0 → 50" in text and "0 → 0.06" in text


async def test_the_rendered_lineage_states_the_decision_in_the_ledger_s_numbers(ledger: Ledger) -> None:
    chain = await record_chain(ledger)
    text = render_lineages("501", await ledger.lineage("501"))
    decision = chain.instruction
    expected_facts = [
        chain.event.event_id,
        f"{decimal_text(chain.event.old_size)} → {decimal_text(chain.event.new_size)}",
        decision.id,
        f"plan v{chain.plan.version}",
        f"ratio ρ₀ {decimal_text(Decimal('0.01'))}",
        f"target τ {decimal_text(decision.target_before)} → {decimal_text(decision.target_after)}",
        f"order Δ +{decimal_text(decision.delta)}",
        f"cloid {chain.intent.cloid}",
        f"buy {decimal_text(chain.intent.size)} ETH",
        f"Venue order {OID}: filled",
        "trade 501",
        "trade 502",
        "+0.15 ETH",
    ]
    for fact in expected_facts:
        assert fact in text, fact
    # The fill asked about is marked, the other is not.
    assert [line.lstrip()[0] for line in text.splitlines() if "trade 50" in line] == ["▶", "·"]


async def test_an_unknown_reference_says_so(ledger: Ledger) -> None:
    await record_chain(ledger)
    assert await ledger.lineage("123") == []
    assert await ledger.lineage("0x" + "0" * 32) == []
    assert "Nothing in the ledger matches '123'" in render_lineages("123", [])
