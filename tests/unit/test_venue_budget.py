"""The Hyperliquid venue's weight budget comes from MIRROR_HL_WEIGHT_PER_MINUTE (default: the venue's
1200 per IP, a burst of 200); a venue without limits (the localnet) may lift it."""

from __future__ import annotations

import pytest

from adapters.hyperliquid.venue import HyperliquidVenue
from bot.config import load_settings
from bot.venues import build_hyperliquid_venue


@pytest.mark.parametrize(("weight", "burst"), [(None, 200), (60, 10), (10_000_000, 1_666_666)])
async def test_the_venue_paces_by_the_configured_weight(
    weight: int | None, burst: int, tmp_path: object
) -> None:
    extra = {} if weight is None else {"hl_weight_per_minute": weight}
    settings = load_settings(network="localnet", data_dir=str(tmp_path), **extra)
    venue = build_hyperliquid_venue(settings, trading=False)
    try:
        assert isinstance(venue, HyperliquidVenue)
        assert venue.budget.limit_per_minute == (weight or 1200) and venue.budget.burst == burst
    finally:
        await venue.close()
