"""The venue's size decimals per coin, for showing sizes to the lot (bot/telegram/text.size): read once
and kept a while; a venue that does not answer leaves sizes at the default precision, never an error."""

from __future__ import annotations

import time
from collections.abc import Mapping

from bot.service import VenueError, venue_reads
from bot.telegram.room import Room

KEEP_S = 600.0  # listings change rarely; a new market shows at default precision until the next read


async def size_decimals(room: Room) -> Mapping[str, int]:
    """coin -> the venue's size decimals (empty when the venue is not configured or not answering)."""
    reads = room.service.default_venue
    if reads is None:
        return {}
    held = room.size_decimals
    if held is not None and time.monotonic() - held[0] < KEEP_S:
        return held[1]
    try:
        listed = await venue_reads.instruments(reads)
    except VenueError:
        return held[1] if held is not None else {}
    decimals = {coin: market.sz_decimals for coin, market in listed.items()}
    room.size_decimals = (time.monotonic(), decimals)
    return decimals
