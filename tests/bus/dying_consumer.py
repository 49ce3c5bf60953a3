"""A copy worker's consumer that dies at the worst moment: it records the changes it was given in the
ledger, then is SIGKILLed before it acknowledges them (`python -m tests.bus.dying_consumer REDIS_URL
PREFIX GROUP NAME LEDGER_URL`). Prints each event id recorded, then kills itself."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from bot.bus.streams import Bus
from bot.ledger import Ledger


async def main(redis_url: str, prefix: str, group: str, name: str, ledger_url: str) -> None:
    bus = Bus.from_url(redis_url, shards=4, prefix=prefix)
    ledger = await Ledger.open(ledger_url)
    consumer = bus.consumer(group, name)
    deliveries = await consumer.read(count=100, block_ms=10_000)
    for d in deliveries:
        assert d.item is not None
        await ledger.record_leader_event(d.item.change, venue=d.item.venue)
        print(d.item.change.event_id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # recorded, never acknowledged


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
