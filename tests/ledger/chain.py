"""One copied trade recorded through the Ledger API, from the leader event down (SPEC worked example 1:
the source goes +10 → +15 ETH, ρ₀ = 0.01, the follower's τ goes 0.1 → 0.15, it buys 0.05)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bot.domain import Side, SourceChange
from bot.ledger import (
    CopyInstruction,
    Fill,
    FollowPlan,
    LeaderEvent,
    Ledger,
    OrderIntent,
    PositionSnapshot,
    SnapshotOrigin,
    VenueOrder,
)
from bot.ledger.repository import instruction_values
from bot.ledger.types import from_ms

SOURCE = "0x" + "5a" * 20
FOLLOWER = "0x" + "f0" * 20
VENUE = "hyperliquid"
T0 = 1_700_000_000_000  # the source's fill time, epoch ms
OID = 31_000_000_017  # Hyperliquid order ids exceed 32 bits
PLAN_SETTINGS = {"strategy": "mirror", "scaling": {"*": 100}, "copy_current": False}
RAW_FILL = {
    "coin": "ETH",
    "px": "3000.0",
    "sz": "5.0",
    "side": "B",
    "time": T0,
    "startPosition": "10.0",
    "dir": "Open Long",
    "closedPnl": "0.0",
    "hash": "0x" + "ab" * 32,
    "oid": 123,
    "crossed": True,
    "fee": "4.5",
    "tid": 987,
}


@dataclass(frozen=True)
class Chain:
    plan: FollowPlan
    event: LeaderEvent
    instruction: CopyInstruction
    intent: OrderIntent
    order: VenueOrder
    fills: tuple[Fill, ...]
    snapshot: PositionSnapshot


def ms(offset: int) -> datetime:
    """T0 + offset milliseconds, as an aware UTC datetime."""
    return from_ms(T0 + offset)


async def record_chain(ledger: Ledger, *, fill_before_ack: bool = False) -> Chain:
    plan = await ledger.new_plan_version(FOLLOWER, SOURCE, PLAN_SETTINGS, actor="cli:alice")
    change = SourceChange(
        source=SOURCE,
        coin="ETH",
        old=Decimal(10),
        new=Decimal(15),
        time_ms=T0,
        event_id=f"fills:ETH:123:{T0}",
        avg_px=Decimal(3000),
    )
    event = (
        await ledger.record_leader_event(change, venue=VENUE, payload=[RAW_FILL], received_at=ms(40))
    ).row
    instruction = (
        await ledger.record_instruction(
            instruction_values(
                follower=FOLLOWER,
                source=SOURCE,
                coin="ETH",
                source_event_id=change.event_id,
                strategy="mirror",
                event_kind="increase",
                ratio=Decimal("0.01"),
                target_before=Decimal("0.1"),
                target_after=Decimal("0.15"),
                position=Decimal("0.1"),
                delta=Decimal("0.05"),
                mid=Decimal(3000),
                plan_version=plan.version,
                leader_event_id=event.id,
                created_at=ms(45),
            )
        )
    ).row
    intent = (
        await ledger.record_intent(
            instruction.id, venue=VENUE, side=Side.BUY, size=Decimal("0.05"), limit_px=Decimal(3030)
        )
    ).row

    async def fill(trade_id: int, size: str, offset: int) -> Fill:
        recorded = await ledger.record_fill(
            venue=VENUE,
            account=FOLLOWER,
            trade_id=trade_id,
            coin="ETH",
            side=Side.BUY,
            price=Decimal("3000.5"),
            size=Decimal(size),
            fee=Decimal("0.0675225"),
            fee_token="USDC",
            time=ms(offset),
            oid=OID,
            payload={"tid": trade_id, "sz": size},
        )
        return recorded.row

    fills: list[Fill] = []
    if fill_before_ack:  # the websocket fill can beat the HTTP answer
        fills.append(await fill(501, "0.02", 60))
    await ledger.record_order_status(intent.cloid, status="open", oid=OID, time=ms(55))
    if not fill_before_ack:
        fills.append(await fill(501, "0.02", 60))
    fills.append(await fill(502, "0.03", 61))
    order = await ledger.record_order_status(
        intent.cloid, status="filled", time=ms(62), details={"totalSz": "0.05"}
    )
    snapshot = await ledger.record_snapshot(
        venue=VENUE,
        account=FOLLOWER,
        coin="ETH",
        size=Decimal("0.15"),
        entry_px=Decimal("3000.1666666666666666666666666667"),
        time=ms(63),
        origin=SnapshotOrigin.FILL,
        fill_id=fills[-1].id,
    )
    return Chain(plan, event, instruction, intent, order, tuple(fills), snapshot)
