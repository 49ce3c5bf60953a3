"""`/status` and `/why` with the short decision ids replies show (issue #19 item 7): a unique prefix of
8+ hex digits is enough; an ambiguous one lists the candidates as pasteable commands; the chain is
shown with sizes to the lot and the follow's settings in words, never the stored JSON or a 60-digit
target."""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal

from adapters.localnet.server import LocalnetThread
from bot.ledger import Ledger
from bot.ledger.ids import instruction_id
from bot.ledger.repository import instruction_values
from tests.service.support import funded
from tests.telegram.conftest import ADMIN, Bot
from tests.telegram.support import connect

OTHER = 2301
LONG_TARGET = Decimal("0.123456789012345678901234567890123456789012345678901234567891")


def colliding_events(follower: str, digits: int = 8) -> tuple[str, str]:
    """Two source event ids whose decisions' ids share their first `digits` hex digits (a birthday
    search: ~80,000 hashes for 8 digits)."""
    seen: dict[str, str] = {}
    for n in range(2_000_000):
        event = f"ev-{n}"
        head = instruction_id(follower, "ETH", event, 0)[:digits]
        if head in seen:
            return seen[head], event
        seen[head] = event
    raise AssertionError("no collision found")


async def test_why_takes_a_short_id_and_lists_candidates_when_ambiguous(
    bot: Bot, localnet: LocalnetThread, ledger: Ledger
) -> None:
    master, _ = await connect(bot, localnet, ADMIN, "why-short")
    follower = master.address.lower()
    source = (await asyncio.to_thread(funded, localnet.url, "why-short-src", "50000")).address.lower()
    assert "Following" in await bot.ask(ADMIN, f"/follow {source} ETH:50 100", "Following")
    first, second = await asyncio.to_thread(colliding_events, follower)
    ids = []
    for event in (first, second):
        recorded = await ledger.record_instruction(
            instruction_values(
                follower=follower,
                source=source,
                coin="ETH",
                source_event_id=event,
                strategy="mirror",
                target_before=Decimal(0),
                target_after=LONG_TARGET,
                delta=LONG_TARGET,
                position=Decimal(0),
                event_kind="open",
                plan_version=1,
            )
        )
        ids.append(recorded.row.id)
    assert ids[0][:8] == ids[1][:8] and ids[0][:12] != ids[1][:12]

    # /status lists them with sizes to the lot and the short id to paste into /why.
    status = await bot.ask(ADMIN, "/status", "Status")
    for ident in ids:
        assert f"ETH open → target +0.1235, order +0.1235 · /why {ident[:12]}" in status
    assert not re.search(r"\d{15,}", status.replace(follower, "").replace(source, ""))

    # A unique prefix (the 12 digits replies show) answers with the chain, readable.
    answer = await bot.ask(ADMIN, f"/why {ids[0][:12]}", "Decision")
    assert f"Decision {ids[0][:12]} (open, plan v1) for ETH" in answer
    assert "target 0 → +0.1235" in answer  # ETH to its lot (4 decimals), not 60 digits
    assert not re.search(r"\d{15,}", answer.replace(follower, "").replace(source, ""))
    assert (
        "tokens ETH · scaling * 100 %, ETH 50 % · copy current off · limits: slippage_cap 0.01 (= 1 %)"
        in answer
    )
    assert "{" not in answer  # no settings JSON

    # An ambiguous prefix lists the candidates, each a command to paste back.
    listing = await bot.ask(ADMIN, f"/why {ids[0][:8]}", "Several")
    suggested = re.findall(r"/why [0-9a-f]{16}", listing)
    assert sorted(suggested) == sorted(f"/why {i[:16]}" for i in ids)
    assert f"Decision {ids[1][:12]}" in await bot.ask(ADMIN, f"/why {ids[1][:16]}", "Decision")

    # Another user's short id names nothing of theirs.
    await bot.ask(ADMIN, f"/invite {OTHER}", "can now")
    assert "Nothing of yours matches" in await bot.ask(OTHER, f"/why {ids[0][:12]}", "Nothing")
